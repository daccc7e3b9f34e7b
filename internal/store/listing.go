package store

import (
	"context"
	"time"
)

// Listing kinds and sources (directory_listings, migration 008).
const (
	ListingPractitioner = "practitioner"
	ListingService      = "service"
	ListingOrganisation = "organisation"

	SourceImport = "import"
	SourceManual = "manual"
	SourceHosted = "hosted"
)

// Listing is one searchable recipient: a practitioner, a service or an
// organisation, and how to reach it by SMD.
type Listing struct {
	ID             string
	Kind           string
	EntryID        *string // directory entry (endpoint, certificate); nil for hosted or unreachable
	OrgURI         string
	OrgName        string
	Name           string
	HPII           string
	HPIO           string
	ProviderNumber string
	Specialty      string
	AddressLine    string
	Suburb         string
	State          string
	Postcode       string
	Phone          string
	// PayloadTypes accepted; empty means the entry's service categories.
	PayloadTypes         []string
	ReceivingApplication string
	ReceivingFacility    string
	Source               string
	SourceRef            string
	CreatedAt            time.Time
	UpdatedAt            time.Time
}

// Reachable reports whether messages can be sent to l by SMD.
func (l Listing) Reachable() bool {
	return l.OrgURI != "" && (l.EntryID != nil || l.Source == SourceHosted)
}

const listingColumns = `id, kind, entry_id, org_uri, org_name, name, coalesce(hpii, ''), coalesce(hpio, ''),
	provider_number, specialty, address_line, suburb, state, postcode, phone, payload_types,
	receiving_application, receiving_facility, source, source_ref, created_at, updated_at`

func scanListing(row interface{ Scan(...any) error }) (Listing, error) {
	var l Listing
	err := row.Scan(&l.ID, &l.Kind, &l.EntryID, &l.OrgURI, &l.OrgName, &l.Name, &l.HPII, &l.HPIO,
		&l.ProviderNumber, &l.Specialty, &l.AddressLine, &l.Suburb, &l.State, &l.Postcode, &l.Phone,
		&l.PayloadTypes, &l.ReceivingApplication, &l.ReceivingFacility, &l.Source, &l.SourceRef,
		&l.CreatedAt, &l.UpdatedAt)
	return l, err
}

// UpsertListing inserts l or replaces the listing with the same source and
// source reference, and returns it as stored.
func (s *Store) UpsertListing(ctx context.Context, l Listing) (Listing, error) {
	if l.PayloadTypes == nil {
		l.PayloadTypes = []string{}
	}
	q := `INSERT INTO directory_listings (kind, entry_id, org_uri, org_name, name, hpii, hpio, provider_number,
			specialty, address_line, suburb, state, postcode, phone, payload_types, receiving_application,
			receiving_facility, source, source_ref)
		VALUES ($1, $2, $3, $4, $5, nullif($6, ''), nullif($7, ''), $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
		ON CONFLICT (source, source_ref) DO UPDATE SET kind = excluded.kind, entry_id = excluded.entry_id,
			org_uri = excluded.org_uri, org_name = excluded.org_name, name = excluded.name, hpii = excluded.hpii,
			hpio = excluded.hpio, provider_number = excluded.provider_number, specialty = excluded.specialty,
			address_line = excluded.address_line, suburb = excluded.suburb, state = excluded.state,
			postcode = excluded.postcode, phone = excluded.phone, payload_types = excluded.payload_types,
			receiving_application = excluded.receiving_application, receiving_facility = excluded.receiving_facility
		RETURNING ` + listingColumns
	out, err := scanListing(s.db.QueryRow(ctx, q, l.Kind, l.EntryID, l.OrgURI, l.OrgName, l.Name, l.HPII, l.HPIO,
		l.ProviderNumber, l.Specialty, l.AddressLine, l.Suburb, l.State, l.Postcode, l.Phone, l.PayloadTypes,
		l.ReceivingApplication, l.ReceivingFacility, l.Source, l.SourceRef))
	return out, normalise(err, "save directory listing")
}

// Listing loads one listing. The directory is shared by every organisation
// of this provider, so no organisation filter applies.
func (s *Store) Listing(ctx context.Context, id string) (Listing, error) {
	if err := checkID(id, "load directory listing"); err != nil {
		return Listing{}, err
	}
	l, err := scanListing(s.db.QueryRow(ctx, `SELECT `+listingColumns+` FROM directory_listings WHERE id = $1`, id))
	return l, normalise(err, "load directory listing")
}
