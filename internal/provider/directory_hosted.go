package provider

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/opensmd/portal/internal/smd/ns"
	"github.com/opensmd/portal/internal/store"
)

// SyncHostedListings makes the directory's hosted listings match this
// provider's organisations (profile included) and published practitioners
// (active clinicians and administrators with an HPI-I): it upserts one
// listing per organisation (source_ref = organisation id) and per
// practitioner (source_ref = user id) and deletes the rest, such as those
// of deactivated users. Idempotent; call it after any change to an
// organisation profile or a user. It returns how many listings it keeps.
func SyncHostedListings(ctx context.Context, st *store.Store) (int, error) {
	n := 0
	err := st.WithTx(ctx, func(tx *store.Store) error {
		orgs, err := tx.Organisations(ctx)
		if err != nil {
			return err
		}
		users, err := tx.PublishedPractitioners(ctx)
		if err != nil {
			return err
		}
		byID := map[string]store.Organisation{}
		var keep []string
		for _, o := range orgs {
			byID[o.ID] = o
			l := hostedListing(o)
			l.Kind, l.Name, l.HPIO, l.SourceRef = store.ListingOrganisation, o.Name, o.HPIO, o.ID
			if _, err := tx.UpsertListing(ctx, l); err != nil {
				return fmt.Errorf("organisation %s: %w", o.ID, err)
			}
			keep = append(keep, o.ID)
		}
		for _, u := range users {
			o, ok := byID[u.OrganisationID]
			if !ok {
				continue
			}
			l := hostedListing(o)
			l.Kind, l.Name, l.HPII, l.SourceRef = store.ListingPractitioner, u.DisplayName, u.HPII, u.ID
			l.ProviderNumber, l.Specialty = u.ProviderNumber, u.Specialty
			if _, err := tx.UpsertListing(ctx, l); err != nil {
				return fmt.Errorf("user %s: %w", u.ID, err)
			}
			keep = append(keep, u.ID)
		}
		n = len(keep)
		_, err = tx.DeleteListingsExcept(ctx, store.SourceHosted, nil, keep)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sync hosted directory listings: %w", err)
	}
	return n, nil
}

// hostedListing fills what an organisation and its practitioners share.
func hostedListing(o store.Organisation) store.Listing {
	cats := o.AcceptedCategories
	if len(cats) == 0 {
		cats = SupportedCategories
	}
	fac := o.ReceivingFacility
	if fac == "" {
		fac = HPIOFacility(o.HPIO)
	}
	return store.Listing{
		Source: store.SourceHosted, OrgURI: ns.QualifierHPIO + o.HPIO, OrgName: o.Name,
		AddressLine: o.AddressLine, Suburb: o.Suburb, State: o.State, Postcode: o.Postcode, Phone: o.Phone,
		PayloadTypes: cats, ReceivingApplication: o.ReceivingApplication, ReceivingFacility: fac,
	}
}

// HPIOFacility is the HL7 HD of an organisation by HPI-O (SMD.md §3.1),
// its receiving facility when the profile names none.
func HPIOFacility(hpio string) string {
	return hpio + "^1.2.36.1.2001.1003.0." + hpio + "^ISO"
}

// Publisher tells the FHIR directory (internal/fhirserve) where hosted
// organisations take delivery: this provider's SMD endpoint URL and each
// organisation's active certificate, which changes at a key rollover.
type Publisher struct {
	Keys *KeyCache
	URL  string // PORTAL_SMD_URL; empty publishes no endpoint
	Now  func() time.Time
}

// Endpoint returns the endpoint URL and the certificate senders must
// encrypt to for organisation orgID: the key it signs with now. No active
// key gives a nil certificate, not an error.
func (p Publisher) Endpoint(ctx context.Context, orgID string) (string, *x509.Certificate, error) {
	if p.URL == "" {
		return "", nil, nil
	}
	kr, err := p.Keys.Get(ctx)
	if err != nil {
		return "", nil, err
	}
	now := time.Now()
	if p.Now != nil {
		now = p.Now()
	}
	s, err := kr.Signer(orgID, now)
	if errors.Is(err, ErrNoSigningKey) {
		return p.URL, nil, nil
	}
	if err != nil {
		return "", nil, err
	}
	return p.URL, s.Cert, nil
}
