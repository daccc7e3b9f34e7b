-- 008_directory: what staff search to choose a recipient. A listing is a
-- practitioner, a healthcare service or an organisation, with where it is
-- and how to reach it: the SMD directory entry (endpoint and encryption
-- certificate) of its organisation, the payload types it accepts and the
-- HL7 receiving application/facility (MSH-5/6). Listings come from FHIR
-- directory imports, manual entry, or this provider's own organisations.
-- Forward-only.

create table directory_listings (
    id                    uuid        primary key default gen_random_uuid(),
    kind                  text        not null,
    -- The SMD directory entry messages to this listing go through. Null
    -- for a hosted listing (delivered by this provider) and for a listing
    -- not reachable by SMD (shown, but it cannot be chosen as a recipient).
    entry_id              uuid        references directory_entries (id) on delete set null,
    org_uri               text        not null default '',
    org_name              text        not null default '',
    name                  text        not null,
    hpii                  char(16),
    hpio                  char(16),
    provider_number       text        not null default '',
    specialty             text        not null default '',
    address_line          text        not null default '',
    suburb                text        not null default '',
    state                 text        not null default '',
    postcode              text        not null default '',
    phone                 text        not null default '',
    -- Service category / payload profile URIs accepted; empty: the
    -- directory entry's service categories.
    payload_types         text[]      not null default '{}',
    receiving_application text        not null default '',
    receiving_facility    text        not null default '',
    -- Where the listing came from: 'import' (FHIR bundle), 'manual', or
    -- 'hosted' (an organisation or practitioner of this provider).
    source                text        not null,
    -- The source's own id (FHIR "PractitionerRole/abc", or a hosted
    -- organisation/user id) so a re-import replaces rather than duplicates.
    source_ref            text        not null,
    created_at            timestamptz not null default now(),
    updated_at            timestamptz not null default now(),
    constraint directory_listings_kind_check check (kind in ('practitioner', 'service', 'organisation')),
    constraint directory_listings_source_check check (source in ('import', 'manual', 'hosted')),
    constraint directory_listings_source_key unique (source, source_ref),
    constraint directory_listings_name_check check (length(btrim(name)) between 1 and 200),
    constraint directory_listings_hpii_check check (hpii ~ '^800361[0-9]{10}$'),
    constraint directory_listings_hpio_check check (hpio ~ '^800362[0-9]{10}$'),
    constraint directory_listings_postcode_check check (postcode ~ '^([0-9]{4})?$'),
    constraint directory_listings_text_check check (
        length(org_uri) <= 1000 and length(org_name) <= 200 and length(provider_number) <= 20
        and length(specialty) <= 200 and length(address_line) <= 200 and length(suburb) <= 100
        and length(state) <= 3 and length(phone) <= 40 and length(receiving_application) <= 300
        and length(receiving_facility) <= 300 and length(source_ref) between 1 and 300),
    constraint directory_listings_payload_types_check check (
        array_position(payload_types, '') is null and array_position(payload_types, null) is null)
);
create index directory_listings_entry_idx on directory_listings (entry_id);
create index directory_listings_hpii_idx on directory_listings (hpii) where hpii is not null;
create index directory_listings_hpio_idx on directory_listings (hpio) where hpio is not null;
create index directory_listings_postcode_idx on directory_listings (postcode);
create trigger directory_listings_set_updated_at before update on directory_listings
    for each row execute function set_updated_at();

-- Each organisation's address book of favourite recipients.
create table favourites (
    organisation_id uuid        not null references organisations (id) on delete cascade,
    listing_id      uuid        not null references directory_listings (id) on delete cascade,
    created_by      uuid        references users (id) on delete set null,
    created_at      timestamptz not null default now(),
    primary key (organisation_id, listing_id)
);
