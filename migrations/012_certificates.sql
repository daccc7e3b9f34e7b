-- 012_certificates: organisation certificate life cycle. Keys generated
-- for a certificate signing request wait in pending_keys until the CA's
-- certificate is installed; org_keys keeps the intermediate certificates
-- that came with a certificate (to show and check its chain); and
-- notifications tell an organisation's administrators about things to do
-- (a certificate about to expire). Forward-only.

-- A private key generated here whose certificate has not arrived. key_enc
-- is sealed like org_keys.key_enc, bound to the same id: installing the
-- certificate copies it into org_keys under that id unchanged.
create table pending_keys (
    id              uuid        primary key,
    organisation_id uuid        not null references organisations (id) on delete restrict,
    key_enc         bytea       not null,
    csr_der         bytea       not null,
    subject         text        not null,
    created_at      timestamptz not null default now(),
    -- Set when the issued certificate was installed (the key now lives in
    -- org_keys) or the request was abandoned.
    installed_at    timestamptz,
    discarded_at    timestamptz,
    constraint pending_keys_key_enc_check check (length(key_enc) > 28),
    constraint pending_keys_csr_check check (length(csr_der) > 0),
    constraint pending_keys_subject_check check (length(subject) <= 1000),
    constraint pending_keys_state_check check (installed_at is null or discarded_at is null)
);
create index pending_keys_organisation_id_idx on pending_keys (organisation_id, created_at desc);

-- Intermediate CA certificates between an organisation certificate and
-- its trust anchor, as delivered with it (PKCS#12 bag or PEM bundle).
alter table org_keys add column chain_der bytea[] not null default '{}';

-- Something an organisation's administrators should act on. ref makes a
-- notification once-only: one per (organisation, kind, ref), e.g. one per
-- certificate per expiry threshold.
create table notifications (
    id              uuid        primary key default gen_random_uuid(),
    organisation_id uuid        not null references organisations (id) on delete restrict,
    kind            text        not null,
    ref             text        not null,
    text            text        not null,
    link            text        not null default '',
    created_at      timestamptz not null default now(),
    dismissed_at    timestamptz,
    dismissed_by    uuid        references users (id) on delete restrict,
    constraint notifications_kind_check check (kind ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$' and length(kind) <= 100),
    constraint notifications_ref_check check (length(ref) between 1 and 200),
    constraint notifications_text_check check (length(btrim(text)) between 1 and 1000),
    constraint notifications_link_check check (link = '' or link like '/%'),
    constraint notifications_dismissed_check check ((dismissed_at is null) = (dismissed_by is null))
);
create unique index notifications_once_key on notifications (organisation_id, kind, ref);
create index notifications_open_idx on notifications (organisation_id, created_at desc) where dismissed_at is null;
