package cli

import (
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"

	"github.com/opensmd/portal/internal/smd/ns"
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
