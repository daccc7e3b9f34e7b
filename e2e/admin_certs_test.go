//go:build linux

package e2e

import (
	"bytes"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/chromedp/chromedp"

	"github.com/opensmd/portal/internal/hi"
	"github.com/opensmd/portal/internal/smd/ns"
	"github.com/opensmd/portal/internal/smd/pki"
)

// The DEMO organisation `portal demo` loads (see internal/cli/demo.go).
const (
	demoAdmin    = "admin@greenfield.demo"
	demoPassword = "demo-password-not-for-real-use"
	demoOrgName  = "DEMO Greenfield Family Practice"
)

// runCLI runs the portal binary with args on inst's data, before the
// portal serves it.
func runCLI(t *testing.T, inst *instance, args ...string) string {
	t.Helper()
	cmd := exec.Command(portalBinary(t), args...)
	cmd.Env = portalEnv(inst)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("portal %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errOut.String())
	}
	return out.String()
}

// TestAdminCertificates: the DEMO organisation's active certificate
// expires in 30 days, so its administrator sees the expiry banner on every
// page; they upload a new PKCS#12 through the certificates page (first
// with a wrong password, shown on the field), see its details, and the
// banner goes away because the new certificate outlasts the old one.
func TestAdminCertificates(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end browser test: skipped with -short")
	}
	inst := newInstance(t)
	dir := t.TempDir()
	hpio := hi.WithCheckDigit("800362999900001")
	orgURI := ns.QualifierHPIO + hpio

	// Before the browser: schema, DEMO organisation, a trusted TEST CA and
	// a certificate that expires in 30 days.
	ca, err := pki.NewCA("E2E TEST CA", pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, pki.EncodeCertPEM(ca.Cert), 0o644); err != nil {
		t.Fatal(err)
	}
	expiring, expiringKey, err := ca.Issue(pki.Request{OrgURI: orgURI, Name: demoOrgName, Usage: pki.UsageAll,
		NotBefore: time.Now().Add(-300 * 24 * time.Hour), NotAfter: time.Now().Add(30 * 24 * time.Hour)}, pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := pki.WriteFiles(certFile, keyFile, expiring, expiringKey); err != nil {
		t.Fatal(err)
	}
	runCLI(t, inst, "migrate")
	runCLI(t, inst, "demo")
	runCLI(t, inst, "trust", "add", "--ca", caFile)
	runCLI(t, inst, "org", "add", "--org-uri", orgURI, "--name", demoOrgName, "--cert", certFile, "--key", keyFile)
	// The demo network brought a long-lived certificate of its own, which
	// would outlast the expiring one and so silence the warning: retire it.
	for _, line := range strings.Split(runCLI(t, inst, "cert", "list", "--org", orgURI), "\n") {
		if f := strings.Fields(line); len(f) > 1 && strings.Contains(line, "DEMO") && !strings.Contains(line, expiring.NotAfter.UTC().Format("2006-01-02")) && f[0] != "STATUS" {
			runCLI(t, inst, "cert", "retire", "--org", orgURI, "--ski", f[1])
		}
	}

	// The renewal NASH would send: a PKCS#12 file with its password.
	renewal, renewalKey, err := ca.Issue(pki.Request{OrgURI: orgURI, Name: demoOrgName + " 2028", Usage: pki.UsageAll}, pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const p12Password = "nash renewal password"
	p12, err := pkcs12.Modern2023.Encode(renewalKey, renewal, []*x509.Certificate{ca.Cert}, p12Password)
	if err != nil {
		t.Fatal(err)
	}
	p12File := filepath.Join(dir, "renewal.p12")
	if err := os.WriteFile(p12File, p12, 0o600); err != nil {
		t.Fatal(err)
	}

	p := startPortal(t, inst)
	ctx := newBrowser(t)

	// Sign in; administrators enrol in two-step sign-in first.
	wantPage(t, ctx, navigate(t, ctx, p.URL("/login")), "/login", 200)
	fill(t, ctx, "#email", demoAdmin, "#password", demoPassword)
	wantPage(t, ctx, click(t, ctx, `form[action="/login"] button[type=submit]`), "/account/mfa/enrol", 200)
	secret := strings.ReplaceAll(textOf(t, ctx, "[data-testid=totp-secret]"), " ", "")
	code, _ := nextTOTP(t, secret, 0)
	fill(t, ctx, "#code", code)
	wantPage(t, ctx, click(t, ctx, `form[action="/account/mfa/enrol"] button[type=submit]`), "/account/mfa/enrol", 200)
	wantPage(t, ctx, navigate(t, ctx, p.URL("/dashboard")), "/dashboard", 200)

	// The expiry banner, on every page, saying when and linking to the
	// certificates page.
	for _, path := range []string{"/dashboard", "/admin/users"} {
		wantPage(t, ctx, navigate(t, ctx, p.URL(path)), path, 200)
		banner := textOf(t, ctx, "[data-testid=banner]")
		if !strings.Contains(banner, expiring.NotAfter.Local().Format("2 January 2006")) && !strings.Contains(banner, expiring.NotAfter.Format("2 January 2006")) {
			t.Errorf("%s: banner %q does not say when the certificate expires", path, banner)
		}
		if !exists(t, ctx, `[data-testid=banner][data-level=warning] a[href="/admin/certificates"]`) {
			t.Errorf("%s: no warning banner linking to /admin/certificates", path)
		}
	}
	wantPage(t, ctx, navigate(t, ctx, p.URL("/dashboard")), "/dashboard", 200)
	if !exists(t, ctx, "[data-testid=notifications]") {
		t.Error("no expiry notification on the administrator's dashboard")
	}
	screenshot(t, ctx, "expiry-banner")
	wantPage(t, ctx, click(t, ctx, `[data-testid=banner] a`), "/admin/certificates", 200)
	if got := textOf(t, ctx, "[data-testid=certs] [data-testid=cert-status]"); !strings.Contains(got, "Active") {
		t.Errorf("status of the installed certificate = %q", got)
	}
	if !exists(t, ctx, "[data-testid=notifications]") {
		t.Error("no expiry notification on the certificates page")
	}
	screenshot(t, ctx, "certificates")

	// A wrong password is shown on its field; nothing is lost but the
	// password (never echoed).
	act(t, ctx, "choose the PKCS#12 file", chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{p12File}))
	fill(t, ctx, "#password", "not the password")
	wantPage(t, ctx, click(t, ctx, `[data-testid=import-form] button[type=submit]`), "/admin/certificates/import", 422)
	if msg := textOf(t, ctx, "#password-error"); !strings.Contains(msg, "password does not open") {
		t.Errorf("password field error = %q", msg)
	}
	if !exists(t, ctx, `#password[aria-invalid="true"][aria-describedby~="password-error"]`) {
		t.Error("password field not marked invalid and tied to its error")
	}
	screenshot(t, ctx, "import-wrong-password")

	act(t, ctx, "choose the PKCS#12 file", chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{p12File}))
	fill(t, ctx, "#password", p12Password)
	click(t, ctx, `[data-testid=import-form] button[type=submit]`)
	if path := currentPath(t, ctx); !strings.HasPrefix(path, "/admin/certificates/") || path == "/admin/certificates/import" {
		t.Fatalf("after the import the browser is on %s", path)
	}
	details := textOf(t, ctx, "[data-testid=cert-details]")
	for _, want := range []string{orgURI, "keyEncipherment", "digitalSignature", renewal.Subject.String(), "Active"} {
		if !strings.Contains(details, want) {
			t.Errorf("certificate details lack %q:\n%s", want, details)
		}
	}
	if chain := texts(t, ctx, "[data-testid=chain] li"); len(chain) != 2 || !strings.Contains(chain[1], "trust anchor") {
		t.Errorf("chain = %q, want the certificate and its trust anchor", chain)
	}
	if exists(t, ctx, "[data-testid=banner]") {
		t.Error("the expiry banner is still shown after installing a certificate that outlasts the old one")
	}
	screenshot(t, ctx, "certificate-details")

	// At phone width the details page still reads.
	act(t, ctx, "narrow the window", chromedp.EmulateViewport(375, 800))
	screenshot(t, ctx, "certificate-details-375")
	wantPage(t, ctx, navigate(t, ctx, p.URL("/admin/certificates")), "/admin/certificates", 200)
	// The expiring one, the renewal, and the demo's retired certificate.
	if n := len(texts(t, ctx, "[data-testid=certs] tbody tr")); n != 3 {
		t.Errorf("certificates listed: %d, want 3", n)
	}
	screenshot(t, ctx, "certificates-after-import-375")

	// The audit trail shows the chain check recorded by the job that runs
	// at start-up (or that none has finished yet), without re-hashing it.
	wantPage(t, ctx, navigate(t, ctx, p.URL("/admin/audit")), "/admin/audit", 200)
	if status := textOf(t, ctx, "[data-testid=chain-status]"); !strings.Contains(status, "intact") && !strings.Contains(status, "Not verified yet") {
		t.Errorf("audit chain status %q", status)
	}
	screenshot(t, ctx, "audit-375")
}
