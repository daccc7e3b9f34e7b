// Package jobschema migrates River's job-queue tables (river_job and
// friends). It is separate from internal/store so that storetest, which
// store's own tests import, can build the same schema into its template.
package jobschema

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

// lockKey serialises River migrations between concurrent callers.
const lockKey = 9628173550095225

func migrator() (*rivermigrate.Migrator[pgx.Tx], error) {
	return rivermigrate.New(riverpgxv5.New(nil), &rivermigrate.Config{})
}

// Version names the latest River migration this binary carries (for
// naming test templates).
func Version() string {
	m, err := migrator()
	if err != nil {
		return "unknown"
	}
	all := m.AllVersions()
	if len(all) == 0 {
		return "0"
	}
	return strconv.Itoa(all[len(all)-1].Version)
}

// Migrate applies River's pending migrations on conn, one per transaction
// (a migration that adds an enum value cannot share one with its users),
// under a session advisory lock.
func Migrate(ctx context.Context, conn *pgx.Conn) (err error) {
	m, err := migrator()
	if err != nil {
		return fmt.Errorf("migrate jobs: %w", err)
	}
	if _, err := conn.Exec(ctx, "select pg_advisory_lock($1)", lockKey); err != nil {
		return fmt.Errorf("migrate jobs: lock: %w", err)
	}
	defer func() {
		if _, uerr := conn.Exec(context.WithoutCancel(ctx), "select pg_advisory_unlock($1)", lockKey); uerr != nil && err == nil {
			err = fmt.Errorf("migrate jobs: unlock: %w", uerr)
		}
	}()
	for {
		applied := 0
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			res, err := m.MigrateTx(ctx, tx, rivermigrate.DirectionUp, &rivermigrate.MigrateOpts{MaxSteps: 1})
			if res != nil {
				applied = len(res.Versions)
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("migrate jobs: %w", err)
		}
		if applied == 0 {
			return nil
		}
	}
}

// Current reports whether River's tables are at the version this binary
// needs. It changes nothing.
func Current(ctx context.Context, conn *pgx.Conn) (bool, error) {
	m, err := migrator()
	if err != nil {
		return false, err
	}
	var ok bool
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		res, err := m.ValidateTx(ctx, tx, nil)
		ok = err == nil && res.OK
		return err
	})
	return ok, err
}
