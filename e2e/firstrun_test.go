//go:build linux

package e2e

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/opensmd/portal/internal/auth"
)

// The first administrator of TestFirstRun.
const (
	orgName     = "Riverbend Medical Centre"
	badHPIO     = "8003620000000019" // fails the Luhn check
	goodHPIO    = "8003620000000013"
	adminName   = "Dr Jo Example"
	adminEmail  = "jo.example@riverbend.example"
	adminPasswd = "correct horse battery staple"
	totpPeriod  = 30 // seconds, RFC 6238 default, as the portal uses
)

var recoveryCodeRE = regexp.MustCompile(`^[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}$`)

// TestFirstRun walks the first-run flow in a real browser: set-up link,
// organisation form (with a field error), first sign-in with mandatory TOTP
// enrolment, recovery codes, dashboard, sign-out, second sign-in with a
// wrong and then a right code, and a restart that must keep the data.
func TestFirstRun(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end browser test: skipped with -short")
	}
	start := time.Now()
	inst := newInstance(t)
	p := startPortal(t, inst)
	if p.SetupURL == "" {
		t.Fatal("portal on an empty database printed no /setup?token= link")
	}
	if !strings.HasPrefix(p.SetupURL, p.BaseURL+"/setup?token=") {
		t.Fatalf("set-up link %q is not under %s", p.SetupURL, p.BaseURL)
	}
	ctx := newBrowser(t)

	// 1. Set up the organisation.
	wantPage(t, ctx, navigate(t, ctx, p.SetupURL), "/setup", 200)
	screenshot(t, ctx, "setup-form")
	fill(t, ctx,
		"#org_name", orgName,
		"#hpio", badHPIO,
		"#admin_name", adminName,
		"#email", adminEmail,
		"#password", adminPasswd,
		"#confirm", adminPasswd)
	wantPage(t, ctx, click(t, ctx, `form[action="/setup"] button[type=submit]`), "/setup", 422)
	screenshot(t, ctx, "setup-invalid-hpio")
	if msg := textOf(t, ctx, "#hpio-error"); !strings.Contains(msg, "check digit") {
		t.Errorf("HPI-O field error = %q, want it to mention the check digit", msg)
	}
	if got := textOf(t, ctx, "[data-testid=form-error]"); got == "" {
		t.Error("no form-level error summary after an invalid HPI-O")
	}
	if errs := texts(t, ctx, ".field .error"); len(errs) != 1 {
		t.Errorf("field errors = %q, want only the HPI-O one", errs)
	}
	for sel, want := range map[string]string{"#org_name": orgName, "#admin_name": adminName, "#email": adminEmail, "#hpio": badHPIO} {
		if got := inputValue(t, ctx, sel); got != want {
			t.Errorf("after the error %s holds %q, want %q kept", sel, got, want)
		}
	}
	for _, sel := range []string{"#password", "#confirm"} {
		if got := inputValue(t, ctx, sel); got != "" {
			t.Errorf("after the error %s is re-filled (%d chars): passwords must not be echoed", sel, len(got))
		}
	}
	if !isFocused(t, ctx, "#hpio") {
		t.Error("focus is not on the invalid HPI-O field")
	}
	fill(t, ctx, "#hpio", goodHPIO, "#password", adminPasswd, "#confirm", adminPasswd)
	wantPage(t, ctx, click(t, ctx, `form[action="/setup"] button[type=submit]`), "/login", 200)
	if msg := textOf(t, ctx, "main .flash-success"); !strings.Contains(msg, "organisation is set up") {
		t.Errorf("success flash = %q", msg)
	}
	screenshot(t, ctx, "login-after-setup")

	// The set-up link is single-use.
	wantPage(t, ctx, navigate(t, ctx, p.SetupURL), "/setup", 403)
	if title := textOf(t, ctx, "[data-testid=error-page] h1"); !strings.Contains(title, "not valid") {
		t.Errorf("used set-up link shows %q", title)
	}
	screenshot(t, ctx, "setup-link-used")

	// 2. First sign-in: administrators must enrol in TOTP.
	signIn(t, ctx, p, "/account/mfa/enrol")
	shown := textOf(t, ctx, "[data-testid=totp-secret]")
	secret := strings.ReplaceAll(shown, " ", "")
	if len(shown) <= len(secret) {
		t.Errorf("TOTP key %q is not grouped for typing", shown)
	}
	if len(secret) < 16 {
		t.Fatalf("TOTP key %q looks too short", secret)
	}
	if ok := query(t, ctx, "check QR image", evalBool(`(() => { const i = document.querySelector("main img"); return !!i && i.complete && i.naturalWidth > 0; })()`)); !ok {
		t.Error("the enrolment QR code image did not load")
	}
	screenshot(t, ctx, "totp-enrol")
	code, usedStep := nextTOTP(t, secret, 0)
	fill(t, ctx, "#code", code)
	wantPage(t, ctx, click(t, ctx, `form[action="/account/mfa/enrol"] button[type=submit]`), "/account/mfa/enrol", 200)
	codes := texts(t, ctx, "[data-testid=recovery-codes] li")
	if len(codes) != 10 {
		t.Errorf("got %d recovery codes, want 10: %q", len(codes), codes)
	}
	seen := map[string]bool{}
	for _, c := range codes {
		if !recoveryCodeRE.MatchString(c) || seen[c] {
			t.Errorf("recovery code %q is malformed or repeated", c)
		}
		seen[c] = true
	}
	screenshot(t, ctx, "recovery-codes")
	wantPage(t, ctx, click(t, ctx, `a.button.primary[href="/dashboard"]`), "/dashboard", 200)
	checkDashboard(t, ctx)
	screenshot(t, ctx, "dashboard")

	// 3. Sign out, sign in again: wrong code, then the next step's code.
	signOut(t, ctx)
	screenshot(t, ctx, "signed-out")
	signIn(t, ctx, p, "/login/totp")
	screenshot(t, ctx, "totp-step")
	fill(t, ctx, "#code", wrongTOTP(t, secret))
	wantPage(t, ctx, click(t, ctx, `form[action="/login/totp"] button[type=submit]`), "/login/totp", 401)
	if msg := textOf(t, ctx, "#code-error"); !strings.Contains(msg, "not right") {
		t.Errorf("wrong-code field error = %q", msg)
	}
	if !exists(t, ctx, `#code[aria-invalid="true"]`) {
		t.Error("code field not marked invalid")
	}
	screenshot(t, ctx, "totp-wrong-code")
	usedStep = enterTOTP(t, ctx, secret, usedStep)
	checkDashboard(t, ctx)
	screenshot(t, ctx, "dashboard-after-totp")

	// 4. Restart on the same data: no set-up link, data and session kept.
	p.Stop(t)
	p = startPortal(t, inst)
	if p.SetupURL != "" {
		t.Errorf("portal printed a set-up link after restart: %s", p.SetupURL)
	}
	wantPage(t, ctx, navigate(t, ctx, p.URL("/dashboard")), "/dashboard", 200)
	checkDashboard(t, ctx)
	screenshot(t, ctx, "session-kept-after-restart")
	signOut(t, ctx)
	wantPage(t, ctx, navigate(t, ctx, p.URL("/")), "/login", 200)
	signIn(t, ctx, p, "/login/totp")
	screenshot(t, ctx, "totp-after-restart")
	enterTOTP(t, ctx, secret, usedStep)
	checkDashboard(t, ctx)
	screenshot(t, ctx, "dashboard-after-restart")
	t.Logf("first-run flow took %s", time.Since(start).Round(time.Second))
}

// signIn submits the admin's e-mail and password and expects to land on
// wantPath (the TOTP step or the enrolment page).
func signIn(t *testing.T, ctx context.Context, p *portal, wantPath string) {
	t.Helper()
	wantPage(t, ctx, navigate(t, ctx, p.URL("/login")), "/login", 200)
	fill(t, ctx, "#email", adminEmail, "#password", adminPasswd)
	wantPage(t, ctx, click(t, ctx, `form[action="/login"] button[type=submit]`), wantPath, 200)
}

// signOut uses the header's sign-out button and expects the login page
// with its flash.
func signOut(t *testing.T, ctx context.Context) {
	t.Helper()
	wantPage(t, ctx, click(t, ctx, `header form[action="/logout"] button[type=submit]`), "/login", 200)
	if msg := textOf(t, ctx, "main .flash-success"); !strings.Contains(msg, "signed out") {
		t.Errorf("sign-out flash = %q", msg)
	}
	if exists(t, ctx, "[data-testid=whoami]") {
		t.Error("header still shows the user after signing out")
	}
}

// enterTOTP submits a code of a step after usedStep (waiting for that step
// if need be: the portal refuses a replayed step) and expects the
// dashboard. It returns the step used.
func enterTOTP(t *testing.T, ctx context.Context, secret string, usedStep int64) int64 {
	t.Helper()
	code, step := nextTOTP(t, secret, usedStep)
	fill(t, ctx, "#code", code)
	wantPage(t, ctx, click(t, ctx, `form[action="/login/totp"] button[type=submit]`), "/dashboard", 200)
	return step
}

// nextTOTP returns the current code of secret and its step, first waiting
// (at most one period) until the step is later than usedStep.
func nextTOTP(t *testing.T, secret string, usedStep int64) (string, int64) {
	t.Helper()
	next := time.Unix((usedStep+1)*totpPeriod, 0)
	if wait := time.Until(next); wait > 0 {
		if wait > totpPeriod*time.Second+time.Second {
			t.Fatalf("next TOTP step is %s away: clock went backwards?", wait)
		}
		t.Logf("waiting %s for the next TOTP step (a used step is refused as a replay)", wait.Round(100*time.Millisecond))
		time.Sleep(wait + 100*time.Millisecond)
	}
	now := time.Now()
	code, err := auth.TOTPCode(secret, now)
	if err != nil {
		t.Fatalf("compute TOTP code: %v", err)
	}
	return code, now.Unix() / totpPeriod
}

// wrongTOTP returns a 6-digit code that matches none of the steps the
// portal would accept in the next minute.
func wrongTOTP(t *testing.T, secret string) string {
	t.Helper()
	now := time.Now()
	valid := map[string]bool{}
	for d := -2; d <= 3; d++ {
		c, err := auth.TOTPCode(secret, now.Add(time.Duration(d*totpPeriod)*time.Second))
		if err != nil {
			t.Fatalf("compute TOTP code: %v", err)
		}
		valid[c] = true
	}
	for i := 0; ; i++ {
		c := fmt.Sprintf("%06d", (123456+i*111111)%1000000)
		if !valid[c] {
			return c
		}
	}
}

// checkDashboard expects the dashboard with the organisation's name and
// HPI-O, and the signed-in administrator in the header.
func checkDashboard(t *testing.T, ctx context.Context) {
	t.Helper()
	if got := textOf(t, ctx, "[data-testid=dashboard] h2"); got != orgName {
		t.Errorf("dashboard organisation = %q, want %q", got, orgName)
	}
	if got := strings.ReplaceAll(textOf(t, ctx, "[data-testid=dashboard] code"), " ", ""); got != goodHPIO {
		t.Errorf("dashboard HPI-O = %q, want %q", got, goodHPIO)
	}
	who := textOf(t, ctx, "[data-testid=whoami]")
	if !strings.Contains(who, adminName) || !strings.Contains(who, orgName) {
		t.Errorf("header shows %q, want the admin's and organisation's names", who)
	}
	if exists(t, ctx, "[data-testid=dashboard] .flash-info") {
		t.Error("dashboard says two-step sign-in is off for an enrolled administrator")
	}
}

// inputValue is the live value of an input.
func inputValue(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return query(t, ctx, "read value of "+sel, evalString(fmt.Sprintf("document.querySelector(%q).value", sel)))
}

// isFocused reports whether sel has the keyboard focus.
func isFocused(t *testing.T, ctx context.Context, sel string) bool {
	t.Helper()
	return query(t, ctx, "check focus of "+sel, evalBool(fmt.Sprintf("document.activeElement === document.querySelector(%q)", sel)))
}
