package store

import (
	"context"
	"time"
)

// RecordLoginAttempt notes one login attempt from ip for per-IP throttling.
func (s *Store) RecordLoginAttempt(ctx context.Context, ip string, success bool, at time.Time) error {
	_, err := s.db.Exec(ctx, `INSERT INTO login_attempts (ip, attempted_at, success) VALUES ($1, $2, $3)`, ip, at, success)
	return normalise(err, "record login attempt")
}

// RecentLoginFailures counts failed attempts from ip since since.
func (s *Store) RecentLoginFailures(ctx context.Context, ip string, since time.Time) (int, error) {
	var n int
	err := s.db.QueryRow(ctx, `SELECT count(*) FROM login_attempts
		WHERE ip = $1 AND attempted_at > $2 AND NOT success`, ip, since).Scan(&n)
	return n, normalise(err, "count login failures")
}
