package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/opensmd/portal/internal/admin"
	"github.com/opensmd/portal/internal/auth"
	"github.com/opensmd/portal/internal/store"
)

var inviteLinkOnPage = regexp.MustCompile(`data-testid="invite-link" value="[^"]*(/invite/[A-Za-z0-9_-]+)"|value="[^"]*(/invite/[A-Za-z0-9_-]+)"[^>]*data-testid="invite-link"`)

// invite creates an invitation as the signed-in admin and returns the
// link's path.
func (br *browser) invite(email, name, role string) string {
	br.t.Helper()
	p := br.post("/admin/users/invite", "/admin/users/invite", url.Values{"email": {email}, "name": {name}, "role": {role}})
	m := inviteLinkOnPage.FindStringSubmatch(p.body)
	if p.status != http.StatusOK || m == nil {
		br.t.Fatalf("invite %s: %d, no link on the page", email, p.status)
	}
	return m[1] + m[2]
}

func auditActions(t *testing.T, b *testBundle, orgID string) []string {
	t.Helper()
	events, err := b.store.OrgAuditEvents(context.Background(), orgID, 500)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.Action
	}
	return out
}

func has(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestInvite_AcceptSignsInWithAFreshSessionAndTheLinkWorksOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org, users := b.org(t, "Org A", "800362000000001")
	adminBr := b.browser(t)
	adminBr.loginAdmin(users["admin"])
	link := adminBr.invite("new.clinician@a.test", "Sam New", store.RoleClinician)
	if list := adminBr.get("/admin/users"); !strings.Contains(list.body, "new.clinician@a.test") || strings.Contains(list.body, link) {
		t.Fatalf("users page should list the pending invitation without its link")
	}

	br := b.browser(t)
	br.get("/login")
	before := sessionCookie(br)
	form := url.Values{"name": {"Sam New"}, "password": {"short"}, "confirm": {"short"}}
	p := br.post(link, link, form)
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "at least 12 characters") ||
		!strings.Contains(p.body, `aria-invalid="true"`) || !strings.Contains(p.body, `value="Sam New"`) {
		t.Fatalf("short password: %d", p.status)
	}
	form.Set("password", "marble quokka sunrise")
	form.Set("confirm", "marble quokka sunrise")
	p = br.post(link, link, form)
	if p.status != http.StatusSeeOther || p.location != "/dashboard" {
		t.Fatalf("accept: %d %q", p.status, p.location)
	}
	if after := sessionCookie(br); after == "" || after == before {
		t.Fatal("accepting an invitation did not issue a fresh session cookie")
	}
	if d := br.get("/dashboard"); d.status != http.StatusOK || !strings.Contains(d.body, "Sam New") {
		t.Fatalf("dashboard after accepting: %d", d.status)
	}
	// The link works once, in any browser.
	for _, other := range []*browser{br, b.browser(t)} {
		if p := other.get(link); p.status != http.StatusGone || !strings.Contains(p.body, "already been used") {
			t.Fatalf("reused link: %d", p.status)
		}
	}
	u, err := b.store.UserByEmail(context.Background(), "new.clinician@a.test")
	if err != nil || u.Role != store.RoleClinician || u.OrganisationID != org.ID {
		t.Fatalf("account: %+v %v", u, err)
	}
	actions := auditActions(t, b, org.ID)
	if !has(actions, "user.invited") || !has(actions, "invite.accepted") {
		t.Fatalf("audit lacks the invitation: %v", actions)
	}
}

func TestInvite_ExpiredCancelledAndUnknownLinksCreateNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org, users := b.org(t, "Org A", "800362000000001")
	adminBr := b.browser(t)
	adminBr.loginAdmin(users["admin"])
	expired := adminBr.invite("late@a.test", "Late", store.RoleReception)
	cancelled := adminBr.invite("gone@a.test", "Gone", store.RoleReception)
	invites, err := b.store.OrgInvites(context.Background(), org.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, inv := range invites {
		if inv.Email == "gone@a.test" {
			if p := adminBr.post("/admin/users", "/admin/invites/"+inv.ID+"/cancel", url.Values{}); p.status != http.StatusSeeOther {
				t.Fatalf("cancel: %d", p.status)
			}
		}
	}
	b.clock.Add(admin.InviteTTL + time.Minute)
	form := url.Values{"name": {"X"}, "password": {"marble quokka sunrise"}, "confirm": {"marble quokka sunrise"}}
	for link, want := range map[string]string{expired: "has expired", cancelled: "was cancelled", "/invite/not-a-real-token": "not valid"} {
		br := b.browser(t)
		if p := br.get(link); p.status != http.StatusGone || !strings.Contains(p.body, want) {
			t.Errorf("GET %s: %d, want 410 saying %q", link, p.status, want)
		}
		tok := csrfField.FindStringSubmatch(br.get("/login").body)[1]
		form.Set("_csrf", tok)
		if p := br.postRaw(link, form); p.status != http.StatusGone || !strings.Contains(p.body, want) {
			t.Errorf("POST %s: %d, want 410 saying %q", link, p.status, want)
		}
	}
	for _, email := range []string{"late@a.test", "gone@a.test"} {
		if _, err := b.store.UserByEmail(context.Background(), email); err == nil {
			t.Errorf("%s got an account from a dead link", email)
		}
	}
}

func TestInvite_AdminAndRequireTOTPMustEnrolFirst(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, users := b.org(t, "Org A", "800362000000001")
	adminBr := b.browser(t)
	adminBr.loginAdmin(users["admin"])
	link := adminBr.invite("second.admin@a.test", "Second Admin", store.RoleAdmin)
	br := b.browser(t)
	p := br.post(link, link, url.Values{"name": {"Second Admin"}, "password": {"marble quokka sunrise"}, "confirm": {"marble quokka sunrise"}})
	if p.status != http.StatusSeeOther || p.location != "/account/mfa/enrol" {
		t.Fatalf("admin invitee: %d %q, want enrolment first", p.status, p.location)
	}
	if d := br.get("/dashboard"); d.status != http.StatusSeeOther {
		t.Fatalf("dashboard before enrolment: %d", d.status)
	}
}

func TestRequireTOTP_SignedInUserIsSentToEnrolment(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org, users := b.org(t, "Org A", "800362000000001")
	clin := b.browser(t)
	clin.login(users["clinician"])
	adminBr := b.browser(t)
	adminBr.loginAdmin(users["admin"])
	form := url.Values{"name": {org.Name}, "delivery_mode": {"push"}, "require_totp": {"on"}}
	if p := adminBr.post("/admin/organisation", "/admin/organisation", form); p.status != http.StatusSeeOther {
		t.Fatalf("save settings: %d", p.status)
	}
	for _, path := range []string{"/dashboard", "/account/sessions"} {
		if p := clin.get(path); p.status != http.StatusSeeOther || p.location != "/account/mfa/enrol" {
			t.Fatalf("%s with TOTP required: %d %q", path, p.status, p.location)
		}
	}
	if p := clin.get("/account/mfa/enrol"); p.status != http.StatusOK {
		t.Fatalf("enrolment page: %d", p.status)
	}
	// A fresh sign-in is half-signed-in until enrolment.
	fresh := b.browser(t)
	p := fresh.post("/login", "/login", url.Values{"email": {users["reception"].Email}, "password": {testPassword}})
	if p.location != "/account/mfa/enrol" {
		t.Fatalf("sign-in with TOTP required went to %q", p.location)
	}
}

func TestDeactivate_EndsOpenSessionAndRefusesSignIn(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org, users := b.org(t, "Org A", "800362000000001")
	clin := b.browser(t)
	clin.login(users["clinician"])
	adminBr := b.browser(t)
	adminBr.loginAdmin(users["admin"])
	id := users["clinician"].ID
	if p := adminBr.post("/admin/users/"+id, "/admin/users/"+id+"/deactivate", url.Values{}); p.status != http.StatusSeeOther {
		t.Fatalf("deactivate: %d", p.status)
	}
	if p := clin.get("/dashboard"); p.status != http.StatusSeeOther || p.location != "/login" {
		t.Fatalf("deactivated user's open session: %d %q", p.status, p.location)
	}
	p := clin.post("/login", "/login", url.Values{"email": {users["clinician"].Email}, "password": {testPassword}})
	if p.status != http.StatusUnauthorized {
		t.Fatalf("deactivated user signs in: %d", p.status)
	}
	if p := adminBr.post("/admin/users/"+id, "/admin/users/"+id+"/reactivate", url.Values{}); p.status != http.StatusSeeOther {
		t.Fatalf("reactivate: %d", p.status)
	}
	clin.login(users["clinician"])
	actions := auditActions(t, b, org.ID)
	if !has(actions, "user.deactivated") || !has(actions, "user.reactivated") {
		t.Fatalf("audit: %v", actions)
	}
}

func TestLastAdmin_CannotDemoteOrDeactivateThemselves(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, users := b.org(t, "Org A", "800362000000001")
	adminBr := b.browser(t)
	adminBr.loginAdmin(users["admin"])
	id := users["admin"].ID
	for _, action := range []struct {
		path string
		form url.Values
	}{
		{"/role", url.Values{"role": {store.RoleClinician}}},
		{"/deactivate", url.Values{}},
	} {
		p := adminBr.post("/admin/users/"+id, "/admin/users/"+id+action.path, action.form)
		if p.status != http.StatusConflict || !strings.Contains(p.body, "last active administrator") {
			t.Fatalf("%s of the last admin: %d", action.path, p.status)
		}
	}
	u, _ := b.store.UserByID(context.Background(), id)
	if u.Role != store.RoleAdmin || !u.Active {
		t.Fatalf("last admin changed: %+v", u)
	}
	// With a second administrator, the change is allowed.
	other := users["clinician"].ID
	if p := adminBr.post("/admin/users/"+other, "/admin/users/"+other+"/role", url.Values{"role": {store.RoleAdmin}}); p.status != http.StatusSeeOther {
		t.Fatalf("promote: %d", p.status)
	}
	if p := adminBr.post("/admin/users/"+id, "/admin/users/"+id+"/role", url.Values{"role": {store.RoleClinician}}); p.status != http.StatusSeeOther {
		t.Fatalf("demote self with another admin: %d", p.status)
	}
}

func TestResetMFA_SignsOutAndRequiresEnrolmentAgain(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, users := b.org(t, "Org A", "800362000000001")
	victim := b.browser(t)
	victim.loginAdmin(users["admin"])
	// A second admin resets the first one's factor.
	second, err := b.store.CreateUser(context.Background(), store.NewUser{OrganisationID: users["admin"].OrganisationID,
		Email: "second@a.test", DisplayName: "Second", Role: store.RoleAdmin, PasswordHash: mustHash(t)})
	if err != nil {
		t.Fatal(err)
	}
	br := b.browser(t)
	br.loginAdmin(second)
	id := users["admin"].ID
	if p := br.post("/admin/users/"+id, "/admin/users/"+id+"/reset-mfa", url.Values{}); p.status != http.StatusSeeOther {
		t.Fatalf("reset: %d", p.status)
	}
	if p := victim.get("/dashboard"); p.status != http.StatusSeeOther || p.location != "/login" {
		t.Fatalf("session after MFA reset: %d %q", p.status, p.location)
	}
	p := victim.post("/login", "/login", url.Values{"email": {users["admin"].Email}, "password": {testPassword}})
	if p.location != "/account/mfa/enrol" {
		t.Fatalf("sign-in after reset went to %q, want enrolment", p.location)
	}
}

func mustHash(t *testing.T) string {
	t.Helper()
	h, err := auth.HashPassword(testPassword)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestSessions_ForceLogoutAndOwnSessions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, users := b.org(t, "Org A", "800362000000001")
	phone, desk := b.browser(t), b.browser(t)
	phone.login(users["clinician"])
	desk.login(users["clinician"])
	own := desk.get("/account/sessions")
	if own.status != http.StatusOK || strings.Count(own.body, `data-testid="session-row"`) != 2 || !strings.Contains(own.body, "This browser") {
		t.Fatalf("own sessions: %d", own.status)
	}
	if p := desk.post("/account/sessions", "/account/sessions/logout-others", url.Values{}); p.status != http.StatusSeeOther {
		t.Fatalf("sign out others: %d", p.status)
	}
	if p := phone.get("/dashboard"); p.status != http.StatusSeeOther {
		t.Fatalf("other session survived: %d", p.status)
	}
	if p := desk.get("/dashboard"); p.status != http.StatusOK {
		t.Fatalf("current session ended: %d", p.status)
	}
	adminBr := b.browser(t)
	adminBr.loginAdmin(users["admin"])
	id := users["clinician"].ID
	if page := adminBr.get("/admin/users/" + id); strings.Count(page.body, `data-testid="session-row"`) != 1 {
		t.Fatal("admin does not see the user's one session")
	}
	if p := adminBr.post("/admin/users/"+id, "/admin/users/"+id+"/logout", url.Values{}); p.status != http.StatusSeeOther {
		t.Fatalf("force logout: %d", p.status)
	}
	if p := desk.get("/dashboard"); p.status != http.StatusSeeOther || p.location != "/login" {
		t.Fatalf("after force logout: %d %q", p.status, p.location)
	}
	// A colleague's session cannot be revoked through one's own account.
	phone.login(users["clinician"])
	refs := regexp.MustCompile(`/account/sessions/([0-9a-f-]{36})/revoke`).FindStringSubmatch(phone.get("/account/sessions").body)
	if refs != nil {
		t.Fatal("the current session offers a revoke button")
	}
	sessions, _ := b.store.UserSessions(context.Background(), users["clinician"].OrganisationID, id, b.clock.Now())
	recep := b.browser(t)
	recep.login(users["reception"])
	if p := recep.post("/account/sessions", "/account/sessions/"+sessions[0].Ref+"/revoke", url.Values{}); p.status != http.StatusNotFound {
		t.Fatalf("revoke a colleague's session: %d, want 404", p.status)
	}
	if p := phone.get("/dashboard"); p.status != http.StatusOK {
		t.Fatalf("colleague's session ended: %d", p.status)
	}
}

func TestOrgSettings_ValidationKeepsInputAndChangesAreAudited(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org, users := b.org(t, "Org A", "800362000000001")
	br := b.browser(t)
	br.loginAdmin(users["admin"])
	if p := br.get("/admin/organisation"); p.status != http.StatusOK || !strings.Contains(p.body, `data-testid="org-hpio"`) {
		t.Fatalf("settings page: %d", p.status)
	}
	form := url.Values{"name": {"Org A Renamed"}, "suburb": {"Fitzroy"}, "state": {"VIC"}, "postcode": {"30655"},
		"receiving_application": {"APP^1.2.3^ISO^EXTRA"}, "receiving_facility": {"FAC|X"},
		"categories": {admin.Categories[0].URI, "http://evil.example/x"}, "delivery_mode": {"push"}}
	p := br.post("/admin/organisation", "/admin/organisation", form)
	if p.status != http.StatusUnprocessableEntity {
		t.Fatalf("invalid settings: %d", p.status)
	}
	for _, want := range []string{"4 digits", "at most 3 parts", "reserves them", "from the list only", `value="Fitzroy"`, `id="postcode-error"`, `aria-describedby="receiving_facility-error"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("invalid settings page lacks %q", want)
		}
	}
	if o, _ := b.store.Organisation(context.Background(), org.ID); o.Name != "Org A" {
		t.Fatal("invalid settings were saved")
	}
	form.Set("postcode", "3065")
	form.Set("receiving_application", "APP^1.2.3^ISO")
	form.Set("receiving_facility", "")
	form["categories"] = []string{admin.Categories[0].URI, admin.Categories[4].URI}
	form.Set("delivery_mode", "retrieve")
	if p := br.post("/admin/organisation", "/admin/organisation", form); p.status != http.StatusSeeOther {
		t.Fatalf("valid settings: %d", p.status)
	}
	o, _ := b.store.Organisation(context.Background(), org.ID)
	if o.Name != "Org A Renamed" || o.Postcode != "3065" || o.DeliveryMode != "retrieve" || len(o.AcceptedCategories) != 2 || o.HPIO != org.HPIO {
		t.Fatalf("saved: %+v", o)
	}
	events, _ := b.store.OrgAuditEvents(context.Background(), org.ID, 10)
	var detail map[string]string
	for _, e := range events {
		if e.Action == "organisation.settings_changed" {
			detail = e.Detail
			break
		}
	}
	if detail["name"] != `"Org A" → "Org A Renamed"` || detail["delivery_mode"] != `"push" → "retrieve"` || detail["state"] != `(empty) → "VIC"` {
		t.Fatalf("audit detail: %v", detail)
	}
}

// TestXSS_NamesRenderEscapedEverywhere stores hostile display and
// organisation names and checks every page that shows them.
func TestXSS_NamesRenderEscapedEverywhere(t *testing.T) {
	t.Parallel()
	for _, evil := range []string{`<script>alert(1)</script>`, `"><img src=x onerror=alert(1)>`} {
		b := setup(t)
		_, users := b.org(t, "Org A", "800362000000001")
		ctx := context.Background()
		if _, err := b.store.Pool().Exec(ctx, `UPDATE users SET display_name = $2 WHERE id = $1`, users["clinician"].ID, evil); err != nil {
			t.Fatal(err)
		}
		br := b.browser(t)
		br.loginAdmin(users["admin"])
		if p := br.post("/admin/organisation", "/admin/organisation", url.Values{"name": {evil}, "delivery_mode": {"push"}}); p.status != http.StatusSeeOther {
			t.Fatalf("save evil org name: %d", p.status)
		}
		link := br.invite("evil@a.test", evil, store.RoleReception)
		clin := b.browser(t)
		clin.login(users["clinician"])
		pages := map[string]page{
			"users":         br.get("/admin/users"),
			"user":          br.get("/admin/users/" + users["clinician"].ID),
			"settings":      br.get("/admin/organisation"),
			"dashboard":     br.get("/dashboard"),
			"audit":         br.get("/admin/audit"),
			"clinician":     clin.get("/dashboard"),
			"sessions":      clin.get("/account/sessions"),
			"invite accept": b.browser(t).get(link),
		}
		for name, p := range pages {
			if p.status != http.StatusOK {
				t.Errorf("%s: %d", name, p.status)
			}
			if strings.Contains(p.body, evil) {
				t.Errorf("%s renders %q unescaped", name, evil)
			}
		}
		if !strings.Contains(pages["users"].body, html.EscapeString(evil)) || !strings.Contains(pages["settings"].body, html.EscapeString(evil)) {
			t.Error("the escaped name is not shown at all")
		}
	}
}

// TestCSRF_NewFormsRefuseMissingToken posts to every new state-changing
// route with a session but without a CSRF token.
func TestCSRF_NewFormsRefuseMissingToken(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, users := b.org(t, "Org A", "800362000000001")
	br := b.browser(t)
	br.loginAdmin(users["admin"])
	link := br.invite("csrf@a.test", "Csrf", store.RoleReception)
	id := users["clinician"].ID
	for _, path := range []string{"/admin/users/invite", "/admin/users/" + id + "/role", "/admin/users/" + id + "/deactivate",
		"/admin/users/" + id + "/reactivate", "/admin/users/" + id + "/reset-mfa", "/admin/users/" + id + "/logout",
		"/admin/organisation", "/account/sessions/logout-others", link} {
		p := br.postRaw(path, url.Values{"role": {"admin"}, "name": {"X"}, "delivery_mode": {"push"},
			"password": {"marble quokka sunrise"}, "confirm": {"marble quokka sunrise"}})
		if p.status != http.StatusForbidden || !strings.Contains(p.body, "Form expired") {
			t.Errorf("POST %s without a token: %d", path, p.status)
		}
	}
	u, _ := b.store.UserByID(context.Background(), id)
	if u.Role != store.RoleClinician || !u.Active {
		t.Fatal("a refused POST changed the user")
	}
	if _, err := b.store.UserByEmail(context.Background(), "csrf@a.test"); err == nil {
		t.Fatal("a refused POST accepted the invitation")
	}
}
