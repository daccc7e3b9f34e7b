package provider

import (
	"context"
	"fmt"

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
