package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/tern/v2/migrate"

	"github.com/opensmd/portal/internal/store/jobschema"
)

// templateLockKey serialises template creation across test binaries that
// share one server (go test runs packages in parallel). Advisory locks are
// per database: every binary takes it in the same maintenance database.
const templateLockKey = int64(0x706f7274616c7400) // "portal t"

// ensureTemplate returns the name of the migrated template database for
// the current migration files, creating it if no complete one exists.
// A template is complete once it is marked IS_TEMPLATE; a leftover from an
// interrupted run is dropped and rebuilt.
func ensureTemplate(ctx context.Context, adminURL string, fsys fs.FS) (string, error) {
	name, err := templateName(fsys)
	if err != nil {
		return "", err
	}
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return "", fmt.Errorf("connect to test server: %w", err)
	}
	// Closing the session also releases the advisory lock.
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	if _, err := conn.Exec(ctx, "select pg_advisory_lock($1)", templateLockKey); err != nil {
		return "", fmt.Errorf("lock template creation: %w", err)
	}
	var complete bool
	err = conn.QueryRow(ctx, "select datistemplate from pg_database where datname = $1", name).Scan(&complete)
	switch {
	case err == nil && complete:
		return name, nil
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return "", fmt.Errorf("look up template: %w", err)
	default:
		if _, err := conn.Exec(ctx, "drop database "+pgx.Identifier{name}.Sanitize()+" with (force)"); err != nil {
			return "", fmt.Errorf("drop incomplete template: %w", err)
		}
	}
	return name, buildTemplate(ctx, conn, adminURL, name, fsys)
}

func buildTemplate(ctx context.Context, admin *pgx.Conn, adminURL, name string, fsys fs.FS) error {
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := admin.Exec(ctx, "create database "+ident+" template template0 encoding 'UTF8'"); err != nil {
		return fmt.Errorf("create template database: %w", err)
	}
	conn, err := pgx.Connect(ctx, withDatabase(adminURL, name))
	if err != nil {
		return fmt.Errorf("connect to template database: %w", err)
	}
	err = migrateAll(ctx, conn, fsys)
	if cerr := conn.Close(ctx); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("migrate template database: %w", err)
	}
	// No connections: CREATE DATABASE … TEMPLATE fails while any exist.
	if _, err := admin.Exec(ctx, "alter database "+ident+" with is_template true allow_connections false"); err != nil {
		return fmt.Errorf("mark template database: %w", err)
	}
	return nil
}

// templateName is portal_template_ plus a hash of the migration files'
// names and contents and River's schema version, so a changed migration
// gets a new template.
func templateName(fsys fs.FS) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "river %s\x00", jobschema.Version())
	err := fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", path, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("hash migrations: %w", err)
	}
	return "portal_template_" + hex.EncodeToString(h.Sum(nil))[:16], nil
}

// versionTable must match internal/store's; store's tests check that
// store.CheckSchema accepts a storetest database.
const versionTable = "public.schema_version"

// migrateAll applies all migrations as store.Migrate does. storetest does
// not import internal/store, so that store's own in-package tests can
// import storetest without an import cycle.
func migrateAll(ctx context.Context, conn *pgx.Conn, fsys fs.FS) error {
	m, err := migrate.NewMigrator(ctx, conn, versionTable)
	if err != nil {
		return err
	}
	if err := m.LoadMigrations(fsys); err != nil {
		return err
	}
	if err := m.Migrate(ctx); err != nil {
		return err
	}
	return jobschema.Migrate(ctx, conn)
}
