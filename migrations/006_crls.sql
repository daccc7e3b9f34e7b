-- 006_crls: certificate revocation lists from trusted CAs. A certificate
-- on a current list is refused as a payload signer. The newest list per
-- issuer (by this_update) is the one that counts.
create table crls (
    id          uuid        primary key default gen_random_uuid(),
    issuer      text        not null,
    crl_der     bytea       not null,
    this_update timestamptz not null,
    next_update timestamptz,
    added_at    timestamptz not null default now(),
    constraint crls_der_check check (length(crl_der) > 0),
    constraint crls_issuer_check check (length(issuer) <= 1000)
);
create unique index crls_der_key on crls (sha256(crl_der));
