// Package storetest gives tests real PostgreSQL databases: each test gets
// its own fresh database, fully migrated, dropped when the test ends. There
// are no mocks.
//
// The server is TEST_DATABASE_URL when set (a role allowed to CREATE
// DATABASE; its database is used only as the maintenance database).
// Otherwise a private, throwaway cluster is started with internal/pgembed
// once per test binary, on first use. Packages using storetest should stop
// it when their tests end:
//
//	func TestMain(m *testing.M) { storetest.Main(m) }
//
// Without that the cluster still stops when the test binary exits (it is a
// child process with a parent-death signal), but its temporary directory is
// only removed by a later test run.
//
// Migrations are applied once per server into a template database named
// portal_template_<hash of the migration files>; each test database is a
// CREATE DATABASE … TEMPLATE copy of it, which takes milliseconds.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DB returns a pool on a fresh, fully migrated database private to this
// test. The pool is closed and the database dropped in t.Cleanup.
func DB(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return pool(t, NewDatabase(t))
}

// NewDatabase creates a fresh, fully migrated database private to this test
// and returns its connection string (for tests that start a subprocess).
// The database is dropped in t.Cleanup.
func NewDatabase(t testing.TB) (url string) {
	t.Helper()
	s := server(t)
	return s.createDatabase(t, s.template)
}

// EmptyDB returns a pool on a fresh database with no migrations applied,
// dropped in t.Cleanup. For testing migrations themselves.
func EmptyDB(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return pool(t, NewEmptyDatabase(t))
}

// NewEmptyDatabase is like NewDatabase without migrations: it returns the
// connection string of a fresh, empty database, dropped in t.Cleanup.
func NewEmptyDatabase(t testing.TB) (url string) {
	t.Helper()
	return server(t).createDatabase(t, "template0")
}

// Main runs the package's tests and then stops the embedded cluster (if one
// was started) and removes its files. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if err := shutdown(); err != nil {
		fmt.Fprintln(os.Stderr, "storetest:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

func pool(t testing.TB, url string) *pgxpool.Pool {
	t.Helper()
	p, err := pgxpool.New(t.Context(), url)
	if err != nil {
		t.Fatalf("storetest: open pool: %v", err)
	}
	t.Cleanup(p.Close) // runs before the drop registered earlier
	if err := p.Ping(t.Context()); err != nil {
		t.Fatalf("storetest: ping test database: %v", err)
	}
	return p
}

// createDatabase creates test_<random> from template and registers its
// removal.
func (s *testServer) createDatabase(t testing.TB, template string) string {
	t.Helper()
	name := "test_" + randomHex(t, 8)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	sql := fmt.Sprintf("create database %s template %s", pgx.Identifier{name}.Sanitize(), pgx.Identifier{template}.Sanitize())
	if _, err := s.admin.Exec(ctx, sql); err != nil {
		t.Fatalf("storetest: create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := s.admin.Exec(ctx, "drop database if exists "+pgx.Identifier{name}.Sanitize()+" with (force)"); err != nil {
			t.Errorf("storetest: drop test database %s: %v", name, err)
		}
	})
	return withDatabase(s.adminURL, name)
}

func randomHex(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("storetest: random name: %v", err)
	}
	return hex.EncodeToString(b)
}
