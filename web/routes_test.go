package web_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/opensmd/portal/internal/admin"
	"github.com/opensmd/portal/internal/auth"
	"github.com/opensmd/portal/internal/provider"
	"github.com/opensmd/portal/internal/store"
	"github.com/opensmd/portal/web"
)

// authzWorld is two organisations with a user per role each: "own" is
// the organisation of the browsers, "other" the one they must not reach.
type authzWorld struct {
	b                    *testBundle
	own, other           store.Organisation
	ownUsers, otherUsers map[string]store.User
	admin                *admin.Service
}

// fixture returns the route parameters naming an object of the own
// organisation and of the other one (nil: the route is not organisation
// scoped). me is the browser's user (zero when anonymous). Each call makes
// fresh objects, so a request that changes one does not affect the next.
type fixture func(t *testing.T, w *authzWorld, me store.User) (own, other map[string]string)

// routeFixtures knows every route with parameters. A route added with a
// parameter but no entry here fails TestRoutes_Authorisation: add one.
var routeFixtures = map[string]fixture{
	"/admin/users/:id":            userFixture,
	"/admin/users/:id/role":       userFixture,
	"/admin/users/:id/deactivate": userFixture,
	"/admin/users/:id/reactivate": userFixture,
	"/admin/users/:id/reset-mfa":  userFixture,
	"/admin/users/:id/logout":     userFixture,
	"/admin/users/:id/sessions/:sid/revoke": func(t *testing.T, w *authzWorld, _ store.User) (map[string]string, map[string]string) {
		own, other := w.newUser(t, w.own), w.newUser(t, w.other)
		return map[string]string{"id": own.ID, "sid": w.newSession(t, own)},
			map[string]string{"id": other.ID, "sid": w.newSession(t, other)}
	},
	"/admin/invites/:id/cancel": func(t *testing.T, w *authzWorld, _ store.User) (map[string]string, map[string]string) {
		_, own := w.newInvite(t, w.own)
		_, other := w.newInvite(t, w.other)
		return map[string]string{"id": own.ID}, map[string]string{"id": other.ID}
	},
	"/account/sessions/:sid/revoke": func(t *testing.T, w *authzWorld, me store.User) (map[string]string, map[string]string) {
		if me.ID == "" {
			me = w.ownUsers[store.RoleClinician]
		}
		return map[string]string{"sid": w.newSession(t, me)}, map[string]string{"sid": w.newSession(t, w.otherUsers[store.RoleClinician])}
	},
	// The directory is shared by every organisation: no other-org case.
	"/directory/:id":             listingFixture,
	"/directory/:id/favourite":   listingFixture,
	"/directory/:id/unfavourite": listingFixture,
	"/fhir/:type": func(*testing.T, *authzWorld, store.User) (map[string]string, map[string]string) {
		return map[string]string{"type": "Organization"}, nil
	},
	"/fhir/:type/:id": func(t *testing.T, w *authzWorld, _ store.User) (map[string]string, map[string]string) {
		if _, err := provider.SyncHostedListings(context.Background(), w.b.store); err != nil {
			t.Fatal(err)
		}
		return map[string]string{"type": "Organization", "id": w.own.ID}, nil
	},
	"/invite/:token": func(t *testing.T, w *authzWorld, _ store.User) (map[string]string, map[string]string) {
		token, _ := w.newInvite(t, w.own)
		return map[string]string{"token": token}, nil // the token is the capability: no organisation scope
	},
}

func listingFixture(t *testing.T, w *authzWorld, _ store.User) (map[string]string, map[string]string) {
	l, err := w.b.store.UpsertListing(context.Background(), store.Listing{Kind: store.ListingPractitioner,
		Name: "Fixture practitioner", Source: store.SourceManual, SourceRef: "fixture/" + randomHex(6)})
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{"id": l.ID}, nil
}

func userFixture(t *testing.T, w *authzWorld, _ store.User) (map[string]string, map[string]string) {
	return map[string]string{"id": w.newUser(t, w.own).ID}, map[string]string{"id": w.newUser(t, w.other).ID}
}

// skipRoutes are covered by their own tests.
var skipRoutes = map[string]string{
	"/setup": "needs a one-time set-up token: TestSetup_FirstRunCreatesOrganisationOnce",
	"/demo":  "needs an empty portal and the CLI's demo loader: e2e TestDemoNetwork",
}

// objectRoutes name objects that are costly to make here (a CA-issued key
// pair, a delivered SMD message); the test that makes real ones checks
// their organisation isolation. This test still checks the guard with an
// ID that names nothing: refused roles are refused, admitted ones get 404.
var objectRoutes = map[string]string{
	"/admin/certificates/csr/:id":         "TestCertificates_OrgIsolation",
	"/admin/certificates/:id":             "TestCertificates_OrgIsolation",
	"/admin/certificates/:id/schedule":    "TestCertificates_OrgIsolation",
	"/admin/certificates/:id/retire":      "TestCertificates_OrgIsolation",
	"/admin/notifications/:id/dismiss":    "TestCertificates_OrgIsolation",
	"/inbox/:id":                          "TestInbox_OrgIsolationAndCSRF",
	"/inbox/:id/attachments/:n":           "TestInbox_OrgIsolationAndCSRF",
	"/inbox/:id/source":                   "TestInbox_OrgIsolationAndCSRF",
	"/inbox/:id/print":                    "TestInbox_OrgIsolationAndCSRF",
	"/inbox/:id/respond":                  "TestInbox_OrgIsolationAndCSRF",
	"/inbox/:id/reply":                    "TestInbox_OrgIsolationAndCSRF",
	"/inbox/:id/forward":                  "TestInbox_OrgIsolationAndCSRF",
	"/inbox/:id/assign":                   "TestInbox_OrgIsolationAndCSRF",
	"/inbox/:id/archive":                  "TestInbox_OrgIsolationAndCSRF",
	"/inbox/:id/replies/:rid/retry":       "TestInbox_RepliesShownAndRetried",
	"/sent/:id":                           "TestSent_OrgIsolationAndCSRF",
	"/sent/:id/timeline":                  "TestSent_OrgIsolationAndCSRF",
	"/sent/:id/print":                     "TestSent_OrgIsolationAndCSRF",
	"/sent/:id/retry":                     "TestSent_OrgIsolationAndCSRF",
	"/admin/trust/:id/remove":             "TestTrust_UploadAnchorCRLAndRemove (anchors are provider-wide)",
	"/drafts/:id":                         "TestCompose_DraftIsolation (a draft is sealed by the mailbox)",
	"/drafts/:id/delete":                  "TestCompose_DraftIsolation",
	"/drafts/:id/attachments/:aid/remove": "TestCompose_DraftIsolation",
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (w *authzWorld) newUser(t *testing.T, o store.Organisation) store.User {
	t.Helper()
	u, err := w.b.store.CreateUser(context.Background(), store.NewUser{OrganisationID: o.ID, Email: "u" + randomHex(6) + "@fixture.test",
		DisplayName: "Fixture user", Role: store.RoleClinician, PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// newSession stores a live session for u and returns its reference.
func (w *authzWorld) newSession(t *testing.T, u store.User) string {
	t.Helper()
	ctx := context.Background()
	id, now := randomHex(32), w.b.clock.Now()
	if err := w.b.store.CreateSession(ctx, store.Session{ID: id, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour), IP: "192.0.2.9"}); err != nil {
		t.Fatal(err)
	}
	sessions, err := w.b.store.UserSessions(ctx, u.OrganisationID, u.ID, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sessions {
		if s.ID == id {
			return s.Ref
		}
	}
	t.Fatal("new session not listed")
	return ""
}

func (w *authzWorld) newInvite(t *testing.T, o store.Organisation) (string, store.Invite) {
	t.Helper()
	token, inv, errs, err := w.admin.Invite(context.Background(), admin.Actor{}, o.ID,
		admin.InviteForm{Email: "i" + randomHex(6) + "@fixture.test", Name: "Invitee", Role: store.RoleReception})
	if err != nil || len(errs) > 0 {
		t.Fatalf("invite: %v %v", err, errs)
	}
	return token, inv
}

// snapshot is the other organisation's state that no request of the own
// organisation's users may change.
func (w *authzWorld) snapshot(t *testing.T) string {
	t.Helper()
	var s string
	err := w.b.store.Pool().QueryRow(context.Background(), `SELECT
		(SELECT coalesce(string_agg(concat_ws(',', id, role, active, totp_enabled_at, display_name), ';' ORDER BY id), '') FROM users WHERE organisation_id = $1)
		|| '|' || (SELECT coalesce(string_agg(concat_ws(',', s.ref, s.revoked_at), ';' ORDER BY s.ref), '') FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.organisation_id = $1)
		|| '|' || (SELECT coalesce(string_agg(concat_ws(',', id, accepted_at, cancelled_at), ';' ORDER BY id), '') FROM invites WHERE organisation_id = $1)
		|| '|' || (SELECT concat_ws(',', name, suburb, delivery_mode, require_totp, accepted_categories) FROM organisations WHERE id = $1)`,
		w.other.ID).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// signedIn is a browser with the user it signs in as, able to sign in
// again after a route (sign-out) ended its session.
type signedIn struct {
	br     *browser
	user   store.User
	secret string // TOTP secret of an administrator
}

func (s *signedIn) ensure(t *testing.T, b *testBundle) {
	t.Helper()
	if s.user.ID == "" {
		return
	}
	if p := s.br.get("/dashboard"); p.status == http.StatusOK {
		return
	}
	if s.user.Role != store.RoleAdmin {
		s.br.login(s.user)
		return
	}
	p := s.br.post("/login", "/login", url.Values{"email": {s.user.Email}, "password": {testPassword}})
	if p.location != "/login/totp" {
		t.Fatalf("admin sign-in again: %d %q", p.status, p.location)
	}
	b.clock.Add(31 * time.Second) // a used TOTP step is refused as a replay
	code, _ := auth.TOTPCode(s.secret, b.clock.Now())
	if p := s.br.post("/login/totp", "/login/totp", url.Values{"code": {code}}); p.location != "/dashboard" {
		t.Fatalf("admin TOTP again: %d %q", p.status, p.location)
	}
}

// do sends one request of route r with the parameters filled in; POSTs
// carry a valid CSRF token and an empty form.
func (s *signedIn) do(r web.Route, params map[string]string) page {
	path := r.Path
	for k, v := range params {
		path = strings.ReplaceAll(path, ":"+k, url.PathEscape(v))
	}
	if r.Method == http.MethodGet {
		return s.br.get(path)
	}
	from := "/login"
	if s.user.ID != "" {
		from = "/dashboard"
	}
	return s.br.post(from, path, url.Values{})
}

// TestRoutes_Authorisation derives from web.Routes() every route × anonymous
// and each role × own and other organisation, and checks the status: the
// sign-in page (GET) or 401 (POST) for anonymous visitors of protected
// routes, 403 for a role the route does not admit, 404 and no change for
// another organisation's object, and neither of those for a permitted
// request. POSTs carry a valid CSRF token, so 403 means the role check.
func TestRoutes_Authorisation(t *testing.T) {
	b := setup(t)
	own, ownUsers := b.org(t, "Org A", "800362000000001")
	other, otherUsers := b.org(t, "Org B", "800362000000002")
	if err := b.store.SetOperator(context.Background(), own.ID, true); err != nil {
		t.Fatal(err)
	}
	w := &authzWorld{b: b, own: own, other: other, ownUsers: ownUsers, otherUsers: otherUsers, admin: admin.New(b.store, b.clock.Now)}
	who := []string{"anonymous", store.RoleReception, store.RoleClinician, store.RoleAdmin}
	browsers := map[string]*signedIn{"anonymous": {br: b.browser(t)}}
	for _, role := range who[1:] {
		s := &signedIn{br: b.browser(t), user: ownUsers[role]}
		if role == store.RoleAdmin {
			s.secret = s.br.loginAdmin(s.user)
		} else {
			s.br.login(s.user)
		}
		browsers[role] = s
	}

	checked := 0
	for _, r := range web.Routes() {
		// Policy independent of the table: administration is admin-only and
		// account pages need at least a password.
		if strings.HasPrefix(r.Path, "/admin") && r.Access != web.AdminOnly && r.Access != web.OperatorOnly {
			t.Errorf("%s %s is under /admin but not for administrators", r.Method, r.Path)
		}
		if strings.HasPrefix(r.Path, "/account") && r.Access == web.Public {
			t.Errorf("%s %s is an account page but public", r.Method, r.Path)
		}
		if _, ok := skipRoutes[r.Path]; ok {
			continue
		}
		if _, ok := objectRoutes[r.Path]; ok {
			checked += checkUnknownObject(t, b, r, who, browsers)
			continue
		}
		fix, hasFix := routeFixtures[r.Path]
		if strings.Contains(r.Path, ":") && !hasFix {
			t.Errorf("%s %s has parameters but no entry in routeFixtures: add one", r.Method, r.Path)
			continue
		}
		for _, name := range who {
			s := browsers[name]
			s.ensure(t, b)
			var ownParams, otherParams map[string]string
			if hasFix {
				ownParams, otherParams = fix(t, w, s.user)
			}
			before := w.snapshot(t)
			p := s.do(r, ownParams)
			checkAccess(t, r, name, "own", p)
			if after := w.snapshot(t); after != before {
				t.Errorf("%s %s %s (own organisation) changed the other organisation", name, r.Method, r.Path)
			}
			checked++
			if otherParams == nil {
				continue
			}
			s.ensure(t, b)
			p = s.do(r, otherParams)
			if admitted(r.Access, name) {
				if p.status != http.StatusNotFound {
					t.Errorf("%s %s %s with another organisation's object: %d, want 404", name, r.Method, r.Path, p.status)
				}
			} else {
				checkAccess(t, r, name, "other", p)
			}
			if after := w.snapshot(t); after != before {
				t.Errorf("%s %s %s (other organisation's object) changed it", name, r.Method, r.Path)
			}
			checked++
		}
	}
	t.Logf("%d requests checked over %d routes", checked, len(web.Routes()))
}

// checkUnknownObject requests r with a random UUID for every parameter
// as each of who and returns how many requests it checked.
func checkUnknownObject(t *testing.T, b *testBundle, r web.Route, who []string, browsers map[string]*signedIn) int {
	t.Helper()
	params := map[string]string{}
	for _, seg := range strings.Split(r.Path, "/") {
		if strings.HasPrefix(seg, ":") {
			params[seg[1:]] = uuid.NewString()
		}
	}
	for _, name := range who {
		s := browsers[name]
		s.ensure(t, b)
		p := s.do(r, params)
		if admitted(r.Access, name) {
			if p.status != http.StatusNotFound {
				t.Errorf("%s %s %s with an unknown ID: %d, want 404", name, r.Method, r.Path, p.status)
			}
			continue
		}
		checkAccess(t, r, name, "unknown ID", p)
	}
	return len(who)
}

// admitted reports whether a role (or "anonymous") passes access level a.
func admitted(a web.Access, who string) bool {
	switch a {
	case web.Public:
		return true
	case web.AdminOnly, web.OperatorOnly: // the own organisation operates the portal here
		return who == store.RoleAdmin
	}
	return who != "anonymous"
}

func checkAccess(t *testing.T, r web.Route, who, side string, p page) {
	t.Helper()
	label := fmt.Sprintf("%s %s %s (%s)", who, r.Method, r.Path, side)
	switch {
	case p.status >= 500:
		t.Errorf("%s: %d", label, p.status)
	case who == "anonymous" && r.Access != web.Public:
		if r.Method == http.MethodGet && (p.status != http.StatusSeeOther || p.location != "/login") {
			t.Errorf("%s: %d %q, want a redirect to /login", label, p.status, p.location)
		}
		if r.Method != http.MethodGet && p.status != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", label, p.status)
		}
	case !admitted(r.Access, who):
		if p.status != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", label, p.status)
		}
	default:
		// Permitted: an empty form may be refused as invalid (409, 422)
		// or a sign-in as wrong (401 on POST /login), never as forbidden
		// or not found.
		if p.status == http.StatusForbidden || p.status == http.StatusNotFound ||
			(p.status == http.StatusUnauthorized && r.Path != "/login" && r.Path != "/login/totp") {
			t.Errorf("%s: %d, want the route to serve a permitted user", label, p.status)
		}
	}
}
