package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// Sources of an audit check.
const (
	AuditCheckSchedule = "schedule" // the periodic job
	AuditCheckCLI      = "cli"      // portal audit verify
	AuditCheckAdmin    = "admin"    // an administrator's "Verify now"
)

// AuditCheck is the recorded result of one VerifyAudit run.
type AuditCheck struct {
	ID      int64
	At      time.Time
	Rows    int64
	OK      bool
	Problem *AuditProblem // nil when OK
	Took    time.Duration
	Source  string
}

// RecordAuditCheck stores the result of a verification and returns it
// with its id and time.
func (s *Store) RecordAuditCheck(ctx context.Context, c AuditCheck) (AuditCheck, error) {
	var pid *int64
	var reason *string
	if c.Problem != nil {
		pid, reason = &c.Problem.ID, &c.Problem.Reason
	}
	c.OK = c.Problem == nil
	err := s.db.QueryRow(ctx, `INSERT INTO audit_checks (rows, ok, problem_id, problem, took_ms, source)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, at`,
		c.Rows, c.OK, pid, reason, c.Took.Milliseconds(), c.Source).Scan(&c.ID, &c.At)
	return c, normalise(err, "record audit check")
}

// LatestAuditCheck returns the most recent check; ErrNotFound (wrapped)
// when the trail has never been verified.
func (s *Store) LatestAuditCheck(ctx context.Context) (AuditCheck, error) {
	var c AuditCheck
	var pid *int64
	var reason *string
	var ms int64
	err := s.db.QueryRow(ctx, `SELECT id, at, rows, ok, problem_id, problem, took_ms, source
		FROM audit_checks ORDER BY id DESC LIMIT 1`).Scan(&c.ID, &c.At, &c.Rows, &c.OK, &pid, &reason, &ms, &c.Source)
	if err != nil {
		return AuditCheck{}, normalise(err, "read latest audit check")
	}
	if pid != nil && reason != nil {
		c.Problem = &AuditProblem{ID: *pid, Reason: *reason}
	}
	c.Took = time.Duration(ms) * time.Millisecond
	return c, nil
}

// OperatorOrganisationIDs lists the organisations that operate this
// portal (migration 013).
func (s *Store) OperatorOrganisationIDs(ctx context.Context) ([]string, error) {
	rows, err := s.db.Query(ctx, `SELECT id::text FROM organisations WHERE operator ORDER BY created_at, id`)
	if err != nil {
		return nil, normalise(err, "list operator organisations")
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, normalise(err, "list operator organisations")
}
