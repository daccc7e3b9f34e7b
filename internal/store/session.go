package store

import (
	"context"
	"time"
)

// Session is a signed-in browser session. ID is the SHA-256 of the random
// token held in the cookie, so a database leak does not leak live sessions.
type Session struct {
	ID         string
	UserID     string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	RevokedAt  *time.Time
	IP         string
	UserAgent  string
}

// CreateSession stores a new session.
func (s *Store) CreateSession(ctx context.Context, ss Session) error {
	const q = `INSERT INTO sessions (id, user_id, created_at, last_seen_at, expires_at, ip, user_agent)
		VALUES ($1, $2, $3, $3, $4, $5, $6)`
	_, err := s.db.Exec(ctx, q, ss.ID, ss.UserID, ss.CreatedAt, ss.ExpiresAt, ss.IP, ss.UserAgent)
	return normalise(err, "create session")
}

// SessionByID loads a session that has not been revoked.
func (s *Store) SessionByID(ctx context.Context, id string) (Session, error) {
	const q = `SELECT id, user_id, created_at, last_seen_at, expires_at, revoked_at, ip, user_agent
		FROM sessions WHERE id = $1 AND revoked_at IS NULL`
	var ss Session
	err := s.db.QueryRow(ctx, q, id).Scan(&ss.ID, &ss.UserID, &ss.CreatedAt, &ss.LastSeenAt, &ss.ExpiresAt, &ss.RevokedAt, &ss.IP, &ss.UserAgent)
	return ss, normalise(err, "load session")
}

// TouchSession moves the idle clock of a session forward.
func (s *Store) TouchSession(ctx context.Context, id string, at time.Time) error {
	_, err := s.db.Exec(ctx, `UPDATE sessions SET last_seen_at = $2 WHERE id = $1`, id, at)
	return normalise(err, "touch session")
}

// RevokeSession ends one session.
func (s *Store) RevokeSession(ctx context.Context, id string) error {
	_, err := s.db.Exec(ctx, `UPDATE sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL`, id)
	return normalise(err, "revoke session")
}
