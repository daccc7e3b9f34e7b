package storetest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestMain(m *testing.M) { Main(m) }

func databaseExists(t *testing.T, name string) bool {
	t.Helper()
	var ok bool
	err := server(t).admin.QueryRow(t.Context(), "select exists (select 1 from pg_database where datname = $1)", name).Scan(&ok)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func currentDatabase(t *testing.T, p *pgxpool.Pool) string {
	t.Helper()
	var name string
	if err := p.QueryRow(t.Context(), "select current_database()").Scan(&name); err != nil {
		t.Fatal(err)
	}
	return name
}

func TestDB_IsolatedMigratedAndDropped(t *testing.T) {
	var names [2]string
	t.Run("Use", func(t *testing.T) {
		a, b := DB(t), DB(t)
		names[0], names[1] = currentDatabase(t, a), currentDatabase(t, b)
		if names[0] == names[1] {
			t.Fatalf("two DB calls share database %s", names[0])
		}
		var version int32
		if err := a.QueryRow(t.Context(), "select version from "+versionTable).Scan(&version); err != nil || version < 1 {
			t.Fatalf("test database not migrated: version %d, %v", version, err)
		}
		if _, err := a.Exec(t.Context(), "create table only_in_a (v int)"); err != nil {
			t.Fatal(err)
		}
		var visible bool
		if err := b.QueryRow(t.Context(), "select to_regclass('only_in_a') is not null").Scan(&visible); err != nil || visible {
			t.Fatalf("table created in one test database is visible in another (%v)", err)
		}
	})
	for _, name := range names {
		if databaseExists(t, name) {
			t.Errorf("database %s still exists after its test ended", name)
		}
	}
}

func TestEmptyDB_HasNoSchema(t *testing.T) {
	p := EmptyDB(t)
	var n int
	err := p.QueryRow(t.Context(), "select count(*) from pg_tables where schemaname = 'public'").Scan(&n)
	if err != nil || n != 0 {
		t.Fatalf("empty database has %d tables (%v)", n, err)
	}
}

func TestDB_ParallelTests(t *testing.T) {
	for i := range 4 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			p := DB(t)
			if _, err := p.Exec(t.Context(), "create table mine (v int)"); err != nil {
				t.Fatalf("parallel test %d: %v", i, err)
			}
		})
	}
}

// TestEnsureTemplate_Concurrent builds a new template from several
// goroutines (standing in for test binaries) at once; the advisory lock
// must make exactly one build it and the others reuse it.
func TestEnsureTemplate_Concurrent(t *testing.T) {
	srv := server(t)
	fsys := fstest.MapFS{"001_t.sql": {Data: []byte(fmt.Sprintf("create table t (v int); -- %d\n", time.Now().UnixNano()))}}
	want, err := templateName(fsys)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ident := pgx.Identifier{want}.Sanitize()
		_, err := srv.admin.Exec(context.Background(), "alter database "+ident+" is_template false")
		if err == nil {
			_, err = srv.admin.Exec(context.Background(), "drop database "+ident)
		}
		if err != nil {
			t.Errorf("drop test template: %v", err)
		}
	})
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			var name string
			name, errs[i] = ensureTemplate(t.Context(), srv.adminURL, fsys)
			if errs[i] == nil && name != want {
				errs[i] = fmt.Errorf("name %q, want %q", name, want)
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("ensureTemplate %d: %v", i, err)
		}
	}
	var isTemplate, allowConn bool
	err = srv.admin.QueryRow(t.Context(), "select datistemplate, datallowconn from pg_database where datname = $1", want).Scan(&isTemplate, &allowConn)
	if err != nil || !isTemplate || allowConn {
		t.Fatalf("template %s: is_template=%v allow_connections=%v err=%v", want, isTemplate, allowConn, err)
	}
}

func TestTemplateName_DependsOnContent(t *testing.T) {
	a, _ := templateName(fstest.MapFS{"001_a.sql": {Data: []byte("create table a ();")}})
	b, _ := templateName(fstest.MapFS{"001_a.sql": {Data: []byte("create table b ();")}})
	c, _ := templateName(fstest.MapFS{"001_b.sql": {Data: []byte("create table a ();")}})
	if a == b || a == c || !strings.HasPrefix(a, "portal_template_") || len(a) > 63 {
		t.Errorf("template names %q %q %q", a, b, c)
	}
}

func TestWithDatabase(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://u:p@localhost:5432/postgres?sslmode=disable", "test_x"},
		{"postgresql://u@h/db?dbname=other", "test_x"},
		{"host=/tmp/sock port=5432 user=postgres dbname='postgres' sslmode=disable", "test_x"},
		{"host=localhost user=u", "it's"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			cfg, err := pgx.ParseConfig(withDatabase(tt.in, tt.want))
			if err != nil {
				t.Fatal(err)
			}
			orig, _ := pgx.ParseConfig(tt.in)
			if cfg.Database != tt.want || cfg.Host != orig.Host || cfg.User != orig.User {
				t.Errorf("got db %q host %q user %q", cfg.Database, cfg.Host, cfg.User)
			}
		})
	}
}

// TestTestDatabaseURL runs this package's tests in a subprocess with
// TEST_DATABASE_URL pointing at this process's server, which exercises the
// external-server path without depending on a system PostgreSQL.
func TestTestDatabaseURL(t *testing.T) {
	if os.Getenv("TEST_DATABASE_URL") != "" {
		if srv := server(t); srv.cluster != nil {
			t.Fatal("TEST_DATABASE_URL is set but an embedded cluster was started")
		}
		return // the subprocess (or an external run): the other tests cover it
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestDB_IsolatedMigratedAndDropped$|^TestTestDatabaseURL$", "-test.v")
	cmd.Env = append(os.Environ(), "TEST_DATABASE_URL="+server(t).adminURL)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestDB_IsolatedMigratedAndDropped") {
		t.Fatalf("subprocess with TEST_DATABASE_URL: %v\n%s", err, out)
	}
}
