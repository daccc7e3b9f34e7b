package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/opensmd/portal/internal/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

func run(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), args, func(k string) string { return env[k] }, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestConfigCheck(t *testing.T) {
	code, out, _ := run(t, map[string]string{"DATABASE_URL": "postgres://u:topsecret@db/p"}, "config", "check")
	if code != 0 || !strings.Contains(out, "Configuration is valid.") || strings.Contains(out, "topsecret") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	code, _, errOut := run(t, map[string]string{"PORTAL_LOGIN_LOCKOUT": "forever"}, "config", "check")
	if code != 1 || !strings.Contains(errOut, "PORTAL_LOGIN_LOCKOUT") {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
}

func TestUnknownCommandAndUsage(t *testing.T) {
	if code, _, errOut := run(t, nil, "frobnicate"); code != 2 || !strings.Contains(errOut, "unknown command") {
		t.Fatalf("exit %d %s", code, errOut)
	}
	if code, out, _ := run(t, nil, "help"); code != 0 || !strings.Contains(out, "serve") {
		t.Fatalf("help: %d %s", code, out)
	}
}

func TestServe_RefusesSchemaBehindUntilMigrated(t *testing.T) {
	env := map[string]string{"DATABASE_URL": storetest.NewEmptyDatabase(t), "PORTAL_DATA_DIR": t.TempDir(), "PORTAL_HTTP_ADDR": "127.0.0.1:0"}
	code, _, errOut := run(t, env, "serve")
	if code != 1 || !strings.Contains(errOut, "portal migrate") {
		t.Fatalf("serve on an empty schema: exit %d\n%s", code, errOut)
	}
	if code, out, errOut := run(t, env, "migrate"); code != 0 || !strings.Contains(out, "up to date") {
		t.Fatalf("migrate: exit %d\n%s%s", code, out, errOut)
	}
}

func TestDemo_LoadsOnceAndIsIdempotent(t *testing.T) {
	env := map[string]string{"DATABASE_URL": storetest.NewEmptyDatabase(t), "PORTAL_DATA_DIR": t.TempDir()}
	code, out, errOut := run(t, env, "demo")
	if code != 0 || !strings.Contains(out, "Loaded the DEMO network") || !strings.Contains(out, "gp@greenfield.demo") {
		t.Fatalf("demo: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ := run(t, env, "demo"); code != 0 || !strings.Contains(out, "already loaded") {
		t.Fatalf("second demo: exit %d\n%s", code, out)
	}
}
