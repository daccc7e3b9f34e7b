package store

import (
	"context"
	"fmt"
	"time"
)

// Delivery modes of a hosted organisation (organisations.delivery_mode).
const (
	// DeliveryPush opens received messages into the portal inbox.
	DeliveryPush = "push"
	// DeliveryRetrieve holds them sealed for the organisation's clinical
	// software to fetch over SMR.
	DeliveryRetrieve = "retrieve"
)

// Organisation is a healthcare organisation hosted on this portal.
type Organisation struct {
	ID           string
	Name         string
	HPIO         string
	DeliveryMode string
	Profile
	RequireTOTP bool
	// Operator organisations run the portal: their administrators manage
	// the provider-wide trust store (migration 013).
	Operator  bool
	CreatedAt time.Time
}

// Profile is what the directory publishes about a hosted organisation and
// its administrators edit (migration 007).
type Profile struct {
	AddressLine, Suburb, State, Postcode, Phone string
	// HL7 HD strings for MSH-3/4 (sending) and MSH-5/6 (receiving); an
	// empty facility means the HPI-O form.
	ReceivingApplication, ReceivingFacility string
	// AcceptedCategories are service category URIs; empty accepts all.
	AcceptedCategories []string
}

const organisationColumns = `id, name, hpio, delivery_mode, address_line, suburb, state, postcode, phone,
	receiving_application, receiving_facility, accepted_categories, require_totp, operator, created_at`

func scanOrganisation(row interface{ Scan(...any) error }) (Organisation, error) {
	var o Organisation
	err := row.Scan(&o.ID, &o.Name, &o.HPIO, &o.DeliveryMode, &o.AddressLine, &o.Suburb, &o.State, &o.Postcode,
		&o.Phone, &o.ReceivingApplication, &o.ReceivingFacility, &o.AcceptedCategories, &o.RequireTOTP, &o.Operator, &o.CreatedAt)
	return o, err
}

// CreateOrganisation inserts an organisation (delivery mode push) and
// returns it with its ID. The first organisation of a portal is its
// operator.
func (s *Store) CreateOrganisation(ctx context.Context, name, hpio string) (Organisation, error) {
	q := `INSERT INTO organisations (name, hpio, operator)
		VALUES ($1, $2, NOT EXISTS (SELECT 1 FROM organisations)) RETURNING ` + organisationColumns
	o, err := scanOrganisation(s.db.QueryRow(ctx, q, name, hpio))
	return o, normalise(err, "create organisation")
}

// Organisation loads one organisation by ID.
func (s *Store) Organisation(ctx context.Context, id string) (Organisation, error) {
	if err := checkID(id, "load organisation"); err != nil {
		return Organisation{}, err
	}
	o, err := scanOrganisation(s.db.QueryRow(ctx, `SELECT `+organisationColumns+` FROM organisations WHERE id = $1`, id))
	return o, normalise(err, "load organisation")
}

// OrganisationByHPIO loads the organisation with the 16-digit HPI-O hpio.
func (s *Store) OrganisationByHPIO(ctx context.Context, hpio string) (Organisation, error) {
	o, err := scanOrganisation(s.db.QueryRow(ctx, `SELECT `+organisationColumns+` FROM organisations WHERE hpio = $1`, hpio))
	return o, normalise(err, "load organisation by HPI-O")
}

// SetDeliveryMode sets how organisation id takes delivery (DeliveryPush or
// DeliveryRetrieve).
func (s *Store) SetDeliveryMode(ctx context.Context, id, mode string) error {
	if err := checkID(id, "set delivery mode"); err != nil {
		return err
	}
	tag, err := s.db.Exec(ctx, `UPDATE organisations SET delivery_mode = $2 WHERE id = $1`, id, mode)
	if err == nil && tag.RowsAffected() == 0 {
		return fmt.Errorf("set delivery mode: %w", ErrNotFound)
	}
	return normalise(err, "set delivery mode")
}

// SetOperator makes organisation id an operator of the portal, or not.
func (s *Store) SetOperator(ctx context.Context, id string, operator bool) error {
	if err := checkID(id, "set operator"); err != nil {
		return err
	}
	tag, err := s.db.Exec(ctx, `UPDATE organisations SET operator = $2 WHERE id = $1`, id, operator)
	if err == nil && tag.RowsAffected() == 0 {
		return fmt.Errorf("set operator: %w", ErrNotFound)
	}
	return normalise(err, "set operator")
}

// CountOrganisations tells whether first-run set-up is still needed.
func (s *Store) CountOrganisations(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRow(ctx, `SELECT count(*) FROM organisations`).Scan(&n)
	return n, normalise(err, "count organisations")
}
