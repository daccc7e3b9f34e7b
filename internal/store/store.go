// Package store owns every SQL statement of the portal. Methods take a
// context first and return plain structs; driver errors are normalised here
// so callers never import pgx.
package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Sentinel errors callers test with errors.Is.
var (
	ErrNotFound = errors.New("store: not found")
	ErrConflict = errors.New("store: conflicts with existing data")
)

// DBTX is satisfied by *pgxpool.Pool and pgx.Tx, so every method runs on
// either.
type DBTX interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Store runs queries on a pool, or on one transaction inside WithTx.
type Store struct {
	db   DBTX
	pool *pgxpool.Pool
}

// New returns a Store over pool.
func New(pool *pgxpool.Pool) *Store { return &Store{db: pool, pool: pool} }

// Pool returns the underlying pool (for health checks and migrations).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// WithTx runs fn with a Store bound to one transaction, committed when fn
// returns nil. State changes and the jobs or audit rows that go with them
// are written through the same tx Store.
func (s *Store) WithTx(ctx context.Context, fn func(tx *Store) error) error {
	if _, inTx := s.db.(pgx.Tx); inTx {
		return fn(s)
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		return fn(&Store{db: tx, pool: s.pool})
	})
}

// Tx returns the transaction a WithTx Store runs on, for libraries that
// enqueue into the same transaction; nil outside WithTx.
func (s *Store) Tx() pgx.Tx {
	tx, _ := s.db.(pgx.Tx)
	return tx
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.db.QueryRow(ctx, "SELECT 1").Scan(&one)
}

// checkID turns an ID that is not a UUID (typed into a URL, say) into
// ErrNotFound before it reaches PostgreSQL as a type error.
func checkID(id, what string) error {
	if err := uuid.Validate(id); err != nil {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return nil
}

func normalise(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == "23505" || pgErr.Code == "23503") {
		return fmt.Errorf("%s: %w (%s)", what, ErrConflict, pgErr.ConstraintName)
	}
	return fmt.Errorf("%s: %w", what, err)
}
