package cli

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/opensmd/portal/internal/store/storetest"
)

func TestUser_InviteListRoleDeactivateLogout(t *testing.T) {
	env := map[string]string{"DATABASE_URL": storetest.NewEmptyDatabase(t), "PORTAL_DATA_DIR": t.TempDir(),
		"PORTAL_BASE_URL": "https://portal.example"}
	if code, _, errOut := run(t, env, "demo"); code != 0 {
		t.Fatalf("demo: %s", errOut)
	}
	org := demoOrg.hpio
	code, out, errOut := run(t, env, "user", "invite", "--org", org, "--email", "new@greenfield.demo", "--name", "New Person", "--role", "reception")
	if code != 0 || !regexp.MustCompile(`https://portal\.example/invite/[A-Za-z0-9_-]{43}\n`).MatchString(out) {
		t.Fatalf("invite: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := run(t, env, "user", "invite", "--org", org, "--email", "new@greenfield.demo", "--name", "Again", "--role", "reception"); code != 2 || !strings.Contains(errOut, "pending invitation") {
		t.Fatalf("second invite: exit %d %s", code, errOut)
	}
	if code, _, errOut := run(t, env, "user", "invite", "--org", org, "--email", "x@y.z", "--name", "X", "--role", "superuser"); code != 2 || !strings.Contains(errOut, "--role") {
		t.Fatalf("bad role: exit %d %s", code, errOut)
	}
	code, out, _ = run(t, env, "user", "list", "--org", org, "--json")
	var users []userJSON
	if code != 0 || json.Unmarshal([]byte(out), &users) != nil || len(users) != 3 {
		t.Fatalf("list: exit %d %s", code, out)
	}
	if code, _, errOut := run(t, env, "user", "role", "--email", "admin@greenfield.demo", "--role", "clinician"); code != 1 || !strings.Contains(errOut, "last active administrator") {
		t.Fatalf("demote the last admin: exit %d %s", code, errOut)
	}
	if code, out, _ := run(t, env, "user", "role", "--email", "gp@greenfield.demo", "--role", "admin"); code != 0 || !strings.Contains(out, "Administrator") {
		t.Fatalf("promote: exit %d %s", code, out)
	}
	for _, sub := range []string{"deactivate", "reactivate", "reset-mfa", "logout", "sessions"} {
		if code, out, errOut := run(t, env, "user", sub, "--email", "reception@greenfield.demo"); code != 0 {
			t.Fatalf("%s: exit %d %s%s", sub, code, out, errOut)
		}
	}
	if code, _, errOut := run(t, env, "user", "logout", "--email", "nobody@greenfield.demo"); code != 1 || !strings.Contains(errOut, "not found") {
		t.Fatalf("unknown user: exit %d %s", code, errOut)
	}
	code, out, _ = run(t, env, "audit", "export", "--org", "http://ns.electronichealth.net.au/id/hi/hpio/1.0/"+org, "--format", "json")
	for _, action := range []string{"user.invited", "user.role_changed", "user.deactivated", "user.reactivated", "user.mfa_reset", "session.revoked_all"} {
		if code != 0 || !strings.Contains(out, `"Action": "`+action+`"`) {
			t.Errorf("audit lacks %s", action)
		}
	}
	if !strings.Contains(out, `"via": "cli"`) {
		t.Error("audit events do not say they came from the command line")
	}
}

func TestOrg_Settings(t *testing.T) {
	env := map[string]string{"DATABASE_URL": storetest.NewEmptyDatabase(t), "PORTAL_DATA_DIR": t.TempDir()}
	if code, _, errOut := run(t, env, "demo"); code != 0 {
		t.Fatalf("demo: %s", errOut)
	}
	org := demoOrg.hpio
	if code, out, _ := run(t, env, "org", "settings", "--org", org); code != 0 || !strings.Contains(out, demoOrg.name) {
		t.Fatalf("show: exit %d %s", code, out)
	}
	if code, _, errOut := run(t, env, "org", "settings", "--org", org, "--postcode", "12", "--receiving-facility", "A^B^C^D"); code != 2 ||
		!strings.Contains(errOut, "--postcode") || !strings.Contains(errOut, "--receiving-facility") {
		t.Fatalf("invalid: exit %d %s", code, errOut)
	}
	code, out, errOut := run(t, env, "org", "settings", "--org", org, "--suburb", "Greenfield", "--state", "nsw", "--require-totp=true")
	if code != 0 || !strings.Contains(out, "Greenfield") || !regexp.MustCompile(`Require TOTP:\s+true`).MatchString(out) || !regexp.MustCompile(`State:\s+NSW`).MatchString(out) {
		t.Fatalf("change: exit %d %s%s", code, out, errOut)
	}
	if code, out, errOut := run(t, env, "org", "settings", "--org", org, "--operator=false"); code != 0 || !regexp.MustCompile(`Operator:\s+false`).MatchString(out) {
		t.Fatalf("operator off: exit %d %s%s", code, out, errOut)
	}
	if code, _, errOut := run(t, env, "org", "settings", "--org", org, "--operator=maybe"); code != 2 || !strings.Contains(errOut, "--operator") {
		t.Fatalf("operator maybe: exit %d %s", code, errOut)
	}
	// A refused setting beside --operator changes nothing, the flag included.
	if code, _, _ := run(t, env, "org", "settings", "--org", org, "--operator=true", "--postcode", "12"); code != 2 {
		t.Fatalf("operator with a bad postcode: exit %d, want 2", code)
	}
	if _, out, _ := run(t, env, "org", "settings", "--org", org); !regexp.MustCompile(`Operator:\s+false`).MatchString(out) {
		t.Fatalf("a refused command changed the operator flag:\n%s", out)
	}
	if code, _, errOut := run(t, env, "org", "settings", "--org", "8003620000000000"); code == 0 {
		t.Fatalf("unknown organisation accepted: %s", errOut)
	}
}
