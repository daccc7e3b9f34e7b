package store

import (
	"context"
	"time"
)

// CreateSetupToken stores the hash of a one-time first-run set-up token.
func (s *Store) CreateSetupToken(ctx context.Context, hash string, expires time.Time) error {
	_, err := s.db.Exec(ctx, `INSERT INTO setup_tokens (token_hash, expires_at) VALUES ($1, $2)`, hash, expires)
	return normalise(err, "create setup token")
}

// SetupTokenValid reports whether hash names an unused, unexpired token.
func (s *Store) SetupTokenValid(ctx context.Context, hash string, now time.Time) (bool, error) {
	var ok bool
	err := s.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM setup_tokens
		WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2)`, hash, now).Scan(&ok)
	return ok, normalise(err, "check setup token")
}

// UseSetupToken consumes the token; ErrNotFound if it is unknown, used or
// expired, so two concurrent set-ups cannot both succeed.
func (s *Store) UseSetupToken(ctx context.Context, hash string, now time.Time) error {
	tag, err := s.db.Exec(ctx, `UPDATE setup_tokens SET used_at = $2
		WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2`, hash, now)
	if err != nil {
		return normalise(err, "use setup token")
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}
