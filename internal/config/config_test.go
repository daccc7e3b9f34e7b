package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoad_Defaults(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.Addr != "127.0.0.1:8080" || c.HTTP.BaseURL != "http://127.0.0.1:8080" {
		t.Errorf("http defaults: %+v", c.HTTP)
	}
	if c.Session.IdleTimeout != 15*time.Minute {
		t.Errorf("idle timeout = %v", c.Session.IdleTimeout)
	}
	if c.AuditVerifyEvery != time.Hour {
		t.Errorf("audit verify every = %v", c.AuditVerifyEvery)
	}
	if c.SecretKeyFile != filepath.Join("var", "secret.key") {
		t.Errorf("secret file = %q", c.SecretKeyFile)
	}
}

func TestLoad_ErrorsNameTheVariable(t *testing.T) {
	scenarios := map[string]map[string]string{
		"PORTAL_HTTP_ADDR":            {"PORTAL_HTTP_ADDR": "localhost"},
		"PORTAL_SESSION_IDLE_TIMEOUT": {"PORTAL_SESSION_IDLE_TIMEOUT": "soon"},
		"PORTAL_LOGIN_MAX_FAILURES":   {"PORTAL_LOGIN_MAX_FAILURES": "five"},
		"DATABASE_URL":                {"DATABASE_URL": "mysql://x"},
		"DATABASE_URL ":               {"DATABASE_URL": "host=/tmp port=notaport"},
		"PORTAL_LOG_LEVEL":            {"PORTAL_LOG_LEVEL": "loud"},
		"PORTAL_HTTP_TLS_CERT":        {"PORTAL_HTTP_TLS_CERT": "cert.pem"},
		"PORTAL_SECRET_KEY":           {"PORTAL_SECRET_KEY": "short"},
		"PORTAL_TRUSTED_PROXIES":      {"PORTAL_TRUSTED_PROXIES": "10.0.0.0/8,nonsense"},
		"PORTAL_SESSION_MAX_AGE":      {"PORTAL_SESSION_MAX_AGE": "1m"},
		"PORTAL_SMD_TLS_CERT":         {"PORTAL_SMD_ADDR": "127.0.0.1:8443", "PORTAL_SMD_PROVIDER_URI": "urn:x"},
		"PORTAL_SMD_PROVIDER_URI":     {"PORTAL_SMD_ADDR": "127.0.0.1:8443", "PORTAL_SMD_TLS_CERT": "c", "PORTAL_SMD_TLS_KEY": "k"},
		"PORTAL_SMD_MAX_BYTES":        {"PORTAL_SMD_MAX_BYTES": "10"},
		"PORTAL_AUDIT_VERIFY_EVERY":   {"PORTAL_AUDIT_VERIFY_EVERY": "30s"},
	}
	for name, vars := range scenarios {
		t.Run(name, func(t *testing.T) {
			_, err := Load(env(vars))
			if err == nil || !strings.Contains(err.Error(), strings.TrimSpace(name)) {
				t.Fatalf("error %v does not name %s", err, name)
			}
		})
	}
}

func TestSecret_CreatedOnceAndKept(t *testing.T) {
	dir := t.TempDir()
	c, err := Load(env(map[string]string{"PORTAL_DATA_DIR": dir}))
	if err != nil {
		t.Fatal(err)
	}
	k1, err := c.Secret()
	if err != nil {
		t.Fatal(err)
	}
	k2, err := c.Secret()
	if err != nil {
		t.Fatal(err)
	}
	if len(k1) < 32 || string(k1) != string(k2) {
		t.Fatalf("secret not stable: %d bytes", len(k1))
	}
	fi, err := os.Stat(c.SecretKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("secret file mode %v", fi.Mode().Perm())
	}
}

func TestRedacted_HidesSecrets(t *testing.T) {
	c, err := Load(env(map[string]string{
		"DATABASE_URL":      "postgres://app:hunter2hunter2@db/portal?sslmode=disable",
		"PORTAL_SECRET_KEY": strings.Repeat("s3cret", 8),
	}))
	if err != nil {
		t.Fatal(err)
	}
	out := strings.Join(c.Redacted(), "\n")
	if strings.Contains(out, "hunter2") || strings.Contains(out, "s3cret") {
		t.Fatalf("secret leaked:\n%s", out)
	}
	if !strings.Contains(out, "REDACTED") {
		t.Fatalf("no redaction marker:\n%s", out)
	}
}

func TestLoad_FHIRRemotes(t *testing.T) {
	c, err := Load(env(map[string]string{"PORTAL_FHIR_REMOTES": " https://dir.example.org/fhir/ ,http://127.0.0.1:9000/fhir,, http://localhost/fhir/ ,http://[::1]:8/fhir"}))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"https://dir.example.org/fhir/", "http://127.0.0.1:9000/fhir", "http://localhost/fhir/", "http://[::1]:8/fhir"}; strings.Join(c.FHIRRemotes, " ") != strings.Join(want, " ") {
		t.Errorf("remotes %q", c.FHIRRemotes)
	}
	if c, err := Load(env(nil)); err != nil || c.FHIRRemotes != nil {
		t.Errorf("default remotes %q %v", c.FHIRRemotes, err)
	}
	for _, bad := range []string{
		"http://dir.example.org/fhir/", // plain http off loopback
		"dir.example.org/fhir",         // not absolute
		"ftp://dir.example.org/fhir",
		"https:///fhir",
		"https://user:pw@dir.example.org/fhir",
		"https://dir.example.org/fhir?x=1",
		"http://127.0.0.1.example.org/fhir",
	} {
		_, err := Load(env(map[string]string{"PORTAL_FHIR_REMOTES": "https://ok.example.org/fhir," + bad}))
		if err == nil || !strings.Contains(err.Error(), "PORTAL_FHIR_REMOTES") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// The profiler has no sign-in: it may only listen on loopback.
func TestLoad_DebugAddrLoopbackOnly(t *testing.T) {
	if c, err := Load(env(map[string]string{"PORTAL_DEBUG_ADDR": "127.0.0.1:6060"})); err != nil || c.DebugAddr != "127.0.0.1:6060" {
		t.Errorf("loopback: %q %v", c.DebugAddr, err)
	}
	for _, bad := range []string{"0.0.0.0:6060", "192.0.2.1:6060", "localhost:6060", ":6060"} {
		if _, err := Load(env(map[string]string{"PORTAL_DEBUG_ADDR": bad})); err == nil || !strings.Contains(err.Error(), "PORTAL_DEBUG_ADDR") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
