package cli

import (
	"context"
	"crypto/x509"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opensmd/portal/internal/config"
	"github.com/opensmd/portal/internal/provider"
	"github.com/opensmd/portal/internal/smd/pki"
	"github.com/opensmd/portal/internal/store"
	"github.com/opensmd/portal/internal/store/storetest"
)

func TestProviderCLI_OrgTrustDirectoryOnFreshDatabase(t *testing.T) {
	dir := t.TempDir()
	pkiFixture(t, dir)
	env := map[string]string{"DATABASE_URL": storetest.NewEmptyDatabase(t), "PORTAL_DATA_DIR": filepath.Join(dir, "data")}
	gp, physio, ca := filepath.Join(dir, "gp"), filepath.Join(dir, "physio"), filepath.Join(dir, "ca", "ca.pem")

	ok := [][]string{
		{"org", "add", "--org-uri", gpURI, "--name", "TEST GP", "--cert", gp + "/cert.pem", "--key", gp + "/key.pem"},
		{"trust", "add", "--ca", ca},
		{"directory", "add", "--org-uri", physioURI, "--name", "TEST Physio", "--endpoint", "https://physio.example/smd",
			"--cert", physio + "/cert.pem", "--category", refCat, "--category", "http://example.org/category/letter"},
	}
	wantOut := []string{`Added key for organisation "TEST GP" (HPI-O 8003620000000013`, "Trusted CA CN=OpenSMD TEST Root CA", "2 service categories"}
	for i, args := range ok {
		code, out, errOut := run(t, env, args...)
		if code != 0 || !strings.Contains(out, wantOut[i]) || strings.Count(out, "\n") != 1 {
			t.Fatalf("%v: exit %d\n%s%s", args[:2], code, out, errOut)
		}
	}

	bad := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"org", "add", "--org-uri", gpURI, "--name", "TEST GP", "--cert", physio + "/cert.pem", "--key", physio + "/key.pem"}, 1, "does not name " + gpURI},
		{[]string{"org", "add", "--org-uri", gpURI, "--name", "TEST GP", "--cert", gp + "/cert.pem", "--key", physio + "/key.pem"}, 1, "private key does not match"},
		{[]string{"org", "add", "--org-uri", gpURI, "--name", "TEST GP", "--cert", gp + "/cert.pem", "--key", gp + "/key.pem"}, 1, "already stored"},
		{[]string{"org", "add", "--org-uri", gpURI, "--name", "TEST GP", "--cert", gp + "/nope.pem", "--key", gp + "/key.pem"}, 1, "read certificate file"},
		{[]string{"org", "add", "--org-uri", gpURI, "--cert", gp + "/cert.pem", "--key", gp + "/key.pem"}, 2, "--name"},
		{[]string{"trust", "add", "--ca", gp + "/cert.pem"}, 1, "not a CA certificate"},
		{[]string{"directory", "add", "--org-uri", physioURI, "--name", "P", "--endpoint", "http://physio.example/smd",
			"--cert", physio + "/cert.pem", "--category", refCat}, 1, "https://"},
		{[]string{"directory", "add", "--org-uri", physioURI, "--name", "P", "--endpoint", "https://physio.example/smd",
			"--cert", physio + "/cert.pem"}, 2, "--category"},
		{[]string{"org", "list"}, 2, "usage: portal org add"},
	}
	for _, tc := range bad {
		code, _, errOut := run(t, env, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) || strings.Contains(errOut, "PRIVATE KEY") {
			t.Fatalf("%v: exit %d, want %d with %q\n%s", tc.args, code, tc.code, tc.want, errOut)
		}
	}

	// What the commands stored: the key decrypts with the configured master
	// secret to the file's key, and the column never holds the plain DER.
	ctx := context.Background()
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	master, err := cfg.Secret()
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(ctx, env["DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	st := store.New(pool)
	org, err := st.OrganisationByHPIO(ctx, "8003620000000013")
	if err != nil {
		t.Fatal(err)
	}
	key, err := pki.LoadKeyFile(gp + "/key.pem")
	if err != nil {
		t.Fatal(err)
	}
	kr, err := provider.Load(ctx, st, master)
	if err != nil {
		t.Fatal(err)
	}
	if pairs := kr.KeyPairs(org.ID); len(pairs) != 1 || !pairs[0].Key.Equal(key) {
		t.Fatalf("stored key pairs: %d", len(pairs))
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	var n, plain int
	err = pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE position($1::bytea in key_enc) > 0) FROM org_keys`, der).Scan(&n, &plain)
	if err != nil || n != 1 || plain != 0 {
		t.Fatalf("org_keys: %d rows, %d holding the plain key (%v)", n, plain, err)
	}
	var anchors, entries int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM trust_anchors), (SELECT count(*) FROM directory_entries)`).Scan(&anchors, &entries); err != nil {
		t.Fatal(err)
	}
	if anchors != 1 || entries != 1 {
		t.Fatalf("%d anchors, %d directory entries", anchors, entries)
	}
}
