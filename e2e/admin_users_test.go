//go:build linux

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

const (
	inviteeName   = "Sam Physio"
	inviteeEmail  = "sam.physio@riverbend.example"
	inviteePasswd = "marble quokka sunrise"
)

// TestAdminInvite walks invitation and forced sign-out in two browsers: the
// administrator requires two-step sign-in for everyone, invites a
// clinician; the clinician opens the link in a fresh browser, sets a
// password, enrols TOTP and lands signed in; the administrator sees them
// active with two-step sign-in on, signs them out everywhere, and the
// clinician's next page load goes to the sign-in page.
func TestAdminInvite(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end browser test: skipped with -short")
	}
	start := time.Now()
	p := startPortal(t, newInstance(t))
	adm := newBrowser(t)
	setUpOrganisation(t, adm, p)

	// Require two-step sign-in for everyone.
	wantPage(t, adm, navigate(t, adm, p.URL("/admin/organisation")), "/admin/organisation", 200)
	act(t, adm, "tick require TOTP", chromedp.Click(chromedp.CSS("#require_totp")))
	screenshot(t, adm, "organisation-settings")
	wantPage(t, adm, click(t, adm, `form[action="/admin/organisation"] button[type=submit]`), "/admin/organisation", 200)
	if msg := textOf(t, adm, "main .flash-success"); !strings.Contains(msg, "saved") {
		t.Errorf("settings flash = %q", msg)
	}

	// Invite a clinician; the link is shown once.
	wantPage(t, adm, navigate(t, adm, p.URL("/admin/users/invite")), "/admin/users/invite", 200)
	fill(t, adm, "#name", inviteeName, "#email", inviteeEmail)
	act(t, adm, "choose role", chromedp.SetValue(chromedp.CSS("#role"), "clinician"))
	screenshot(t, adm, "invite-form")
	wantPage(t, adm, click(t, adm, `form[action="/admin/users/invite"] button[type=submit]`), "/admin/users/invite", 200)
	link := inputValue(t, adm, "#invite-link")
	if !strings.HasPrefix(link, p.BaseURL+"/invite/") {
		t.Fatalf("invitation link %q is not under %s/invite/", link, p.BaseURL)
	}
	screenshot(t, adm, "invite-link")

	// The clinician, in a browser of their own.
	usr := newBrowser(t)
	wantPage(t, usr, navigate(t, usr, link), pathOf(link), 200)
	if got := textOf(t, usr, "[data-testid=invite-email]"); got != inviteeEmail {
		t.Errorf("invitation page shows %q, want %q", got, inviteeEmail)
	}
	if got := inputValue(t, usr, "#name"); got != inviteeName {
		t.Errorf("name field holds %q, want the invited name", got)
	}
	screenshot(t, usr, "invite-accept")
	fill(t, usr, "#password", inviteePasswd, "#confirm", inviteePasswd)
	wantPage(t, usr, click(t, usr, `main form button[type=submit]`), "/account/mfa/enrol", 200)
	secret := strings.ReplaceAll(textOf(t, usr, "[data-testid=totp-secret]"), " ", "")
	screenshot(t, usr, "invitee-enrol")
	code, _ := nextTOTP(t, secret, 0)
	fill(t, usr, "#code", code)
	wantPage(t, usr, click(t, usr, `form[action="/account/mfa/enrol"] button[type=submit]`), "/account/mfa/enrol", 200)
	if n := len(texts(t, usr, "[data-testid=recovery-codes] li")); n != 10 {
		t.Errorf("invitee got %d recovery codes, want 10", n)
	}
	wantPage(t, usr, click(t, usr, `a.button.primary[href="/dashboard"]`), "/dashboard", 200)
	if who := textOf(t, usr, "[data-testid=whoami]"); !strings.Contains(who, inviteeName) || !strings.Contains(who, orgName) {
		t.Errorf("invitee's header shows %q", who)
	}
	screenshot(t, usr, "invitee-dashboard")

	// The administrator sees them active with two-step sign-in on.
	wantPage(t, adm, navigate(t, adm, p.URL("/admin/users")), "/admin/users", 200)
	row := fmt.Sprintf(`[data-testid=user-row][data-email=%q]`, inviteeEmail)
	if got := textOf(t, adm, row+" [data-testid=user-status]"); got != "Active" {
		t.Errorf("invitee status = %q, want Active", got)
	}
	if got := textOf(t, adm, row+" [data-testid=user-mfa]"); got != "On" {
		t.Errorf("invitee two-step = %q, want On", got)
	}
	if exists(t, adm, "[data-testid=invites]") {
		t.Error("the accepted invitation is still listed as pending")
	}
	screenshot(t, adm, "users-with-invitee")
	click(t, adm, row+" a")
	if n := len(texts(t, adm, "[data-testid=session-row]")); n != 1 {
		t.Errorf("invitee has %d sessions listed, want 1", n)
	}
	screenshot(t, adm, "invitee-sessions")
	click(t, adm, `main form[action$="/logout"] button[type=submit]`)
	if msg := textOf(t, adm, "main .flash-success"); !strings.Contains(msg, "signed out") {
		t.Errorf("force sign-out flash = %q", msg)
	}
	if !exists(t, adm, "[data-testid=no-sessions]") {
		t.Error("sessions still listed after signing the user out")
	}
	screenshot(t, adm, "invitee-signed-out")

	// The clinician's next page load goes to the sign-in page.
	wantPage(t, usr, navigate(t, usr, p.URL("/dashboard")), "/login", 200)
	screenshot(t, usr, "invitee-next-page")
	t.Logf("invitation flow took %s", time.Since(start).Round(time.Second))
}

// setUpOrganisation creates the organisation through the set-up link and
// signs its administrator in with TOTP enrolment.
func setUpOrganisation(t *testing.T, ctx context.Context, p *portal) {
	t.Helper()
	wantPage(t, ctx, navigate(t, ctx, p.SetupURL), "/setup", 200)
	fill(t, ctx, "#org_name", orgName, "#hpio", goodHPIO, "#admin_name", adminName, "#email", adminEmail,
		"#password", adminPasswd, "#confirm", adminPasswd)
	wantPage(t, ctx, click(t, ctx, `form[action="/setup"] button[type=submit]`), "/login", 200)
	signIn(t, ctx, p, "/account/mfa/enrol")
	secret := strings.ReplaceAll(textOf(t, ctx, "[data-testid=totp-secret]"), " ", "")
	code, _ := nextTOTP(t, secret, 0)
	fill(t, ctx, "#code", code)
	wantPage(t, ctx, click(t, ctx, `form[action="/account/mfa/enrol"] button[type=submit]`), "/account/mfa/enrol", 200)
	wantPage(t, ctx, click(t, ctx, `a.button.primary[href="/dashboard"]`), "/dashboard", 200)
}

func pathOf(u string) string {
	if i := strings.Index(u, "/invite/"); i >= 0 {
		return u[i:]
	}
	return u
}
