package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/tern/v2/migrate"

	"github.com/opensmd/portal/internal/store/jobschema"
	"github.com/opensmd/portal/migrations"
)

// versionTable records the number of the last applied migration (one row,
// one int4 column "version"; tern's layout).
const versionTable = "public.schema_version"

// ErrSchemaBehind means the database lacks migrations this binary needs.
var ErrSchemaBehind = errors.New("store: database schema is behind; run `portal migrate` or serve with --migrate")

// ErrSchemaAhead means the database was migrated by a newer portal; Migrate
// refuses to touch it.
var ErrSchemaAhead = errors.New("store: database schema is newer than this portal binary; upgrade portal")

// Migrate applies the pending migrations of package migrations, each in its
// own transaction, recording progress in public.schema_version, then
// River's job-queue migrations (package jobschema).
//
// Concurrent Migrate calls on one database are safe: tern (v2.3) holds the
// session advisory lock pg_advisory_lock(9628173550095224) while it creates
// the version table and while it migrates, so a second caller waits and
// then finds nothing to do. Advisory locks are per database. If ctx is
// cancelled the unlock may fail; the lock then lasts until conn is closed,
// so close conn after an error.
func Migrate(ctx context.Context, conn *pgx.Conn) error {
	m, err := migrate.NewMigrator(ctx, conn, versionTable)
	if err != nil {
		return fmt.Errorf("migrate: prepare version table: %w", err)
	}
	if err := m.LoadMigrations(migrations.FS); err != nil {
		return fmt.Errorf("migrate: load migrations: %w", err)
	}
	current, err := m.GetCurrentVersion(ctx)
	if err != nil {
		return fmt.Errorf("migrate: read schema version: %w", err)
	}
	if latest := int32(len(m.Migrations)); current > latest {
		return fmt.Errorf("migrate: %w (database at version %d, this binary knows %d)", ErrSchemaAhead, current, latest)
	}
	if err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return jobschema.Migrate(ctx, conn)
}

// SchemaStatus returns the database's schema version (0 when no migration
// ever ran) and the latest version this binary embeds. It changes nothing.
func SchemaStatus(ctx context.Context, conn *pgx.Conn) (current, latest int32, err error) {
	names, err := migrate.FindMigrations(migrations.FS)
	if err != nil {
		return 0, 0, fmt.Errorf("schema status: list migrations: %w", err)
	}
	latest = int32(len(names))
	var exists bool
	if err := conn.QueryRow(ctx, "select to_regclass($1) is not null", versionTable).Scan(&exists); err != nil {
		return 0, latest, fmt.Errorf("schema status: look up version table: %w", err)
	}
	if !exists {
		return 0, latest, nil
	}
	err = conn.QueryRow(ctx, "select version from "+versionTable).Scan(&current)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, latest, nil
	}
	if err != nil {
		return 0, latest, fmt.Errorf("schema status: read version: %w", err)
	}
	return current, latest, nil
}

// CheckSchema returns an error wrapping ErrSchemaBehind when the database
// lacks migrations this binary needs. A newer schema is accepted, since
// migrations are forward-only and additive.
func CheckSchema(ctx context.Context, conn *pgx.Conn) error {
	current, latest, err := SchemaStatus(ctx, conn)
	if err != nil {
		return err
	}
	if current < latest {
		return fmt.Errorf("%w (database at version %d, this binary needs %d)", ErrSchemaBehind, current, latest)
	}
	ok, err := jobschema.Current(ctx, conn)
	if err != nil {
		return fmt.Errorf("schema status: job queue tables: %w", err)
	}
	if !ok {
		return fmt.Errorf("%w (job queue tables are not current)", ErrSchemaBehind)
	}
	return nil
}
