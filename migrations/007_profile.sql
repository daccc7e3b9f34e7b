-- 007_profile: what the directory publishes and the administrators edit
-- about a hosted organisation and its practitioners. Forward-only.

alter table organisations
    add column address_line          text    not null default '',
    add column suburb                text    not null default '',
    add column state                 text    not null default '',
    add column postcode              text    not null default '',
    add column phone                 text    not null default '',
    -- HL7 HD (namespace^universal id^type) the organisation's software
    -- answers as: MSH-3/4 of what it sends, MSH-5/6 of what it receives.
    -- Empty facility: the HPI-O form <HPI-O>^1.2.36.1.2001.1003.0.<HPI-O>^ISO.
    add column receiving_application text    not null default '',
    add column receiving_facility    text    not null default '',
    -- Service categories (payload profile URIs) the organisation accepts;
    -- empty: every kind the portal can open.
    add column accepted_categories   text[]  not null default '{}',
    -- Everyone must use TOTP, not only administrators.
    add column require_totp          boolean not null default false,
    add constraint organisations_state_check check (state in ('', 'ACT', 'NSW', 'NT', 'QLD', 'SA', 'TAS', 'VIC', 'WA')),
    add constraint organisations_postcode_check check (postcode ~ '^([0-9]{4})?$'),
    add constraint organisations_text_check check (
        length(address_line) <= 200 and length(suburb) <= 100 and length(phone) <= 40
        and length(receiving_application) <= 300 and length(receiving_facility) <= 300),
    add constraint organisations_categories_check check (
        array_position(accepted_categories, '') is null and array_position(accepted_categories, null) is null);

-- A practitioner's Medicare provider number (6 digits, location character,
-- check character) and specialty as the directory shows them.
alter table users
    add column provider_number text not null default '',
    add column specialty       text not null default '',
    add constraint users_provider_number_check check (provider_number ~ '^([0-9]{5,6}[0-9A-HJ-NP-Z][A-HJ-NP-Y])?$'),
    add constraint users_specialty_check check (length(specialty) <= 200);
