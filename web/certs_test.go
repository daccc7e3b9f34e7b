package web_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"html"
	"math/big"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/opensmd/portal/internal/auditcheck"
	"github.com/opensmd/portal/internal/auth"
	"github.com/opensmd/portal/internal/provider"
	"github.com/opensmd/portal/internal/smd/fault"
	"github.com/opensmd/portal/internal/smd/pki"
	"github.com/opensmd/portal/internal/store"
)

// webMaster is the master secret setup gives the web layer.
var webMaster = []byte(strings.Repeat("test-secret-", 4))

const p12Pass = "p12 test password"

// postFile submits a multipart form from the page at from, carrying its
// CSRF token, with files (field name → content) and plain fields.
func (br *browser) postFile(from, path string, fields map[string]string, files map[string][]byte) page {
	br.t.Helper()
	var ups []upload
	for k, v := range files {
		ups = append(ups, upload{k, k + ".bin", v})
	}
	return br.postMultipart(from, path, fields, ups...)
}

// testCA makes a CA and trusts it.
func testCA(t *testing.T, b *testBundle) *pki.CA {
	t.Helper()
	ca, err := pki.NewCA("Web TEST CA", pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provider.AddTrustAnchor(context.Background(), b.store, pki.EncodeCertPEM(ca.Cert)); err != nil {
		t.Fatal(err)
	}
	return ca
}

func orgCert(t *testing.T, ca *pki.CA, org store.Organisation, notAfter time.Time) (*x509.Certificate, *rsa.PrivateKey) {
	t.Helper()
	req := pki.Request{OrgURI: provider.OrgURI(org), Name: org.Name, Usage: pki.UsageAll, NotAfter: notAfter}
	if !notAfter.IsZero() {
		req.NotBefore = time.Now().Add(-time.Hour)
	}
	c, k, err := ca.Issue(req, pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c, k
}

func p12(t *testing.T, c *x509.Certificate, k *rsa.PrivateKey) []byte {
	t.Helper()
	b, err := pkcs12.Modern2023.Encode(k, c, nil, p12Pass)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var keyIDLink = regexp.MustCompile(`/admin/certificates/([0-9a-f-]{36})`)

// Upload errors are shown on the form, each on its field, keeping the
// start time typed; a good file imports and its details are shown.
func TestCertificates_UploadErrorsAndImport(t *testing.T) {
	b := setup(t)
	org, users := b.org(t, "Harbour Physio", "800362000000005")
	other, _ := b.org(t, "Other Clinic", "800362000000006")
	ca := testCA(t, b)
	br := b.browser(t)
	br.loginAdmin(users[store.RoleAdmin])

	good, goodKey := orgCert(t, ca, org, time.Time{})
	wrongOrg, wrongKey := orgCert(t, ca, other, time.Time{})
	tests := []struct {
		name   string
		fields map[string]string
		files  map[string][]byte
		field  string
		msg    string
	}{
		{"no file", map[string]string{"password": p12Pass}, nil, "file", "Choose the PKCS#12 file"},
		{"no password", map[string]string{}, map[string][]byte{"file": p12(t, good, goodKey)}, "password", "Enter the password"},
		{"wrong password", map[string]string{"password": "nope"}, map[string][]byte{"file": p12(t, good, goodKey)}, "password", "password does not open"},
		{"other organisation", map[string]string{"password": p12Pass}, map[string][]byte{"file": p12(t, wrongOrg, wrongKey)}, "file", "must name HPI-O " + org.HPIO},
		{"bad start time", map[string]string{"password": p12Pass, "active_from": "next tuesday"}, map[string][]byte{"file": p12(t, good, goodKey)}, "active_from", "Enter a date and time"},
	}
	for _, tt := range tests {
		p := br.postFile("/admin/certificates", "/admin/certificates/import", tt.fields, tt.files)
		if p.status != http.StatusUnprocessableEntity {
			t.Errorf("%s: status %d, want 422", tt.name, p.status)
			continue
		}
		errRe := regexp.MustCompile(`id="` + tt.field + `-error">([^<]*)<`)
		m := errRe.FindStringSubmatch(p.body)
		if m == nil || !strings.Contains(m[1], tt.msg) {
			t.Errorf("%s: field %s error %q, want %q", tt.name, tt.field, m, tt.msg)
		}
		if !strings.Contains(p.body, `id="`+tt.field+`"`) || !strings.Contains(p.body, `aria-describedby="`+tt.field) {
			t.Errorf("%s: field %s is not tied to its error", tt.name, tt.field)
		}
		if v := tt.fields["active_from"]; v != "" && !strings.Contains(p.body, `value="`+v+`"`) {
			t.Errorf("%s: the start time typed was lost", tt.name)
		}
		if strings.Contains(p.body, p12Pass) {
			t.Errorf("%s: the password is echoed on the page", tt.name)
		}
	}

	p := br.postFile("/admin/certificates", "/admin/certificates/import", map[string]string{"password": p12Pass},
		map[string][]byte{"file": p12(t, good, goodKey)})
	m := keyIDLink.FindStringSubmatch(p.location)
	if p.status != http.StatusSeeOther || m == nil {
		t.Fatalf("good import: %d %q", p.status, p.location)
	}
	d := br.get(p.location)
	for _, want := range []string{provider.OrgURI(org), "Active: signs and is published", "digitalSignature", "keyEncipherment",
		"trust anchor", "Certificate imported"} {
		if !strings.Contains(d.body, want) {
			t.Errorf("details page lacks %q", want)
		}
	}
	list := br.get("/admin/certificates")
	if !strings.Contains(list.body, m[1]) {
		t.Error("the list does not link the new certificate")
	}
	// The only valid certificate cannot be retired; the refusal is shown.
	r := br.post(p.location, p.location+"/retire", url.Values{"confirm": {"yes"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "only valid certificate") {
		t.Fatalf("retire the only certificate: %d", r.status)
	}
	r = br.post(p.location, p.location+"/retire", url.Values{})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="confirm-error"`) {
		t.Fatalf("retire without confirming: %d", r.status)
	}
	events, _ := b.store.FilterAuditEvents(context.Background(), store.AuditFilter{OrganisationID: org.ID, ActionPrefix: "certificate."})
	if len(events) != 1 || events[0].Action != provider.AuditCertImported || events[0].UserID != users[store.RoleAdmin].ID {
		t.Fatalf("audit: %+v", events)
	}
}

// Another organisation's certificates, notifications and audit rows are
// never visible: its certificate ID is "not found".
func TestCertificates_OrgIsolation(t *testing.T) {
	b := setup(t)
	orgA, usersA := b.org(t, "Clinic A", "800362000000007")
	_, usersB := b.org(t, "Clinic B", "800362000000008")
	ca := testCA(t, b)
	ctx := context.Background()
	c, k := orgCert(t, ca, orgA, time.Now().Add(20*24*time.Hour))
	key, err := provider.ImportPKCS12(ctx, b.store, webMaster, orgA, p12(t, c, k), p12Pass, provider.ImportOptions{Now: b.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	brA := b.browser(t)
	brA.loginAdmin(usersA[store.RoleAdmin])
	if p := brA.get("/admin/certificates"); !strings.Contains(p.body, `data-testid="notifications"`) {
		t.Fatal("clinic A has no expiry notification")
	}
	brB := b.browser(t)
	brB.loginAdmin(usersB[store.RoleAdmin])
	for _, path := range []string{"/admin/certificates/" + key.ID} {
		if p := brB.get(path); p.status != http.StatusNotFound {
			t.Errorf("B GET %s: %d, want 404", path, p.status)
		}
	}
	if p := brB.post("/admin/certificates", "/admin/certificates/"+key.ID+"/retire", url.Values{"confirm": {"yes"}}); p.status != http.StatusNotFound {
		t.Errorf("B retires A's certificate: %d, want 404", p.status)
	}
	if p := brB.post("/admin/certificates", "/admin/certificates/"+key.ID+"/schedule", url.Values{"active_from": {"2030-01-01T09:00"}}); p.status != http.StatusNotFound {
		t.Errorf("B schedules A's certificate: %d, want 404", p.status)
	}
	notes, _ := b.store.OpenNotifications(ctx, orgA.ID)
	if len(notes) != 1 {
		t.Fatalf("A's notifications: %d", len(notes))
	}
	if p := brB.post("/admin/certificates", "/admin/notifications/"+notes[0].ID+"/dismiss", url.Values{}); p.status != http.StatusNotFound {
		t.Errorf("B dismisses A's notification: %d, want 404", p.status)
	}
	list := brB.get("/admin/certificates")
	if strings.Contains(list.body, c.Subject.String()) || strings.Contains(list.body, html.EscapeString(notes[0].Text)) || strings.Contains(list.body, "data-testid=\"banner\"") {
		t.Error("B sees A's certificate, notification or banner")
	}
	if strings.Contains(brB.get("/dashboard").body, html.EscapeString(notes[0].Text)) {
		t.Error("B's dashboard shows A's notification")
	}
	// A's administrators also see it on the dashboard (its clinicians do
	// not), and can dismiss it from there.
	if !strings.Contains(brA.get("/dashboard").body, html.EscapeString(notes[0].Text)) {
		t.Error("A's dashboard does not show its notification to its administrator")
	}
	clin := b.browser(t)
	clin.login(usersA[store.RoleClinician])
	if strings.Contains(clin.get("/dashboard").body, `data-testid="notifications"`) {
		t.Error("a clinician's dashboard shows administrator notifications")
	}
	trust := brB.get("/admin/trust")
	if strings.Contains(trust.body, c.Subject.String()) || !strings.Contains(trust.body, "1 certificate(s) of other hosted organisations") {
		t.Error("B's trust page names A's certificate, or does not count it")
	}
	audit := brB.get("/admin/audit?action=certificate.")
	if strings.Contains(audit.body, "certificate.imported") {
		t.Error("B's audit viewer shows A's events")
	}
	exp := brB.get("/admin/audit/export?format=json")
	if strings.Contains(exp.body, orgA.ID) || strings.Contains(exp.body, "certificate.imported") {
		t.Error("B's export holds A's events")
	}
	// A dismisses its own notification, from the dashboard.
	if p := brA.post("/dashboard", "/admin/notifications/"+notes[0].ID+"/dismiss", url.Values{"back": {"/dashboard"}}); p.status != http.StatusSeeOther || p.location != "/dashboard" {
		t.Fatalf("A dismisses: %d to %q", p.status, p.location)
	}
	if left, err := b.store.OpenNotifications(ctx, orgA.ID); err != nil || len(left) != 0 {
		t.Fatal("notification still open after dismissing")
	}
}

var bannerRe = regexp.MustCompile(`data-testid="banner" data-level="([a-z]+)"`)

func bannerLevel(p page) string {
	if m := bannerRe.FindStringSubmatch(p.body); m != nil {
		return m[1]
	}
	return ""
}

// The expiry banner appears for administrators only, at six weeks
// (warning) and one week (urgent) before the active certificate expires,
// each threshold notified once.
func TestExpiryBanner_Thresholds(t *testing.T) {
	b := setup(t, func(p *auth.Policy) { p.IdleTimeout, p.AbsoluteTimeout = 2000*time.Hour, 2000*time.Hour })
	org, users := b.org(t, "Banner Clinic", "800362000000009")
	ca := testCA(t, b)
	c, k := orgCert(t, ca, org, b.clock.Now().Add(50*24*time.Hour))
	if _, err := provider.ImportPKCS12(context.Background(), b.store, webMaster, org, p12(t, c, k), p12Pass,
		provider.ImportOptions{Now: b.clock.Now}); err != nil {
		t.Fatal(err)
	}
	admin := b.browser(t)
	admin.loginAdmin(users[store.RoleAdmin])
	clin := b.browser(t)
	clin.login(users[store.RoleClinician])

	steps := []struct {
		advance time.Duration
		want    string
	}{
		{0, ""},                                 // 50 days left
		{8*24*time.Hour + time.Hour, "warning"}, // under 6 weeks
		{34 * 24 * time.Hour, "warning"},        // 7 days 23 hours left
		{24 * time.Hour, "urgent"},              // under a week
	}
	for i, s := range steps {
		b.clock.Add(s.advance)
		p := admin.get("/dashboard")
		if got := bannerLevel(p); got != s.want {
			t.Fatalf("step %d: admin banner %q, want %q", i, got, s.want)
		}
		if s.want != "" && (!strings.Contains(p.body, c.NotAfter.Format("2 January 2006")) || !strings.Contains(p.body, `href="/admin/certificates"`)) {
			t.Fatalf("step %d: the banner does not say when or link to the certificates", i)
		}
		if got := bannerLevel(clin.get("/dashboard")); got != "" {
			t.Fatalf("step %d: clinician sees banner %q", i, got)
		}
	}
	notes, err := b.store.OpenNotifications(context.Background(), org.ID)
	if err != nil || len(notes) != 2 {
		t.Fatalf("notifications: %d %v, want one per threshold", len(notes), err)
	}
}

// The audit viewer filters by action, user, dates and detail text, pages,
// and exports the filtered view as formula-safe CSV or JSON, audited.
func TestAudit_FiltersPagingExport(t *testing.T) {
	b := setup(t)
	org, users := b.org(t, "Audit Clinic", "800362000000010")
	ctx := context.Background()
	admin := users[store.RoleAdmin]
	add := func(action string, detail map[string]string, user string) {
		if err := b.store.Audit(ctx, store.AuditEvent{OrganisationID: org.ID, UserID: user, Action: action, Detail: detail}); err != nil {
			t.Fatal(err)
		}
	}
	// A display name that a spreadsheet would run as a formula.
	evil, err := b.store.CreateUser(ctx, store.NewUser{OrganisationID: org.ID, Email: "evil@audit.test",
		DisplayName: "=HYPERLINK(\"http://x\")", Role: store.RoleReception, PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	add("certificate.imported", map[string]string{"subject": "CN=x"}, evil.ID)
	add("trust.anchor_added", map[string]string{"subject": "CN=Needle CA"}, "")
	for i := 0; i < 55; i++ {
		add("message.viewed", map[string]string{"n": "x"}, users[store.RoleClinician].ID)
	}
	if _, err := auditcheck.Run(ctx, b.store, store.AuditCheckSchedule); err != nil {
		t.Fatal(err)
	}
	br := b.browser(t)
	br.loginAdmin(admin)

	p := br.get("/admin/audit?action=certificate.")
	if !strings.Contains(p.body, "certificate.imported") || strings.Contains(p.body, "message.viewed") || strings.Contains(p.body, "trust.anchor_added") {
		t.Fatal("action filter")
	}
	if !strings.Contains(p.body, `data-testid="chain-status"`) || !strings.Contains(p.body, "): intact") {
		t.Fatal("chain status missing")
	}
	if p := br.get("/admin/audit?q=needle"); !strings.Contains(p.body, "trust.anchor_added") || strings.Contains(p.body, "certificate.imported") {
		t.Fatal("detail text filter")
	}
	if p := br.get("/admin/audit?user=" + users[store.RoleClinician].ID); strings.Contains(p.body, "<td>certificate.imported") || !strings.Contains(p.body, "message.viewed") {
		t.Fatal("user filter")
	}
	today := time.Now().Format("2006-01-02")
	tomorrow := time.Now().AddDate(0, 0, 1).Format("2006-01-02")
	if p := br.get("/admin/audit?from=" + tomorrow); !strings.Contains(p.body, `data-testid="audit-empty"`) {
		t.Fatal("from filter")
	}
	if p := br.get("/admin/audit?action=certificate.&from=" + today + "&to=" + today); !strings.Contains(p.body, "certificate.imported") {
		t.Fatal("to is inclusive")
	}
	bad := br.get("/admin/audit?from=31/12/2026&q=keep+me")
	if bad.status != http.StatusUnprocessableEntity || !strings.Contains(bad.body, `id="from-error"`) || !strings.Contains(bad.body, `value="keep me"`) {
		t.Fatalf("bad date: %d", bad.status)
	}
	// Paging: 50 a page.
	first := br.get("/admin/audit?action=message.")
	if strings.Count(first.body, "<td>message.viewed</td>") != 50 || !strings.Contains(first.body, `data-testid="next-page"`) {
		t.Fatal("first page")
	}
	if second := br.get("/admin/audit?action=message.&page=2"); strings.Count(second.body, "<td>message.viewed</td>") != 5 {
		t.Fatal("second page")
	}
	csvPage := br.get("/admin/audit/export?format=csv&action=certificate.")
	if csvPage.status != http.StatusOK || !strings.Contains(csvPage.body, `'=HYPERLINK`) {
		t.Fatalf("csv export: %d %q", csvPage.status, csvPage.body)
	}
	if strings.Contains(csvPage.body, "message.viewed") || strings.Count(csvPage.body, "\n") != 2 {
		t.Fatalf("csv export is not the filtered view: %q", csvPage.body)
	}
	for _, line := range strings.Split(csvPage.body, "\n") {
		for _, cell := range strings.Split(line, ",") {
			if strings.HasPrefix(cell, "=") || strings.HasPrefix(cell, `"=`) {
				t.Fatalf("formula cell in CSV: %q", cell)
			}
		}
	}
	jsonPage := br.get("/admin/audit/export?format=json&q=needle")
	if jsonPage.status != http.StatusOK || !strings.Contains(jsonPage.body, "Needle CA") || strings.Contains(jsonPage.body, "HYPERLINK") {
		t.Fatalf("json export: %q", jsonPage.body)
	}
	exports, _ := b.store.FilterAuditEvents(ctx, store.AuditFilter{OrganisationID: org.ID, ActionPrefix: "audit.exported"})
	if len(exports) != 2 || exports[0].Detail["format"] != "json" || exports[0].UserID != admin.ID {
		t.Fatalf("exports audited: %+v", exports)
	}
}

// A CA and a CRL uploaded through the trust page: the revoked certificate
// is refused as a signer; an anchor with hosted dependents is removed only
// when confirmed.
func TestTrust_UploadAnchorCRLAndRemove(t *testing.T) {
	b := setup(t)
	org, users := b.org(t, "Trust Clinic", "800362000000011")
	ca, err := pki.NewCA("Uploaded TEST CA", pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	br := b.browser(t)
	br.loginAdmin(users[store.RoleAdmin])
	if p := br.postFile("/admin/trust", "/admin/trust", nil, map[string][]byte{"ca_file": []byte("junk")}); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `id="ca_file-error"`) {
		t.Fatalf("junk CA: %d", p.status)
	}
	if p := br.postFile("/admin/trust", "/admin/trust", nil, map[string][]byte{"ca_file": ca.Cert.Raw}); p.status != http.StatusSeeOther {
		t.Fatalf("add CA (DER): %d", p.status)
	}
	ctx := context.Background()
	revoked, rk := orgCert(t, ca, org, time.Time{})
	if _, err := provider.ImportPKCS12(ctx, b.store, webMaster, org, p12(t, revoked, rk), p12Pass, provider.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: time.Now().Add(-time.Minute), NextUpdate: time.Now().Add(24 * time.Hour),
		RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: revoked.SerialNumber, RevocationTime: time.Now()}}}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, ca.Cert, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	crlPEM := pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})
	if p := br.postFile("/admin/trust", "/admin/trust/crls", nil, map[string][]byte{"crl_file": crlPEM}); p.status != http.StatusSeeOther {
		t.Fatalf("upload CRL: %d %s", p.status, p.body)
	}
	list := br.get("/admin/trust")
	if !strings.Contains(list.body, `data-testid="crls"`) || !strings.Contains(list.body, "Your certificate") {
		t.Fatal("trust page lacks the CRL or the dependent certificate")
	}
	kr, err := provider.Load(ctx, b.store, webMaster)
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := fault.CodeOf(kr.Trust().CheckSigner(revoked, provider.OrgURI(org), time.Now())); code != fault.BadCertificateTransmitted {
		t.Fatalf("revoked signer on receipt: %q, want badCertificateTransmitted", code)
	}
	anchors, err := b.store.TrustAnchors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	path := "/admin/trust/" + anchors[0].ID + "/remove"
	if p := br.get(path); p.status != http.StatusOK || !strings.Contains(p.body, `name="confirm"`) {
		t.Fatalf("confirmation page: %d", p.status)
	}
	if p := br.post(path, path, url.Values{}); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `id="confirm-error"`) {
		t.Fatalf("remove unconfirmed: %d", p.status)
	}
	if p := br.post(path, path, url.Values{"confirm": {"yes"}}); p.status != http.StatusSeeOther {
		t.Fatalf("remove confirmed: %d", p.status)
	}
	events, _ := b.store.FilterAuditEvents(ctx, store.AuditFilter{OrganisationID: org.ID, ActionPrefix: "trust."})
	var actions []string
	for _, e := range events {
		actions = append(actions, e.Action)
	}
	if strings.Join(actions, ",") != "trust.anchor_removed,trust.crl_added,trust.anchor_added" {
		t.Fatalf("trust audit: %v", actions)
	}

	// The trust store is provider-wide: an administrator of an organisation
	// that does not operate the portal sees it and cannot change it.
	_, tenantUsers := b.org(t, "Tenant Clinic", "800362000000029")
	tenant := b.browser(t)
	tenant.loginAdmin(tenantUsers[store.RoleAdmin])
	if p := tenant.get("/admin/trust"); p.status != http.StatusOK || !strings.Contains(p.body, `data-testid="trust-read-only"`) ||
		strings.Contains(p.body, `action="/admin/trust"`) {
		t.Fatalf("tenant's trust page: %d, read-only notice or add form wrong", p.status)
	}
	if anchors, err = b.store.TrustAnchors(ctx); err != nil {
		t.Fatal(err)
	}
	if p := tenant.postFile("/admin/trust", "/admin/trust", nil, map[string][]byte{"ca_file": ca.Cert.Raw}); p.status != http.StatusForbidden {
		t.Fatalf("tenant adds a trust anchor: %d, want 403", p.status)
	}
	if p := tenant.postFile("/admin/trust", "/admin/trust/crls", nil, map[string][]byte{"crl_file": crlPEM}); p.status != http.StatusForbidden {
		t.Fatalf("tenant uploads a CRL: %d, want 403", p.status)
	}
	if after, err := b.store.TrustAnchors(ctx); err != nil || len(after) != len(anchors) {
		t.Fatalf("tenant changed the trust store: %d anchors, was %d", len(after), len(anchors))
	}
}
