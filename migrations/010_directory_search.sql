-- 010_directory_search: indexes for the directory search (/directory) and
-- the FHIR read API (/fhir/). Names, specialties and suburbs are matched
-- with ILIKE '%…%', which no btree index serves; a provider's directory is
-- thousands of rows, not millions, so those stay sequential scans rather
-- than depending on the pg_trgm extension. Forward-only.

create index directory_listings_provider_number_idx on directory_listings (provider_number)
    where provider_number <> '';
create index directory_listings_source_kind_idx on directory_listings (source, kind, name, id);
create index directory_listings_org_uri_idx on directory_listings (org_uri);
-- Favourites are read per organisation (primary key) and cleaned up when a
-- listing goes (the foreign key's cascade needs this one).
create index favourites_listing_idx on favourites (listing_id);
