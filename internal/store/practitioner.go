package store

import (
	"context"
	"fmt"
)

// SetPractitioner records what the directory shows about user id of
// organisation orgID as a practitioner: HPI-I ("" for none), Medicare
// provider number and specialty.
func (s *Store) SetPractitioner(ctx context.Context, orgID, id, hpii, providerNumber, specialty string) error {
	if err := checkID(id, "set practitioner details"); err != nil {
		return err
	}
	tag, err := s.db.Exec(ctx, `UPDATE users SET hpii = nullif($3, ''), provider_number = $4, specialty = $5
		WHERE organisation_id = $1 AND id = $2`, orgID, id, hpii, providerNumber, specialty)
	if err == nil && tag.RowsAffected() == 0 {
		return fmt.Errorf("set practitioner details: %w", ErrNotFound)
	}
	return normalise(err, "set practitioner details")
}

// SetProfile replaces the directory profile of organisation id.
func (s *Store) SetProfile(ctx context.Context, id string, p Profile) error {
	if err := checkID(id, "set organisation profile"); err != nil {
		return err
	}
	if p.AcceptedCategories == nil {
		p.AcceptedCategories = []string{}
	}
	tag, err := s.db.Exec(ctx, `UPDATE organisations SET address_line = $2, suburb = $3, state = $4, postcode = $5,
			phone = $6, receiving_application = $7, receiving_facility = $8, accepted_categories = $9
		WHERE id = $1`, id, p.AddressLine, p.Suburb, p.State, p.Postcode, p.Phone, p.ReceivingApplication,
		p.ReceivingFacility, p.AcceptedCategories)
	if err == nil && tag.RowsAffected() == 0 {
		return fmt.Errorf("set organisation profile: %w", ErrNotFound)
	}
	return normalise(err, "set organisation profile")
}
