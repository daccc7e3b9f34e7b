-- 002_provider: SMD provider identity. Hosted organisations' certificates
-- and sealed private keys, trust anchors, and the directory of
-- organisations messages can be sent to. Forward-only.
-- Certificates are unique by sha256(cert_der): a btree entry holding the
-- whole DER could exceed the index row size limit.

-- A hosted organisation's certificate and private key. key_enc is the
-- PKCS#8 DER sealed with AES-256-GCM (internal/secretbox) under a key
-- derived from the master secret; its additional data is the row's id and
-- organisation_id, so a sealed key cannot be moved to another row.
create table org_keys (
    id              uuid        primary key,
    organisation_id uuid        not null references organisations (id) on delete restrict,
    cert_der        bytea       not null,
    key_enc         bytea       not null,
    -- The certificate's SubjectKeyIdentifier (xenc X509SKI lookups).
    ski             bytea       not null,
    subject         text        not null,
    not_before      timestamptz not null,
    not_after       timestamptz not null,
    -- When this key becomes the one used for signing and publishing; the
    -- newest active_from <= now wins (rollover). Older keys still decrypt.
    active_from     timestamptz not null,
    created_at      timestamptz not null default now(),
    retired_at      timestamptz,
    constraint org_keys_cert_der_check check (length(cert_der) > 0),
    constraint org_keys_key_enc_check check (length(key_enc) > 28),
    constraint org_keys_ski_check check (length(ski) between 1 and 64),
    constraint org_keys_subject_check check (length(subject) <= 1000),
    constraint org_keys_validity_check check (not_after > not_before)
);
create unique index org_keys_org_cert_key on org_keys (organisation_id, sha256(cert_der));
create index org_keys_organisation_id_idx on org_keys (organisation_id, active_from desc);
create index org_keys_ski_idx on org_keys (ski);

-- CA certificates trusted for signatures and TLS peers (NASH roots, or
-- test CAs). removed_at set: no longer trusted.
create table trust_anchors (
    id         uuid        primary key default gen_random_uuid(),
    cert_der   bytea       not null,
    subject    text        not null,
    not_after  timestamptz not null,
    added_at   timestamptz not null default now(),
    removed_at timestamptz,
    constraint trust_anchors_cert_der_check check (length(cert_der) > 0),
    constraint trust_anchors_subject_check check (length(subject) <= 1000)
);
create unique index trust_anchors_cert_key on trust_anchors (sha256(cert_der));

-- Organisations (remote or local) messages can be sent to: their SMD
-- endpoint, payload-encryption certificate and accepted service categories.
create table directory_entries (
    id                  uuid        primary key default gen_random_uuid(),
    org_uri             text        not null,
    name                text        not null,
    endpoint_url        text        not null,
    encryption_cert_der bytea       not null,
    service_categories  text[]      not null,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    constraint directory_entries_org_uri_key unique (org_uri),
    constraint directory_entries_org_uri_check check (
        length(org_uri) between 1 and 1000 and org_uri = btrim(org_uri)),
    constraint directory_entries_name_check check (length(btrim(name)) between 1 and 200),
    constraint directory_entries_endpoint_url_check check (
        endpoint_url like 'https://_%' and length(endpoint_url) <= 2000),
    constraint directory_entries_cert_check check (length(encryption_cert_der) > 0),
    constraint directory_entries_categories_check check (
        cardinality(service_categories) >= 1 and array_position(service_categories, '') is null
        and array_position(service_categories, null) is null)
);
create trigger directory_entries_set_updated_at before update on directory_entries
    for each row execute function set_updated_at();
