package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opensmd/portal/internal/store"
	"github.com/opensmd/portal/internal/store/storetest"
	"github.com/opensmd/portal/migrations"
)

// TestMain stops storetest's embedded PostgreSQL when the tests end.
func TestMain(m *testing.M) { storetest.Main(m) }

// ternLockKey is the advisory lock jackc/tern v2 takes around migrations.
const ternLockKey = int64(9628173550095224)

func conn(t *testing.T, p *pgxpool.Pool) *pgx.Conn {
	t.Helper()
	c, err := p.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Release)
	return c.Conn()
}

func latestVersion(t *testing.T) int32 {
	t.Helper()
	entries, err := migrations.FS.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var n int32
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".sql") {
			n++
		}
	}
	if n == 0 {
		t.Fatal("no migrations embedded")
	}
	return n
}

func status(t *testing.T, c *pgx.Conn) (int32, int32) {
	t.Helper()
	cur, latest, err := store.SchemaStatus(t.Context(), c)
	if err != nil {
		t.Fatalf("SchemaStatus: %v", err)
	}
	return cur, latest
}

func TestMigrate_AppliesAndIsIdempotent(t *testing.T) {
	c := conn(t, storetest.EmptyDB(t))
	want := latestVersion(t)
	if cur, latest := status(t, c); cur != 0 || latest != want {
		t.Fatalf("fresh database: status (%d, %d), want (0, %d)", cur, latest, want)
	}
	for i := range 2 {
		if err := store.Migrate(t.Context(), c); err != nil {
			t.Fatalf("Migrate run %d: %v", i+1, err)
		}
		if cur, _ := status(t, c); cur != want {
			t.Fatalf("after Migrate run %d: version %d, want %d", i+1, cur, want)
		}
	}
	for _, table := range []string{"organisations", "users", "recovery_codes", "sessions", "setup_tokens", "login_attempts", "audit_events"} {
		var ok bool
		if err := c.QueryRow(t.Context(), "select to_regclass($1) is not null", table).Scan(&ok); err != nil || !ok {
			t.Errorf("table %s missing after Migrate (%v)", table, err)
		}
	}
	if err := store.CheckSchema(t.Context(), c); err != nil {
		t.Errorf("CheckSchema after Migrate: %v", err)
	}
}

func TestCheckSchema_Behind(t *testing.T) {
	tests := []struct {
		name  string
		setup string
	}{
		{"NoVersionTable", ""},
		{"VersionZero", "create table public.schema_version (version int4 not null); insert into public.schema_version values (0)"},
		{"EmptyVersionTable", "create table public.schema_version (version int4 not null)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := conn(t, storetest.EmptyDB(t))
			if tt.setup != "" {
				if _, err := c.Exec(t.Context(), tt.setup); err != nil {
					t.Fatal(err)
				}
			}
			err := store.CheckSchema(t.Context(), c)
			if !errors.Is(err, store.ErrSchemaBehind) {
				t.Fatalf("CheckSchema = %v, want ErrSchemaBehind", err)
			}
			if want := fmt.Sprintf("database at version 0, this binary needs %d", latestVersion(t)); !strings.Contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err, want)
			}
			var ok bool
			if err := c.QueryRow(t.Context(), "select to_regclass('users') is null").Scan(&ok); err != nil || !ok {
				t.Errorf("CheckSchema changed the database (%v)", err)
			}
		})
	}
}

// TestStoretest_DBIsCurrent ties storetest's own migration of its template
// to store's notion of "current".
func TestStoretest_DBIsCurrent(t *testing.T) {
	c := conn(t, storetest.DB(t))
	if err := store.CheckSchema(t.Context(), c); err != nil {
		t.Fatalf("storetest database: %v", err)
	}
}

func TestMigrate_RefusesNewerSchema(t *testing.T) {
	c := conn(t, storetest.DB(t))
	if _, err := c.Exec(t.Context(), "update public.schema_version set version = version + 1"); err != nil {
		t.Fatal(err)
	}
	if err := store.Migrate(t.Context(), c); !errors.Is(err, store.ErrSchemaAhead) {
		t.Fatalf("Migrate on a newer schema = %v, want ErrSchemaAhead", err)
	}
	if err := store.CheckSchema(t.Context(), c); err != nil {
		t.Errorf("CheckSchema on a newer schema = %v, want nil (forward-compatible)", err)
	}
}

func TestMigrate_Concurrent(t *testing.T) {
	p := storetest.EmptyDB(t)
	const n = 4
	conns := make([]*pgx.Conn, n)
	for i := range conns {
		conns[i] = conn(t, p)
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range conns {
		wg.Go(func() { errs[i] = store.Migrate(t.Context(), conns[i]) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("concurrent Migrate %d: %v", i, err)
		}
	}
	if cur, latest := status(t, conns[0]); cur != latest {
		t.Errorf("after concurrent Migrate: version %d, want %d", cur, latest)
	}
}

// TestMigrate_WaitsForAdvisoryLock proves that Migrate (via tern) takes the
// advisory lock: while another session holds it, Migrate blocks.
func TestMigrate_WaitsForAdvisoryLock(t *testing.T) {
	p := storetest.EmptyDB(t)
	holder, migrator := conn(t, p), conn(t, p)
	if _, err := holder.Exec(t.Context(), "select pg_advisory_lock($1)", ternLockKey); err != nil {
		t.Fatal(err)
	}
	var migratorPID uint32 = migrator.PgConn().PID()
	done := make(chan error, 1)
	go func() { done <- store.Migrate(t.Context(), migrator) }()

	deadline := time.Now().Add(30 * time.Second)
	for !waitingForAdvisoryLock(t, holder, migratorPID) {
		select {
		case err := <-done:
			t.Fatalf("Migrate finished (%v) while another session held the migration lock", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("Migrate never waited for the advisory lock")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := holder.Exec(t.Context(), "select pg_advisory_unlock($1)", ternLockKey); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Migrate after the lock was released: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Migrate did not finish after the lock was released")
	}
}

func waitingForAdvisoryLock(t *testing.T, c *pgx.Conn, pid uint32) bool {
	t.Helper()
	var waiting bool
	err := c.QueryRow(context.WithoutCancel(t.Context()), `select exists (select 1 from pg_locks
		where locktype = 'advisory' and pid = $1 and not granted)`, int32(pid)).Scan(&waiting)
	if err != nil {
		t.Fatal(err)
	}
	return waiting
}
