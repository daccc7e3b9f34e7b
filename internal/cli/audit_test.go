package cli

import (
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opensmd/portal/internal/smd/ns"
	"github.com/opensmd/portal/internal/store"
	"github.com/opensmd/portal/internal/store/storetest"
)

func TestAudit_VerifyAndExport(t *testing.T) {
	env := map[string]string{"DATABASE_URL": storetest.NewEmptyDatabase(t), "PORTAL_DATA_DIR": t.TempDir()}
	if code, _, errOut := run(t, env, "demo"); code != 0 {
		t.Fatalf("demo: %s", errOut)
	}
	if code, out, errOut := run(t, env, "audit", "verify"); code != 0 || !strings.Contains(out, "Audit trail intact") {
		t.Fatalf("verify: exit %d\n%s%s", code, out, errOut)
	}
	// The result is recorded for the audit page (source cli); a tampered
	// trail is recorded broken, with the exit code and message as before.
	pool, err := pgxpool.New(t.Context(), env["DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	st := store.New(pool)
	if c, err := st.LatestAuditCheck(t.Context()); err != nil || !c.OK || c.Source != store.AuditCheckCLI || c.Rows == 0 {
		t.Fatalf("recorded check: %+v %v", c, err)
	}
	for _, q := range []string{`ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only`,
		`UPDATE audit_events SET ip = '203.0.113.9' WHERE id = (SELECT min(id) FROM audit_events WHERE hash IS NOT NULL)`,
		`ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only`} {
		if _, err := pool.Exec(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	if code, _, errOut := run(t, env, "audit", "verify"); code != 1 || !strings.Contains(errOut, "NOT intact") {
		t.Fatalf("tampered verify: exit %d %s", code, errOut)
	}
	if c, err := st.LatestAuditCheck(t.Context()); err != nil || c.OK || c.Problem == nil || c.Source != store.AuditCheckCLI {
		t.Fatalf("recorded broken check: %+v %v", c, err)
	}
	org := ns.QualifierHPIO + demoOrg.hpio
	code, out, errOut := run(t, env, "audit", "export", "--org", org)
	if code != 0 {
		t.Fatalf("export csv: exit %d %s", code, errOut)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) < 2 || rows[0][5] != "action" || rows[len(rows)-1][5] != "demo.loaded" {
		t.Fatalf("csv: %v %q", err, out)
	}
	code, out, _ = run(t, env, "audit", "export", "--org", org, "--format", "json")
	var events []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &events) != nil || len(events) != len(rows)-1 {
		t.Fatalf("json: exit %d %q", code, out)
	}
	if code, _, _ := run(t, env, "audit", "export", "--org", org, "--format", "xml"); code != 2 {
		t.Fatalf("unknown format: exit %d, want 2", code)
	}
}
