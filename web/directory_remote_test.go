package web_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opensmd/portal/internal/fhirpd"
	"github.com/opensmd/portal/internal/fhirserve"
	"github.com/opensmd/portal/internal/hi"
	"github.com/opensmd/portal/internal/provider"
	"github.com/opensmd/portal/internal/smd/pki"
	"github.com/opensmd/portal/internal/store"
	"github.com/opensmd/portal/internal/store/storetest"
	"github.com/opensmd/portal/web"
)

// remoteCerts publishes one encryption certificate per organisation.
type remoteCerts map[string]*x509.Certificate

func (c remoteCerts) Endpoint(_ context.Context, orgID string) (string, *x509.Certificate, error) {
	return "https://smd.remote.test/smd", c[orgID], nil
}

// encryptionCert is a remote organisation's published certificate.
func encryptionCert(t *testing.T, orgURI, name string) *x509.Certificate {
	t.Helper()
	ca, err := pki.NewCA("Remote TEST CA", pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cert, _, err := ca.Issue(pki.Request{OrgURI: orgURI, Name: name, Usage: pki.UsageAll}, pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// remoteProvider is another portal's /fhir/ (a real fhirserve on its own
// database) publishing Bayside Physio with two practitioners; hits
// counts its requests.
type remoteProvider struct {
	srv   *httptest.Server
	org   store.Organisation
	users []store.User
	hits  atomic.Int64
}

func newRemoteProvider(t *testing.T) *remoteProvider {
	t.Helper()
	ctx := context.Background()
	st := store.New(storetest.DB(t))
	o, err := st.CreateOrganisation(ctx, "Bayside Physio", hi.WithCheckDigit("800362000000077"))
	if err != nil {
		t.Fatal(err)
	}
	rp := &remoteProvider{org: o}
	for i, name := range []string{"Dr Remy Faraway", "Dr Rhoda Faraway"} {
		u, err := st.CreateUser(ctx, store.NewUser{OrganisationID: o.ID, Email: "p" + string(rune('a'+i)) + "@bayside.test",
			DisplayName: name, Role: store.RoleClinician, PasswordHash: "x"})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.SetUserHPII(ctx, o.ID, u.ID, hi.WithCheckDigit("80036100000077"+string(rune('1'+i)))); err != nil {
			t.Fatal(err)
		}
		rp.users = append(rp.users, u)
	}
	if _, err := provider.SyncHostedListings(ctx, st); err != nil {
		t.Fatal(err)
	}
	s := &fhirserve.Server{Store: st, Publisher: remoteCerts{o.ID: encryptionCert(t, fhirpd.HPIOURIPrefix+o.HPIO, "Bayside Physio")}}
	rp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rp.hits.Add(1)
		res, err := s.Search(r.Context(), "http://"+r.Host+"/fhir", strings.TrimPrefix(r.URL.Path, "/fhir/"), r.URL.Query())
		status := http.StatusOK
		if err != nil {
			status, res = fhirserve.Outcome(err)
		}
		w.Header().Set("Content-Type", "application/fhir+json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(res)
	}))
	t.Cleanup(rp.srv.Close)
	return rp
}

func (rp *remoteProvider) base() string { return rp.srv.URL + "/fhir/" }
func (rp *remoteProvider) host() string { u, _ := url.Parse(rp.srv.URL); return u.Host }

func withRemotes(timeout time.Duration, bases ...string) func(*web.Deps) {
	return func(d *web.Deps) { d.FHIRRemotes, d.RemoteTimeout = bases, timeout }
}

// actionCount counts audit events of action, whatever their organisation.
func actionCount(t *testing.T, b *testBundle, action string) int {
	t.Helper()
	var n int
	if err := b.store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM audit_events WHERE action = $1`, action).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// section is the HTML from the element with data-testid=id to the end.
func section(body, id string) string {
	if i := strings.Index(body, `data-testid="`+id+`"`); i >= 0 {
		return body[i:]
	}
	return ""
}

func TestDirectoryRemote_SearchAddThenLocal(t *testing.T) {
	rp := newRemoteProvider(t)
	b := setupWith(t, withRemotes(3*time.Second, rp.base()))
	_, users := b.org(t, "Org A", "800362000000001")
	if _, err := b.store.UpsertListing(context.Background(), store.Listing{Kind: store.ListingPractitioner, Name: "Dr Local Faraway",
		Source: store.SourceManual, SourceRef: "manual/faraway"}); err != nil {
		t.Fatal(err)
	}
	br := b.browser(t)
	br.login(users[store.RoleReception])

	p := br.get("/directory?q=Faraway")
	if p.status != http.StatusOK {
		t.Fatalf("search: %d", p.status)
	}
	local, remote := p.body, section(p.body, "remote-results")
	if i := strings.Index(local, `data-testid="remote-results"`); i >= 0 {
		local = local[:i]
	}
	if !strings.Contains(local, "1 result") || !strings.Contains(local, "Dr Local Faraway") || strings.Contains(local, "Remy") {
		t.Errorf("local results changed by the remote search:\n%s", local)
	}
	if remote == "" || !strings.Contains(remote, "From other directories") || !strings.Contains(remote, rp.host()) {
		t.Fatalf("no remote section labelled %s:\n%s", rp.host(), p.body)
	}
	if n := strings.Count(remote, `data-testid="remote-result"`); n != 2 {
		t.Errorf("%d remote results, want 2", n)
	}
	// An HPI-I from a letter finds the one practitioner there.
	byHPII := section(br.get("/directory?q="+url.QueryEscape(hi.WithCheckDigit("800361000000771"))).body, "remote-results")
	if strings.Count(byHPII, `data-testid="remote-result"`) != 1 || !strings.Contains(byHPII, "Dr Remy Faraway") {
		t.Errorf("HPI-I search of the remote:\n%s", byHPII)
	}
	docType := provider.DocumentTypes([]string{provider.CategoryReferral})[0]
	for _, want := range []string{"Dr Remy Faraway", "Dr Rhoda Faraway", "Bayside Physio", `data-testid="reachable"`, docType,
		`data-testid="remote-add"`, `name="_csrf"`, `name="remote" value="0"`, `name="org" value="` + rp.org.ID + `"`} {
		if !strings.Contains(remote, want) {
			t.Errorf("remote section lacks %q", want)
		}
	}
	if strings.Contains(remote, "remote-error") {
		t.Errorf("a working remote shows an error")
	}

	before := actionCount(t, b, provider.AuditDirectoryImported)
	p = br.post("/directory?q=Faraway", "/directory/remote", url.Values{"remote": {"0"}, "org": {rp.org.ID}, "role": {rp.users[0].ID}})
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/directory/") {
		t.Fatalf("add: %d %q %s", p.status, p.location, p.body)
	}
	if got := actionCount(t, b, provider.AuditDirectoryImported); got != before+1 {
		t.Errorf("directory.imported audited %d times, want 1", got-before)
	}
	var who, source string
	_ = b.store.Pool().QueryRow(context.Background(), `SELECT coalesce(user_id::text, ''), detail->>'source' FROM audit_events
		WHERE action = $1 ORDER BY id DESC LIMIT 1`, provider.AuditDirectoryImported).Scan(&who, &source)
	if u, _ := url.Parse(rp.base()); who != users[store.RoleReception].ID || source != "remote "+u.Host {
		t.Errorf("directory.imported by %q from %q, want the signed-in user and the remote's host", who, source)
	}
	listing := br.get(p.location)
	if listing.status != http.StatusOK || !strings.Contains(listing.body, "Dr Remy Faraway") || !strings.Contains(listing.body, "Can receive secure messages") ||
		!strings.Contains(listing.body, "https://smd.remote.test/smd") {
		t.Errorf("imported listing page: %d", listing.status)
	}
	ls, total, err := b.store.SearchListings(context.Background(), store.ListingSearch{Source: store.SourceImport, Limit: 10})
	if err != nil || total != 3 { // the organisation and both practitioners
		t.Fatalf("imported listings: %d %v %+v", total, err, ls)
	}

	// Now found here, and the remote rows are marked, not offered again.
	p = br.get("/directory?q=Faraway")
	local, remote = p.body, section(p.body, "remote-results")
	if i := strings.Index(local, `data-testid="remote-results"`); i >= 0 {
		local = local[:i]
	}
	if !strings.Contains(local, "3 results") || !strings.Contains(local, "Dr Remy Faraway") {
		t.Errorf("imported practitioners not found locally:\n%s", local)
	}
	if strings.Count(remote, `data-testid="remote-known"`) != 2 || strings.Contains(remote, `data-testid="remote-add"`) {
		t.Errorf("remote rows already here are not marked:\n%s", remote)
	}
	// Adding again only refreshes the listings: the remote publishes the
	// address and certificate we have.
	p = br.post("/directory", "/directory/remote", url.Values{"remote": {"0"}, "org": {rp.org.ID}})
	if p.status != http.StatusSeeOther || actionCount(t, b, provider.AuditDirectoryImported) != before+2 {
		t.Errorf("second add of the same organisation: %d", p.status)
	}
	// An add never swaps the address or certificate we have for the
	// remote's, nor touches an organisation hosted here.
	if _, err := b.store.Pool().Exec(context.Background(), `UPDATE directory_entries SET endpoint_url = 'https://smd.elsewhere.test/smd'
		WHERE org_uri = $1`, fhirpd.HPIOURIPrefix+rp.org.HPIO); err != nil {
		t.Fatal(err)
	}
	p = br.post("/directory", "/directory/remote", url.Values{"remote": {"0"}, "org": {rp.org.ID}})
	if p.status != http.StatusConflict || !strings.Contains(p.body, "different secure-messaging address or certificate") {
		t.Errorf("add over a different address: %d", p.status)
	}
	b.org(t, "Bayside Physio (hosted here)", "800362000000077")
	p = br.post("/directory", "/directory/remote", url.Values{"remote": {"0"}, "org": {rp.org.ID}})
	if p.status != http.StatusConflict || !strings.Contains(p.body, "is hosted here") {
		t.Errorf("add over a hosted organisation: %d", p.status)
	}
	if got := actionCount(t, b, provider.AuditDirectoryImported); got != before+2 {
		t.Errorf("a refused add imported")
	}
	var endpoint string
	_ = b.store.Pool().QueryRow(context.Background(), `SELECT endpoint_url FROM directory_entries WHERE org_uri = $1`,
		fhirpd.HPIOURIPrefix+rp.org.HPIO).Scan(&endpoint)
	if endpoint != "https://smd.elsewhere.test/smd" {
		t.Errorf("a refused add changed the endpoint to %s", endpoint)
	}
}

func TestDirectoryRemote_FailuresShowPlainLines(t *testing.T) {
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(time.Minute):
		}
	}))
	t.Cleanup(hang.Close)
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	}))
	t.Cleanup(broken.Close)
	garbage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("<html>definitely not FHIR"))
	}))
	t.Cleanup(garbage.Close)
	b := setupWith(t, withRemotes(500*time.Millisecond, hang.URL+"/fhir/", broken.URL+"/fhir/", garbage.URL+"/fhir/"))
	reachable, _ := directoryFixture(t, b)
	_, users := b.org(t, "Org A", "800362000000001")
	br := b.browser(t)
	br.login(users[store.RoleClinician])

	start := time.Now()
	p := br.get("/directory?q=Citizen")
	// The hanging remote would hold the page for a minute: the bound
	// (0.5 s here) must cut it off. The margin is for a loaded machine.
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("search took %v: the remote's time limit did not cut it off", took)
	}
	if p.status != http.StatusOK {
		t.Fatalf("search with failing remotes: %d", p.status)
	}
	if !strings.Contains(p.body, "1 result") || !strings.Contains(p.body, "/directory/"+reachable.ID) {
		t.Errorf("local results missing")
	}
	errs := regexp.MustCompile(`data-testid="remote-error">([^<]*)<`).FindAllStringSubmatch(p.body, -1)
	if len(errs) != 3 {
		t.Fatalf("%d remote-error lines, want 3:\n%s", len(errs), section(p.body, "remote-results"))
	}
	host := func(s *httptest.Server) string { u, _ := url.Parse(s.URL); return u.Host }
	for i, want := range []string{host(hang) + " did not answer within 0.5 seconds.", host(broken) + " could not search its directory just now",
		host(garbage) + " answered with something that is not a provider directory"} {
		if !strings.HasPrefix(errs[i][1], want) {
			t.Errorf("error line %d %q, want %q…", i, errs[i][1], want)
		}
	}
	// An HPI-O search names an organisation: other directories are not
	// asked for one.
	if p := br.get("/directory?q=" + url.QueryEscape(hi.WithCheckDigit("800362000000077"))); strings.Contains(p.body, "remote-results") {
		t.Errorf("an HPI-O search asked the remotes")
	}
}

func TestDirectoryRemote_AddRefusals(t *testing.T) {
	rp := newRemoteProvider(t)
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"resourceType":"Bundle","type":"searchset","entry":[{"fullUrl":"http://x/fhir/Organization/o1",
			"resource":{"resourceType":"Organization","id":"o1","name":"Bad HPI-O",
			"identifier":[{"system":"http://ns.electronichealth.net.au/id/hi/hpio/1.0","value":"123"}]}}]}`))
	}))
	t.Cleanup(bad.Close)
	b := setupWith(t, withRemotes(3*time.Second, rp.base(), bad.URL+"/fhir"))
	_, users := b.org(t, "Org A", "800362000000001")
	br := b.browser(t)
	br.login(users[store.RoleClinician])

	for name, form := range map[string]url.Values{
		"remote out of range": {"remote": {"2"}, "org": {rp.org.ID}},
		"remote negative":     {"remote": {"-1"}, "org": {rp.org.ID}},
		"remote a URL":        {"remote": {rp.base()}, "org": {rp.org.ID}},
		"org with a slash":    {"remote": {"0"}, "org": {"../Practitioner/x"}},
		"org with a query":    {"remote": {"0"}, "org": {"x?_include=*"}},
		"org empty":           {"remote": {"0"}, "org": {""}},
		"org too long":        {"remote": {"0"}, "org": {strings.Repeat("a", 65)}},
		"role with a space":   {"remote": {"0"}, "org": {rp.org.ID}, "role": {"a b"}},
	} {
		p := br.post("/directory", "/directory/remote", form)
		if p.status != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", name, p.status)
		}
	}
	if n := rp.hits.Load(); n != 0 {
		t.Errorf("refused adds fetched %d times", n)
	}
	br.get("/directory")
	if p := br.postRaw("/directory/remote", url.Values{"remote": {"0"}, "org": {rp.org.ID}}); p.status != http.StatusForbidden {
		t.Errorf("without a CSRF token: %d, want 403", p.status)
	}
	if n := rp.hits.Load(); n != 0 {
		t.Errorf("a refused CSRF fetched %d times", n)
	}

	// An organisation the remote publishes badly: every problem, nothing imported.
	p := br.post("/directory", "/directory/remote", url.Values{"remote": {"1"}, "org": {"o1"}})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `data-testid="remote-add-problems"`) || !strings.Contains(p.body, "123") {
		t.Errorf("bad bundle: %d\n%s", p.status, p.body)
	}
	if _, total, err := b.store.SearchListings(context.Background(), store.ListingSearch{Source: store.SourceImport}); err != nil || total != 0 {
		t.Errorf("something was imported: %d %v", total, err)
	}
	// An organisation the remote does not know.
	p = br.post("/directory", "/directory/remote", url.Values{"remote": {"0"}, "org": {"no-such-org"}})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "does not list that organisation") {
		t.Errorf("unknown organisation: %d", p.status)
	}
}
