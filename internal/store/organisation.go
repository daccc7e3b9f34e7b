package store

import (
	"context"
	"time"
)

// Organisation is a healthcare organisation hosted on this portal.
type Organisation struct {
	ID        string
	Name      string
	HPIO      string
	CreatedAt time.Time
}

// CreateOrganisation inserts o and returns it with its ID.
func (s *Store) CreateOrganisation(ctx context.Context, name, hpio string) (Organisation, error) {
	const q = `INSERT INTO organisations (name, hpio) VALUES ($1, $2)
		RETURNING id, name, hpio, created_at`
	var o Organisation
	err := s.db.QueryRow(ctx, q, name, hpio).Scan(&o.ID, &o.Name, &o.HPIO, &o.CreatedAt)
	return o, normalise(err, "create organisation")
}

// Organisation loads one organisation by ID.
func (s *Store) Organisation(ctx context.Context, id string) (Organisation, error) {
	const q = `SELECT id, name, hpio, created_at FROM organisations WHERE id = $1`
	var o Organisation
	err := s.db.QueryRow(ctx, q, id).Scan(&o.ID, &o.Name, &o.HPIO, &o.CreatedAt)
	return o, normalise(err, "load organisation")
}

// CountOrganisations tells whether first-run set-up is still needed.
func (s *Store) CountOrganisations(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRow(ctx, `SELECT count(*) FROM organisations`).Scan(&n)
	return n, normalise(err, "count organisations")
}
