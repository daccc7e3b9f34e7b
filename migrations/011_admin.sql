-- 011_admin: invitations, last sign-in, and a public reference for
-- sessions. Forward-only.

-- An administrator's invitation. Only the SHA-256 of the one-time link's
-- token is stored. It is used once (accepted_at) or cancelled
-- (cancelled_at), never both, and is dead after expires_at.
create table invites (
    id              uuid        primary key default gen_random_uuid(),
    organisation_id uuid        not null references organisations (id) on delete restrict,
    token_hash      text        not null,
    email           text        not null,
    display_name    text        not null,
    role            text        not null,
    invited_by      uuid        references users (id) on delete restrict,
    created_at      timestamptz not null default now(),
    expires_at      timestamptz not null,
    accepted_at     timestamptz,
    cancelled_at    timestamptz,
    -- The account the invitation created.
    user_id         uuid        references users (id) on delete restrict,
    constraint invites_token_hash_key unique (token_hash),
    constraint invites_token_hash_check check (length(token_hash) between 32 and 128),
    constraint invites_email_check check (
        length(email) between 3 and 254 and email = btrim(email) and email like '%_@_%'),
    constraint invites_display_name_check check (length(btrim(display_name)) between 1 and 200),
    constraint invites_role_check check (role in ('admin', 'clinician', 'reception')),
    constraint invites_expiry_check check (expires_at > created_at),
    constraint invites_state_check check (accepted_at is null or cancelled_at is null),
    constraint invites_accepted_user_check check ((accepted_at is null) = (user_id is null))
);
create index invites_organisation_id_idx on invites (organisation_id, created_at);

alter table users add column last_sign_in_at timestamptz;

-- Sessions are keyed by the hash of their token; pages and forms that list
-- or revoke sessions name them by this random reference instead.
alter table sessions add column ref uuid not null default gen_random_uuid();
alter table sessions add constraint sessions_ref_key unique (ref);
