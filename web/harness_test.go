package web_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opensmd/portal/internal/auth"
	"github.com/opensmd/portal/internal/hi"
	"github.com/opensmd/portal/internal/jobs"
	"github.com/opensmd/portal/internal/mailbox"
	"github.com/opensmd/portal/internal/pipeline"
	"github.com/opensmd/portal/internal/provider"
	"github.com/opensmd/portal/internal/store"
	"github.com/opensmd/portal/internal/store/storetest"
	"github.com/opensmd/portal/web"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// clock is a settable time source shared by the auth service and the web
// layer, so tests can step past timeouts without sleeping.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type testBundle struct {
	srv    *httptest.Server
	store  *store.Store
	auth   *auth.Service
	clock  *clock
	secret []byte
	// pipe queues SMD messages (jobs are inserted, never worked here);
	// mail is the web layer's mailbox on it.
	pipe *pipeline.Pipeline
	mail *mailbox.Service
}

const testPassword = "a long enough test password"

func setup(t *testing.T, mutate ...func(*auth.Policy)) *testBundle {
	t.Helper()
	return setupWith(t, nil, mutate...)
}

// setupWith is setup with deps changed by withDeps (if not nil) before
// the server is built.
func setupWith(t *testing.T, withDeps func(*web.Deps), mutate ...func(*auth.Policy)) *testBundle {
	t.Helper()
	pool := storetest.DB(t)
	st := store.New(pool)
	clk := &clock{t: time.Now()}
	policy := auth.Policy{MaxFailures: 5, LockoutDuration: 15 * time.Minute, IPMaxFailures: 50, IPWindow: 15 * time.Minute,
		IdleTimeout: 15 * time.Minute, AbsoluteTimeout: 12 * time.Hour}
	for _, m := range mutate {
		m(&policy)
	}
	secret := []byte(strings.Repeat("test-secret-", 4))
	a, err := auth.NewService(st, secret, policy, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	pipe, err := pipeline.New(pipeline.Config{Store: st, Master: secret, Keys: provider.NewKeyCache(st, secret, 0),
		EndpointURL: "https://smd.test/smd", Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	jobClient, err := jobs.New(pool, jobs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pipe.SetJobs(jobClient)
	mail, err := mailbox.New(mailbox.Config{Store: st, Pipeline: pipe, Master: secret, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	deps := web.Deps{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Store: st, Auth: a, Secret: secret,
		Registry: prometheus.NewRegistry(), Now: clk.Now, Mailbox: mail, Jobs: jobClient,
		Ready: func(ctx context.Context) error { return st.Ping(ctx) },
	}
	if withDeps != nil {
		withDeps(&deps)
	}
	e := web.New(deps)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return &testBundle{srv: srv, store: st, auth: a, clock: clk, secret: secret, pipe: pipe, mail: mail}
}

// org creates an organisation with one user per role and returns the users.
func (b *testBundle) org(t *testing.T, name, hpioBody string) (store.Organisation, map[string]store.User) {
	t.Helper()
	ctx := context.Background()
	o, err := b.store.CreateOrganisation(ctx, name, hi.WithCheckDigit(hpioBody))
	if err != nil {
		t.Fatal(err)
	}
	return o, b.roleUsers(t, o, hpioBody)
}

// roleUsers creates one user per role at organisation o, with e-mail
// addresses made from hpioBody and the test password.
func (b *testBundle) roleUsers(t *testing.T, o store.Organisation, hpioBody string) map[string]store.User {
	t.Helper()
	hash, err := auth.HashPassword(testPassword)
	if err != nil {
		t.Fatal(err)
	}
	users := map[string]store.User{}
	for _, role := range []string{store.RoleAdmin, store.RoleClinician, store.RoleReception} {
		u, err := b.store.CreateUser(context.Background(), store.NewUser{OrganisationID: o.ID,
			Email: role + "@" + hpioBody + ".test", DisplayName: o.Name + " " + role, Role: role, PasswordHash: hash})
		if err != nil {
			t.Fatal(err)
		}
		users[role] = u
	}
	return users
}

// browser is a cookie-keeping client that does not follow redirects.
type browser struct {
	t    *testing.T
	b    *testBundle
	http *http.Client
}

func (b *testBundle) browser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, b: b, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

type page struct {
	status   int
	body     string
	location string
}

func (br *browser) get(path string) page {
	br.t.Helper()
	resp, err := br.http.Get(br.b.srv.URL + path)
	if err != nil {
		br.t.Fatal(err)
	}
	return readPage(br.t, resp)
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// upload is one file of a multipart form: its field, file name and bytes.
type upload struct {
	field, name string
	data        []byte
}

// postMultipart submits a multipart form, as a browser sends files, to
// path with the CSRF token of the page at from.
func (br *browser) postMultipart(from, path string, fields map[string]string, files ...upload) page {
	br.t.Helper()
	p := br.get(from)
	m := csrfField.FindStringSubmatch(p.body)
	if m == nil {
		br.t.Fatalf("no CSRF token on %s (status %d)", from, p.status)
	}
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	_ = w.WriteField("_csrf", m[1])
	for k, v := range fields {
		_ = w.WriteField(k, v)
	}
	for _, f := range files {
		fw, _ := w.CreateFormFile(f.field, f.name)
		_, _ = fw.Write(f.data)
	}
	_ = w.Close()
	req, _ := http.NewRequest(http.MethodPost, br.b.srv.URL+path, &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	resp, err := br.http.Do(req)
	if err != nil {
		br.t.Fatal(err)
	}
	return readPage(br.t, resp)
}

// post submits a form from the page at from, carrying its CSRF token.
func (br *browser) post(from, path string, form url.Values) page {
	br.t.Helper()
	p := br.get(from)
	m := csrfField.FindStringSubmatch(p.body)
	if m == nil {
		br.t.Fatalf("no CSRF token on %s (status %d)", from, p.status)
	}
	form.Set("_csrf", m[1])
	return br.postRaw(path, form)
}

func (br *browser) postRaw(path string, form url.Values) page {
	br.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, br.b.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := br.http.Do(req)
	if err != nil {
		br.t.Fatal(err)
	}
	return readPage(br.t, resp)
}

func readPage(t *testing.T, resp *http.Response) page {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return page{status: resp.StatusCode, body: string(b), location: resp.Header.Get("Location")}
}

// login signs in a user without a second factor.
func (br *browser) login(u store.User) {
	br.t.Helper()
	p := br.post("/login", "/login", url.Values{"email": {u.Email}, "password": {testPassword}})
	if p.status != http.StatusSeeOther || p.location != "/dashboard" {
		br.t.Fatalf("login %s: status %d location %q", u.Email, p.status, p.location)
	}
}

var secretOnPage = regexp.MustCompile(`data-key="([A-Z2-7]+)"`)

// loginAdmin signs an administrator in, enrolling TOTP on first use, and
// returns the TOTP secret.
func (br *browser) loginAdmin(u store.User) string {
	br.t.Helper()
	p := br.post("/login", "/login", url.Values{"email": {u.Email}, "password": {testPassword}})
	if p.location != "/account/mfa/enrol" {
		br.t.Fatalf("admin login went to %q (status %d)", p.location, p.status)
	}
	enrol := br.get("/account/mfa/enrol")
	m := secretOnPage.FindStringSubmatch(enrol.body)
	if m == nil {
		br.t.Fatalf("no TOTP secret on enrolment page: %d", enrol.status)
	}
	code, _ := auth.TOTPCode(m[1], br.b.clock.Now())
	tok := csrfField.FindStringSubmatch(enrol.body)[1]
	done := br.postRaw("/account/mfa/enrol", url.Values{"_csrf": {tok}, "code": {code}})
	if done.status != http.StatusOK || !strings.Contains(done.body, `data-testid="recovery-codes"`) {
		br.t.Fatalf("enrolment confirm: %d", done.status)
	}
	return m[1]
}
