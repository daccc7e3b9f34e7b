package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/opensmd/portal/web"
)

// TestRoutes_AccessFromTheTable checks every GET route of the route table
// for an anonymous visitor and each role: a route added to the table without
// the right access level fails here.
func TestRoutes_AccessFromTheTable(t *testing.T) {
	b := setup(t)
	_, users := b.org(t, "Org A", "800362000000001")
	browsers := map[string]*browser{"anonymous": b.browser(t)}
	for _, role := range []string{"clinician", "reception"} {
		browsers[role] = b.browser(t)
		browsers[role].login(users[role])
	}
	browsers["admin"] = b.browser(t)
	browsers["admin"].loginAdmin(users["admin"])

	for _, r := range web.Routes() {
		// Policy independent of the table: administration is admin-only and
		// account pages need at least a password.
		if strings.HasPrefix(r.Path, "/admin") && r.Access != web.AdminOnly {
			t.Errorf("%s %s is under /admin but not AdminOnly", r.Method, r.Path)
		}
		if strings.HasPrefix(r.Path, "/account") && r.Access == web.Public {
			t.Errorf("%s %s is an account page but public", r.Method, r.Path)
		}
		if r.Method != http.MethodGet {
			continue
		}
		path := strings.ReplaceAll(r.Path, ":id", users["clinician"].ID)
		if r.Path == "/setup" {
			continue // needs a one-time token: covered by TestSetup_FirstRunCreatesOrganisationOnce
		}
		for who, br := range browsers {
			p := br.get(path)
			signedIn := who != "anonymous"
			switch {
			case r.Access == web.Public:
				if p.status >= 400 {
					t.Errorf("%s GET %s (public): %d", who, path, p.status)
				}
			case !signedIn:
				if p.status != http.StatusSeeOther || p.location != "/login" {
					t.Errorf("anonymous GET %s: %d %q, want redirect to /login", path, p.status, p.location)
				}
			case r.Access == web.AdminOnly && who != "admin":
				if p.status != http.StatusForbidden {
					t.Errorf("%s GET %s (admin only): %d, want 403", who, path, p.status)
				}
			case p.status == http.StatusNotFound && strings.Contains(r.Path, ":") && !strings.HasPrefix(r.Path, "/admin/users"):
				// Past the guard to a record that does not exist: the
				// placeholder ID names no message (see the inbox tests).
			default:
				if p.status >= 400 {
					t.Errorf("%s GET %s: %d", who, path, p.status)
				}
			}
		}
	}
}
