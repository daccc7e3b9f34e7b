-- 001_init: organisations, users and authentication, sessions, audit.
-- Forward-only (no down section). Requires PostgreSQL 13+ (gen_random_uuid).
-- IP addresses are text as the client reported them ('' when unknown), so
-- the store can pass them through unchanged; length-checked only.

-- set_updated_at keeps updated_at current on every UPDATE.
create function set_updated_at() returns trigger
    language plpgsql as $$
begin
    new.updated_at := now();
    return new;
end;
$$;

create table organisations (
    id         uuid        primary key default gen_random_uuid(),
    name       text        not null,
    -- HPI-O: 16 digits with prefix 800362; the Luhn check digit is verified
    -- by internal/hi before insert.
    hpio       char(16)    not null,
    created_at timestamptz not null default now(),
    constraint organisations_name_check check (length(btrim(name)) between 1 and 200),
    constraint organisations_hpio_check check (hpio ~ '^800362[0-9]{10}$'),
    constraint organisations_hpio_key unique (hpio)
);

create table users (
    id              uuid        primary key default gen_random_uuid(),
    organisation_id uuid        not null references organisations (id) on delete restrict,
    email           text        not null,
    display_name    text        not null,
    role            text        not null,
    password_hash   text        not null,
    -- TOTP secret sealed with the server key; set before confirmation,
    -- totp_enabled_at set once the user proved a code.
    totp_secret_enc bytea,
    totp_enabled_at timestamptz,
    -- Last accepted TOTP time step; a code is accepted only for a newer step.
    totp_last_step  bigint      not null default 0,
    active          boolean     not null default true,
    failed_logins   integer     not null default 0,
    locked_until    timestamptz,
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now(),
    constraint users_email_check check (
        length(email) between 3 and 254 and email = btrim(email) and email like '%_@_%'),
    constraint users_display_name_check check (length(btrim(display_name)) between 1 and 200),
    constraint users_role_check check (role in ('admin', 'clinician', 'reception')),
    constraint users_password_hash_check check (length(password_hash) > 0),
    constraint users_totp_check check (totp_enabled_at is null or totp_secret_enc is not null),
    constraint users_totp_last_step_check check (totp_last_step >= 0),
    constraint users_failed_logins_check check (failed_logins >= 0)
);
-- E-mail addresses are unique portal-wide, case-insensitively (login looks
-- users up by lower(email) across organisations).
create unique index users_email_lower_key on users (lower(email));
create index users_organisation_id_idx on users (organisation_id);
create trigger users_set_updated_at before update on users
    for each row execute function set_updated_at();

create table recovery_codes (
    user_id    uuid        not null references users (id) on delete cascade,
    code_hash  text        not null,
    created_at timestamptz not null default now(),
    used_at    timestamptz,
    primary key (user_id, code_hash)
);

create table sessions (
    -- SHA-256 (encoded) of the random cookie token; the token itself is
    -- never stored.
    id           text        primary key,
    user_id      uuid        not null references users (id) on delete cascade,
    created_at   timestamptz not null default now(),
    last_seen_at timestamptz not null default now(),
    expires_at   timestamptz not null,
    revoked_at   timestamptz,
    ip           text        not null default '',
    user_agent   text        not null default '',
    constraint sessions_id_check check (length(id) between 32 and 128),
    constraint sessions_expiry_check check (expires_at > created_at),
    constraint sessions_ip_check check (length(ip) <= 64),
    constraint sessions_user_agent_check check (length(user_agent) <= 1024)
);
create index sessions_user_id_idx on sessions (user_id);
create index sessions_expires_at_idx on sessions (expires_at);

-- One-time first-run set-up tokens (hash only).
create table setup_tokens (
    token_hash text        primary key,
    created_at timestamptz not null default now(),
    expires_at timestamptz not null,
    used_at    timestamptz,
    constraint setup_tokens_token_hash_check check (length(token_hash) between 32 and 128)
);

-- Login attempts per client IP, for throttling; pruned by age.
create table login_attempts (
    id           bigint      generated always as identity primary key,
    ip           text        not null,
    attempted_at timestamptz not null default now(),
    success      boolean     not null,
    constraint login_attempts_ip_check check (length(ip) <= 64)
);
create index login_attempts_ip_attempted_at_idx on login_attempts (ip, attempted_at);
create index login_attempts_attempted_at_idx on login_attempts (attempted_at);

-- Security audit trail. Append-only: rows cannot be updated or deleted
-- (hash chaining comes in a later migration). Organisations and users that
-- have audit events cannot be deleted (deactivate them instead).
create table audit_events (
    id              bigint      generated always as identity primary key,
    organisation_id uuid        references organisations (id) on delete restrict,
    user_id         uuid        references users (id) on delete restrict,
    at              timestamptz not null default now(),
    action          text        not null,
    detail          jsonb       not null default '{}',
    ip              text,
    constraint audit_events_action_check check (
        action ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$' and length(action) <= 100),
    constraint audit_events_detail_check check (jsonb_typeof(detail) in ('object', 'null')),
    constraint audit_events_ip_check check (length(ip) <= 64)
);
create index audit_events_organisation_id_idx on audit_events (organisation_id, id);
create index audit_events_user_id_idx on audit_events (user_id, id);
create index audit_events_at_idx on audit_events (at);

create function audit_events_append_only() returns trigger
    language plpgsql as $$
begin
    raise exception 'audit_events is append-only (% refused)', tg_op
        using errcode = 'insufficient_privilege';
end;
$$;
create trigger audit_events_append_only
    before update or delete or truncate on audit_events
    for each statement execute function audit_events_append_only();
