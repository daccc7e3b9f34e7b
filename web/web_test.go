package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/opensmd/portal/internal/auth"
	"github.com/opensmd/portal/internal/hi"
	"github.com/opensmd/portal/internal/store"
)

func TestLogin_WrongPasswordAndUnknownAccountLookAlike(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, users := b.org(t, "Org A", "800362000000001")
	br := b.browser(t)
	wrong := br.post("/login", "/login", url.Values{"email": {users["clinician"].Email}, "password": {"not the password at all"}})
	unknown := br.post("/login", "/login", url.Values{"email": {"nobody@nowhere.test"}, "password": {"whatever whatever"}})
	for name, p := range map[string]page{"wrong": wrong, "unknown": unknown} {
		if p.status != http.StatusUnauthorized || !strings.Contains(p.body, "e-mail address or password is not right") {
			t.Errorf("%s: status %d, body lacks the message", name, p.status)
		}
	}
	if !strings.Contains(wrong.body, `value="`+users["clinician"].Email+`"`) {
		t.Error("e-mail not kept in the form after a failure")
	}
}

func TestLogin_LockoutAfterRepeatedFailures(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, users := b.org(t, "Org A", "800362000000001")
	br := b.browser(t)
	u := users["clinician"]
	for i := range 5 {
		p := br.post("/login", "/login", url.Values{"email": {u.Email}, "password": {"wrong password " + string(rune('a'+i))}})
		if i < 4 && p.status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: status %d", i+1, p.status)
		}
		if i == 4 && (p.status != http.StatusTooManyRequests || !strings.Contains(p.body, "locked")) {
			t.Fatalf("5th failure should lock: status %d", p.status)
		}
	}
	// Even the right password is refused while locked.
	p := br.post("/login", "/login", url.Values{"email": {u.Email}, "password": {testPassword}})
	if p.status != http.StatusTooManyRequests || !strings.Contains(p.body, "Try again in 15 minutes") {
		t.Fatalf("locked account: status %d", p.status)
	}
	b.clock.Add(16 * time.Minute)
	br.login(u)
	events, err := b.store.OrgAuditEvents(context.Background(), u.OrganisationID, 50)
	if err != nil {
		t.Fatal(err)
	}
	var failures, successes int
	for _, e := range events {
		switch e.Action {
		case "login.failure":
			failures++
		case "login.success":
			successes++
		}
	}
	if failures != 6 || successes != 1 {
		t.Errorf("audit: %d failures, %d successes; want 6 and 1", failures, successes)
	}
}

func TestLogin_ThrottledPerIP(t *testing.T) {
	t.Parallel()
	b := setup(t, func(p *auth.Policy) { p.IPMaxFailures = 3 })
	_, users := b.org(t, "Org A", "800362000000001")
	br := b.browser(t)
	for i := range 3 {
		br.post("/login", "/login", url.Values{"email": {"guess" + string(rune('a'+i)) + "@x.test"}, "password": {"guess guess guess"}})
	}
	p := br.post("/login", "/login", url.Values{"email": {users["clinician"].Email}, "password": {testPassword}})
	if p.status != http.StatusTooManyRequests || !strings.Contains(p.body, "Too many failed sign-in attempts from your network") {
		t.Fatalf("per-IP throttle: status %d", p.status)
	}
}

func TestCSRF_StateChangesWithoutTokenAreRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, users := b.org(t, "Org A", "800362000000001")
	br := b.browser(t)
	br.get("/login") // obtain the CSRF cookie, then omit or forge the field
	for name, form := range map[string]url.Values{
		"missing": {"email": {users["clinician"].Email}, "password": {testPassword}},
		"forged":  {"email": {users["clinician"].Email}, "password": {testPassword}, "_csrf": {"forged-token"}},
	} {
		p := br.postRaw("/login", form)
		if p.status != http.StatusForbidden || !strings.Contains(p.body, "Form expired") {
			t.Errorf("%s token: status %d", name, p.status)
		}
	}
	br.login(users["clinician"])
	if p := br.postRaw("/logout", url.Values{}); p.status != http.StatusForbidden {
		t.Errorf("logout without token: status %d", p.status)
	}
	if p := br.get("/dashboard"); p.status != http.StatusOK {
		t.Errorf("session should survive a refused logout: %d", p.status)
	}
}

func TestRoles_DeniedPerRouteTable(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, users := b.org(t, "Org A", "800362000000001")
	for _, role := range []string{store.RoleClinician, store.RoleReception} {
		br := b.browser(t)
		br.login(users[role])
		for _, path := range []string{"/admin/users", "/admin/audit", "/admin/users/" + users["admin"].ID} {
			p := br.get(path)
			if p.status != http.StatusForbidden || !strings.Contains(p.body, "Not allowed") {
				t.Errorf("%s GET %s: status %d", role, path, p.status)
			}
		}
		if p := br.get("/dashboard"); p.status != http.StatusOK {
			t.Errorf("%s dashboard: %d", role, p.status)
		}
	}
	anon := b.browser(t)
	if p := anon.get("/admin/users"); p.status != http.StatusSeeOther || p.location != "/login" {
		t.Errorf("anonymous admin page: %d %q", p.status, p.location)
	}
}

func TestOrgIsolation_AdminCannotSeeAnotherOrganisation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, a := b.org(t, "Org A", "800362000000001")
	_, other := b.org(t, "Org B", "800362000000002")
	br := b.browser(t)
	br.loginAdmin(a["admin"])
	list := br.get("/admin/users")
	if list.status != http.StatusOK || !strings.Contains(list.body, a["clinician"].Email) {
		t.Fatalf("own users: %d", list.status)
	}
	if strings.Contains(list.body, other["clinician"].Email) {
		t.Fatal("another organisation's user is listed")
	}
	p := br.get("/admin/users/" + other["clinician"].ID)
	if p.status != http.StatusNotFound || strings.Contains(p.body, other["clinician"].Email) {
		t.Fatalf("other org's user: status %d", p.status)
	}
	if p := br.get("/admin/users/" + a["clinician"].ID); p.status != http.StatusOK {
		t.Fatalf("own user: %d", p.status)
	}
	if p := br.get("/admin/users/not-a-uuid"); p.status != http.StatusNotFound {
		t.Fatalf("malformed id: %d", p.status)
	}
}

func TestSession_IdleAndAbsoluteExpiry(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, users := b.org(t, "Org A", "800362000000001")
	br := b.browser(t)
	br.login(users["clinician"])
	b.clock.Add(14 * time.Minute)
	if p := br.get("/dashboard"); p.status != http.StatusOK {
		t.Fatalf("within idle timeout: %d", p.status)
	}
	b.clock.Add(16 * time.Minute)
	p := br.get("/dashboard")
	if p.status != http.StatusSeeOther || p.location != "/login" {
		t.Fatalf("after idle timeout: %d %q", p.status, p.location)
	}
	if login := br.get("/login"); !strings.Contains(login.body, "Your session has expired") {
		t.Error("no expiry message on the sign-in page")
	}
	// Absolute timeout: active every 10 minutes, still ends after 12 hours.
	br.login(users["clinician"])
	for range 72 {
		b.clock.Add(10 * time.Minute)
		if p := br.get("/dashboard"); p.status != http.StatusOK {
			break
		}
	}
	if p := br.get("/dashboard"); p.status != http.StatusSeeOther {
		t.Fatalf("after absolute timeout: %d", p.status)
	}
}

// A page polling in the background (X-Poll) does not keep an unattended
// session alive, and once the session has ended an htmx poll is sent to
// the sign-in page as a whole page, not given it to swap into a table.
func TestSession_PollsAreNotActivity(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, users := b.org(t, "Org A", "800362000000001")
	br := b.browser(t)
	br.login(users["clinician"])
	poll := func() *http.Response {
		req, err := http.NewRequest(http.MethodGet, b.srv.URL+"/inbox/rows", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("HX-Request", "true")
		req.Header.Set("X-Poll", "1")
		resp, err := br.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	b.clock.Add(10 * time.Minute)
	if r := poll(); r.StatusCode != http.StatusOK {
		t.Fatalf("poll within the idle timeout: %d", r.StatusCode)
	}
	b.clock.Add(10 * time.Minute) // 20 minutes since the user last did anything
	r := poll()
	if r.StatusCode != http.StatusUnauthorized || r.Header.Get("HX-Redirect") != "/login" {
		t.Fatalf("poll after the idle timeout: %d, HX-Redirect %q; want 401 and /login", r.StatusCode, r.Header.Get("HX-Redirect"))
	}
	if p := br.get("/dashboard"); p.status != http.StatusSeeOther || p.location != "/login" {
		t.Fatalf("the session outlived its idle timeout through polls: %d %q", p.status, p.location)
	}
}

func TestSession_RotatedOnLoginAndRevokedOnLogout(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, users := b.org(t, "Org A", "800362000000001")
	br := b.browser(t)
	br.get("/login")
	before := sessionCookie(br)
	br.login(users["clinician"])
	after := sessionCookie(br)
	if after == "" || after == before {
		t.Fatal("session cookie not replaced at sign-in")
	}
	// Signing in again in the same browser revokes the previous token.
	br.post("/dashboard", "/login", url.Values{"email": {users["clinician"].Email}, "password": {testPassword}})
	again := sessionCookie(br)
	if again == after {
		t.Fatal("session cookie not replaced at the second sign-in")
	}
	if p := replayCookie(t, b, after).get("/dashboard"); p.status != http.StatusSeeOther {
		t.Fatalf("token replaced by a new sign-in still works: %d", p.status)
	}
	after = again
	p := br.post("/dashboard", "/logout", url.Values{})
	if p.status != http.StatusSeeOther {
		t.Fatalf("logout: %d", p.status)
	}
	// Replaying the old cookie after logout must not work.
	if p := replayCookie(t, b, after).get("/dashboard"); p.status != http.StatusSeeOther {
		t.Fatalf("revoked session still works: %d", p.status)
	}
}

// replayCookie is a fresh browser carrying a captured session cookie.
func replayCookie(t *testing.T, b *testBundle, value string) *browser {
	br := b.browser(t)
	u, _ := url.Parse(b.srv.URL)
	br.http.Jar.SetCookies(u, []*http.Cookie{{Name: "portal", Value: value}})
	return br
}

func sessionCookie(br *browser) string {
	u, _ := url.Parse(br.b.srv.URL)
	for _, c := range br.http.Jar.Cookies(u) {
		if c.Name == "portal" {
			return c.Value
		}
	}
	return ""
}

func TestTOTP_AdminMustEnrolThenVerifyAndReplayIsRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, users := b.org(t, "Org A", "800362000000001")
	br := b.browser(t)
	// Half-signed-in admins cannot reach the app before enrolling.
	br.post("/login", "/login", url.Values{"email": {users["admin"].Email}, "password": {testPassword}})
	if p := br.get("/dashboard"); p.status != http.StatusSeeOther || p.location != "/login" {
		t.Fatalf("dashboard before enrolment: %d %q", p.status, p.location)
	}
	secret := b.browser(t).loginAdmin(users["admin"])
	br2 := b.browser(t)
	p := br2.post("/login", "/login", url.Values{"email": {users["admin"].Email}, "password": {testPassword}})
	if p.location != "/login/totp" {
		t.Fatalf("enrolled admin login went to %q", p.location)
	}
	if p := br2.post("/login/totp", "/login/totp", url.Values{"code": {"000000"}}); p.status != http.StatusUnauthorized {
		t.Fatalf("wrong code: %d", p.status)
	}
	b.clock.Add(31 * time.Second) // the enrolment used the current step
	code, _ := auth.TOTPCode(secret, b.clock.Now())
	if p := br2.post("/login/totp", "/login/totp", url.Values{"code": {code}}); p.location != "/dashboard" {
		t.Fatalf("right code: %d %q", p.status, p.location)
	}
	br3 := b.browser(t)
	br3.post("/login", "/login", url.Values{"email": {users["admin"].Email}, "password": {testPassword}})
	if p := br3.post("/login/totp", "/login/totp", url.Values{"code": {code}}); p.status != http.StatusUnauthorized {
		t.Fatalf("replayed code accepted: %d", p.status)
	}
	// An enabled factor is never re-confirmed: the just-used code cannot mint
	// new recovery codes.
	if p := br2.post("/account/mfa", "/account/mfa/enrol", url.Values{"code": {code}}); p.status != http.StatusSeeOther || p.location != "/account/mfa" {
		t.Fatalf("re-confirming an enabled factor: %d %q", p.status, p.location)
	}
}

func TestSetup_FirstRunCreatesOrganisationOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	token, err := b.auth.NewSetupToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	br := b.browser(t)
	if p := br.get("/"); !strings.Contains(p.body, "no organisation yet") {
		t.Fatalf("start page on empty database: %d", p.status)
	}
	if p := br.get("/setup?token=wrong"); p.status != http.StatusForbidden {
		t.Fatalf("wrong token: %d", p.status)
	}
	form := url.Values{"token": {token}, "org_name": {"Riverbend Physio"}, "hpio": {"8003620000000019"},
		"admin_name": {"Pat Admin"}, "email": {"pat@riverbend.test"}, "password": {"short"}, "confirm": {"short"}}
	p := br.post("/setup?token="+token, "/setup", form)
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "check digit") || !strings.Contains(p.body, "at least 12 characters") {
		t.Fatalf("bad HPI-O and password: %d", p.status)
	}
	if !strings.Contains(p.body, `value="Riverbend Physio"`) {
		t.Error("valid fields not kept after an error")
	}
	form.Set("hpio", hi.WithCheckDigit("800362000000001"))
	for pw, want := range map[string]string{
		"riverbend admin password": "Do not build the password from your e-mail address, name or organisation",
		"1qaz2wsx3edc4rfv":         "one of the most common passwords",
		"sunshine!!2026":           "common password with numbers or symbols added",
		"abcdefghijklmnop":         "repetitive or sequential",
	} {
		form.Set("password", pw)
		form.Set("confirm", pw)
		p := br.post("/setup?token="+token, "/setup", form)
		if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, want) {
			t.Fatalf("password %q: %d, want 422 with %q", pw, p.status, want)
		}
	}
	form.Set("password", "kettle orchard lantern")
	form.Set("confirm", "kettle orchard lantern")
	if p := br.post("/setup?token="+token, "/setup", form); p.status != http.StatusSeeOther || p.location != "/login" {
		t.Fatalf("valid set-up: %d %q", p.status, p.location)
	}
	if p := br.get("/setup?token=" + token); p.status != http.StatusForbidden {
		t.Fatalf("token reuse: %d", p.status)
	}
	admin, err := b.store.UserByEmail(context.Background(), "pat@riverbend.test")
	if err != nil || admin.Role != store.RoleAdmin {
		t.Fatalf("admin: %+v %v", admin, err)
	}
}

func TestErrorPage_SafeMessageAndRequestID(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p := b.browser(t).get("/no/such/page")
	if p.status != http.StatusNotFound || !strings.Contains(p.body, `data-testid="request-id"`) {
		t.Fatalf("404 page: %d", p.status)
	}
}

func TestOperations_HealthReadyMetrics(t *testing.T) {
	t.Parallel()
	b := setup(t)
	br := b.browser(t)
	if p := br.get("/healthz"); p.status != http.StatusOK {
		t.Errorf("healthz %d", p.status)
	}
	if p := br.get("/readyz"); p.status != http.StatusOK {
		t.Errorf("readyz %d", p.status)
	}
	br.get("/login")
	p := br.get("/metrics")
	if p.status != http.StatusOK || !strings.Contains(p.body, `portal_http_requests_total{code="200",method="GET",route="/login"}`) {
		t.Errorf("metrics %d lacks the /login counter", p.status)
	}
}
