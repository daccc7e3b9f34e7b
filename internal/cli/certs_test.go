package cli

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/opensmd/portal/internal/smd/pki"
	"github.com/opensmd/portal/internal/store/storetest"
)

// The cert and trust commands on a fresh database: import a PKCS#12 for
// later, list, CSR and install, retire with its refusal, trust list and
// remove (refused without --force while certificates depend on it); each
// change audited.
func TestCertCLI(t *testing.T) {
	dir := t.TempDir()
	pkiFixture(t, dir)
	dbURL := storetest.NewEmptyDatabase(t)
	env := map[string]string{"DATABASE_URL": dbURL, "PORTAL_DATA_DIR": filepath.Join(dir, "data")}
	gp, caDir := filepath.Join(dir, "gp"), filepath.Join(dir, "ca")
	mustRun := func(want string, args ...string) string {
		t.Helper()
		code, out, errOut := run(t, env, args...)
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("%v: exit %d, want %q\n%s%s", args, code, want, out, errOut)
		}
		return out
	}
	mustFail := func(want string, args ...string) {
		t.Helper()
		code, out, errOut := run(t, env, args...)
		if code == 0 || !strings.Contains(errOut, want) {
			t.Fatalf("%v: exit %d, want failure %q\n%s%s", args, code, want, out, errOut)
		}
	}
	mustRun("Added key", "org", "add", "--org-uri", gpURI, "--name", "TEST GP", "--cert", gp+"/cert.pem", "--key", gp+"/key.pem")
	mustRun("Trusted CA", "trust", "add", "--ca", filepath.Join(caDir, "ca.pem"))
	hpio := strings.TrimPrefix(gpURI, "http://ns.electronichealth.net.au/id/hi/hpio/1.0/")

	// A second certificate from the same CA, as a PKCS#12, for next week.
	mustRun("Issued", "pki", "issue", "--ca", caDir, "--org-uri", gpURI, "--name", "TEST GP 2027", "--out", filepath.Join(dir, "gp2"))
	cert, err := pki.LoadCertFile(filepath.Join(dir, "gp2", "cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := pki.LoadKeyFile(filepath.Join(dir, "gp2", "key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	p12, err := pkcs12.Modern2023.Encode(key, cert[0], nil, "s3cret pass")
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	p12File, passFile, badPass := write("gp2.p12", p12), write("pass.txt", []byte("s3cret pass\n")), write("bad.txt", []byte("nope\n"))
	mustFail("password does not open", "cert", "import", "--org", hpio, "--p12", p12File, "--password-file", badPass)
	next := time.Now().Add(7 * 24 * time.Hour).UTC().Format(time.RFC3339)
	mustRun("in use from "+next, "cert", "import", "--org", hpio, "--p12", p12File, "--password-file", passFile, "--active-from", next)
	list := mustRun("scheduled", "cert", "list", "--org", hpio)
	if !strings.Contains(list, "active") || !strings.Contains(list, "TEST GP 2027") {
		t.Fatalf("list:\n%s", list)
	}
	oldSKI := hex.EncodeToString(mustCert(t, filepath.Join(gp, "cert.pem")).SubjectKeyId)
	mustFail("only valid certificate", "cert", "retire", "--org", hpio, "--ski", oldSKI)

	// CSR, signed by the test CA, installed to take over now.
	csrFile := filepath.Join(dir, "gp3.csr")
	mustRun("wrote its CSR", "cert", "csr", "--org", hpio, "--out", csrFile)
	if !strings.Contains(mustRun("pending", "cert", "list", "--org", hpio), "pending") {
		t.Fatal("no pending key listed")
	}
	csrPEM, _ := os.ReadFile(csrFile)
	block, _ := pem.Decode(csrPEM)
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	caCert := mustCert(t, filepath.Join(caDir, "ca.pem"))
	caKey, err := pki.LoadKeyFile(filepath.Join(caDir, "ca-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: csr.Subject, URIs: csr.URIs, NotBefore: time.Now().Add(-time.Minute),
		NotAfter: time.Now().Add(90 * 24 * time.Hour), SubjectKeyId: []byte{9, 8, 7, 6},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, csr.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	mustRun("Installed", "cert", "install", "--org", hpio, "--cert", write("gp3.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	mustRun("Retired", "cert", "retire", "--org", hpio, "--ski", oldSKI)
	mustFail("no certificate in use", "cert", "retire", "--org", hpio, "--ski", oldSKI)

	trust := mustRun("hosted certificates 2", "trust", "list")
	id := regexp.MustCompile(`^[0-9a-f-]{36}`).FindString(trust)
	mustFail("Pass --force", "trust", "remove", "--id", id)
	mustRun("removed", "trust", "remove", "--id", id, "--force")
	mustRun("No trust anchors", "trust", "list")

	db, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var actions string
	if err := db.QueryRow(context.Background(), `SELECT string_agg(action, ',' ORDER BY id) FROM audit_events
		WHERE action LIKE 'certificate.%' OR action LIKE 'trust.%'`).Scan(&actions); err != nil {
		t.Fatal(err)
	}
	want := "trust.anchor_added,certificate.imported,certificate.csr_created,certificate.imported,certificate.retired,trust.anchor_removed"
	if actions != want {
		t.Fatalf("audit: %s\nwant   %s", actions, want)
	}
}

func mustCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	c, err := pki.LoadCertFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return c[0]
}
