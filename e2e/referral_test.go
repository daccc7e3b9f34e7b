//go:build linux

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/opensmd/portal/internal/auth"
	"github.com/opensmd/portal/internal/hi"
	"github.com/opensmd/portal/internal/loadnet"
	"github.com/opensmd/portal/internal/provider"
	"github.com/opensmd/portal/internal/store"
)

const practitionerPassword = "a referral test password"

// TestReferralAcrossProviders is the staff portal's day: a GP at provider A
// finds a physiotherapist hosted at provider B (searching B's published
// FHIR directory from A's search box, and adding it), composes a referral with a PDF and sends it; the
// physiotherapist signs in at B, sees it unread, opens it, views the PDF
// and accepts it; the GP's sent view, left open, reaches "accepted"
// without a reload. Two providers run as separate `portal serve`
// processes with their own databases and TLS identities; the referral and
// every answer (HL7 ACK, read acknowledgement, RRI^I12) travel by SMD.
func TestReferralAcrossProviders(t *testing.T) {
	a, b := startNetwork(t)
	// A searches B's published directory from its own search box.
	a.Setenv("PORTAL_FHIR_REMOTES=http://" + b.HTTPAddr + "/fhir/")
	restartCtx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := a.Restart(restartCtx); err != nil {
		t.Fatalf("restart A with B's directory configured: %v", err)
	}
	gp := addPractitioner(t, a, orgGP, "gp@gp.test", "Dr Alex Morgan", "800361000000101", "General practitioner")
	physio := addPractitioner(t, b, orgPhysio, "sam@physio.test", "Sam Physio", "800361000000201", "Physiotherapist")

	// B imports A's published directory (its administrator's CLI), for
	// the answers B sends back.
	include := "_include=PractitionerRole:practitioner&_include=PractitionerRole:organization&" +
		"_include=PractitionerRole:endpoint&_include=PractitionerRole:location"
	importFrom(t, b, "http://"+a.HTTPAddr+"/fhir/PractitionerRole?"+include)

	pdf := filepath.Join(t.TempDir(), "knee-xray-report.pdf")
	if err := os.WriteFile(pdf, minimalPDF("Right knee X-ray: no fracture."), 0o644); err != nil {
		t.Fatal(err)
	}

	// The GP finds the physiotherapist and composes the referral.
	gpBr := newBrowser(t)
	aURL := "http://" + a.HTTPAddr
	signInAs(t, gpBr, aURL, gp.Email)
	// A does not list the physiotherapist yet: the search finds them in B's
	// directory, and the GP adds their clinic to A's.
	wantPage(t, gpBr, navigate(t, gpBr, aURL+"/directory?q=Physio"), "/directory", 200)
	if remote := textOf(t, gpBr, "[data-testid=remote-results]"); !strings.Contains(remote, "Sam Physio") ||
		!exists(t, gpBr, "[data-testid=remote-result] [data-testid=remote-add]") {
		t.Fatalf("A's search does not show B's physiotherapist to add: %q", remote)
	}
	screenshot(t, gpBr, "gp-directory-remote")
	added := click(t, gpBr, "[data-testid=remote-result] [data-testid=remote-add]")
	if path := currentPath(t, gpBr); !strings.HasPrefix(path, "/directory/") || !strings.Contains(textOf(t, gpBr, "main"), "was added to our directory") {
		t.Fatalf("after adding, the browser is on %s without saying it was added", path)
	}
	wantStatus(t, gpBr, added, 200)
	screenshot(t, gpBr, "gp-directory-added")
	wantPage(t, gpBr, navigate(t, gpBr, aURL+"/directory?q=physiotherapist"), "/directory", 200)
	listing := textOf(t, gpBr, "[data-testid=listing]")
	if n := len(texts(t, gpBr, "[data-testid=listing]")); n != 1 || !strings.Contains(listing, "Sam Physio") ||
		!exists(t, gpBr, "[data-testid=listing] [data-testid=reachable]") {
		t.Fatalf("A's directory search for physiotherapist shows %d listings: %q", n, listing)
	}
	screenshot(t, gpBr, "gp-directory")
	wantPage(t, gpBr, click(t, gpBr, `[data-testid=listing] a[href^="/compose?to="]`), "/compose", 200)
	fillReferral(t, gpBr, pdf)
	screenshot(t, gpBr, "gp-compose")
	wantStatus(t, gpBr, click(t, gpBr, "[data-testid=preview]"), 200)
	if body := strings.ToLower(textOf(t, gpBr, "main")); !strings.Contains(body, "citizen") || !strings.Contains(body, "knee-xray-report.pdf") {
		t.Fatalf("preview lacks the patient or the attachment: %q", body)
	}
	screenshot(t, gpBr, "gp-preview")
	sentAt := time.Now()
	click(t, gpBr, "[data-testid=send]")
	sentPath := currentPath(t, gpBr)
	if !strings.HasPrefix(sentPath, "/sent/") {
		t.Fatalf("after sending the browser is on %s, want /sent/<id>", sentPath)
	}
	waitStep(t, gpBr, "step-delivered", "done", time.Minute)
	t.Logf("delivered (final transport response) %.1f s after sending", time.Since(sentAt).Seconds())
	screenshot(t, gpBr, "gp-sent-delivered")
	// A reload would clear this marker: the page must update by itself.
	query(t, gpBr, "mark the page", evalBool("(window.__notReloaded = true)"))

	// The physiotherapist at B.
	phBr := newBrowser(t)
	bURL := "http://" + b.HTTPAddr
	signInAs(t, phBr, bURL, physio.Email)
	wantPage(t, phBr, navigate(t, phBr, bURL+"/inbox"), "/inbox", 200)
	if !exists(t, phBr, "[data-testid=inbox-row].unread") {
		t.Fatalf("the referral is not unread in B's inbox: %q", texts(t, phBr, "[data-testid=inbox-row]"))
	}
	screenshot(t, phBr, "physio-inbox-unread")
	// Opened from the keyboard: focus the subject link and press Enter.
	wantStatus(t, phBr, pressEnter(t, phBr, "[data-testid=inbox-row].unread a"), 200)
	if banner := textOf(t, phBr, "[data-testid=patient-banner]"); !strings.Contains(strings.ToLower(banner), "citizen") {
		t.Errorf("patient banner %q", banner)
	}
	screenshot(t, phBr, "physio-referral")
	click(t, phBr, "#att-h ~ ul.attachments a:not([download])")
	act(t, phBr, "wait for the PDF", chromedp.WaitVisible(chromedp.CSS("iframe.pdf")))
	pdfType := query(t, phBr, "fetch the PDF", chromedp.Evaluate[string](
		`fetch(document.querySelector("iframe.pdf").src).then(r => r.status + " " + r.headers.get("content-type"))`,
		chromedp.EvalAwaitPromise))
	if pdfType != "200 application/pdf" {
		t.Errorf("the inline PDF answers %q", pdfType)
	}
	screenshot(t, phBr, "physio-pdf")
	wantStatus(t, phBr, pressEnter(t, phBr, `form[action$="/respond"] button.primary`), 200)
	screenshot(t, phBr, "physio-accepted")

	// Back at A, on the page left open.
	waitStep(t, gpBr, "step-answer", "done", time.Minute)
	if got := query(t, gpBr, "read the answer", evalString(
		`document.querySelector("[data-testid=step-answer]").dataset.answer`)); got != "accepted" {
		t.Errorf("answer step says %q, want accepted", got)
	}
	if !query(t, gpBr, "check the marker", evalBool("window.__notReloaded === true")) {
		t.Error("the GP's sent view was reloaded; it should update in place")
	}
	for _, step := range []string{"queued", "sent", "delivered", "acknowledged", "read"} {
		if st := query(t, gpBr, "read "+step, evalString(fmt.Sprintf(
			`(document.querySelector("[data-testid=step-%s]") || {dataset: {}}).dataset.state || ""`, step))); st != "done" {
			t.Errorf("step %s is %q, want done; timeline: %s", step, st, textOf(t, gpBr, "[data-testid=timeline]"))
		}
	}
	t.Logf("accepted at A %.1f s after sending", time.Since(sentAt).Seconds())
	screenshot(t, gpBr, "gp-sent-accepted")

	// The same pages on a 375 px phone screen.
	act(t, gpBr, "narrow the GP's window", chromedp.EmulateViewport(375, 800))
	screenshot(t, gpBr, "gp-sent-accepted-375")
	wantPage(t, gpBr, navigate(t, gpBr, aURL+"/compose"), "/compose", 200)
	screenshot(t, gpBr, "gp-compose-375")
	act(t, phBr, "narrow the physiotherapist's window", chromedp.EmulateViewport(375, 800))
	wantPage(t, phBr, navigate(t, phBr, bURL+"/inbox"), "/inbox", 200)
	screenshot(t, phBr, "physio-inbox-375")
	for name, ctx := range map[string]context.Context{"GP": gpBr, "physiotherapist": phBr} {
		if w := query(t, ctx, "measure the page", chromedp.Evaluate[int]("document.documentElement.scrollWidth")); w > 375 {
			t.Errorf("the %s's page is %d px wide at 375 px: it scrolls sideways", name, w)
		}
	}
}

// fillReferral fills the compose form with a referral for Jane Citizen
// and attaches the file pdf.
func fillReferral(t *testing.T, ctx context.Context, pdf string) {
	t.Helper()
	fill(t, ctx,
		"[name=patient_family]", "Citizen",
		"[name=patient_given]", "Jane",
		"[name=patient_medicare]", "2123456701",
		"[name=reason]", "Right knee pain after a fall; please assess and treat.",
		"[name=clinical]", "Fell on 10 Nov. X-ray: no fracture. Ibuprofen helps.",
	)
	setDate(t, ctx, "[name=patient_dob]", "1980-04-12")
	act(t, ctx, "choose sex", chromedp.SetValue(chromedp.CSS(`[name=patient_sex]`), "F"))
	act(t, ctx, "attach the PDF", chromedp.SetUploadFiles(chromedp.CSS(`input[name=attachment]`), []string{pdf}))
}

// addPractitioner creates an active clinician with an HPI-I at
// organisation orgURI of p and republishes p's hosted listings.
func addPractitioner(t *testing.T, p *loadnet.Provider, orgURI, email, name, hpiiBody, specialty string) store.User {
	t.Helper()
	ctx := context.Background()
	st, err := p.Store(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hpio, err := provider.HPIOFromURI(orgURI)
	if err != nil {
		t.Fatal(err)
	}
	org, err := st.OrganisationByHPIO(ctx, hpio)
	if err != nil {
		t.Fatal(err)
	}
	hash, err := auth.HashPassword(practitionerPassword)
	if err != nil {
		t.Fatal(err)
	}
	u, err := st.CreateUser(ctx, store.NewUser{OrganisationID: org.ID, Email: email, DisplayName: name,
		Role: store.RoleClinician, PasswordHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetPractitioner(ctx, org.ID, u.ID, hi.WithCheckDigit(hpiiBody), "", specialty); err != nil {
		t.Fatal(err)
	}
	if _, err := provider.SyncHostedListings(ctx, st); err != nil {
		t.Fatal(err)
	}
	return u
}

// importFrom runs `portal directory import --url` at provider p.
func importFrom(t *testing.T, p *loadnet.Provider, u string) {
	t.Helper()
	out, err := p.Run(context.Background(), "directory", "import", "--url", u)
	if err != nil {
		t.Fatalf("portal directory import at %s: %v", p.Name, err)
	}
	t.Logf("provider %s imported %s: %s", p.Name, u, strings.TrimSpace(string(out)))
}

// signInAs signs a clinician in with the test password at base.
func signInAs(t *testing.T, ctx context.Context, base, email string) {
	t.Helper()
	wantPage(t, ctx, navigate(t, ctx, base+"/login"), "/login", 200)
	fill(t, ctx, "#email", email, "#password", practitionerPassword)
	wantPage(t, ctx, click(t, ctx, `form[action="/login"] button[type=submit]`), "/dashboard", 200)
}

// setDate sets a date input (typing into one depends on the locale).
func setDate(t *testing.T, ctx context.Context, sel, value string) {
	t.Helper()
	act(t, ctx, "set "+sel, chromedp.SetValue(chromedp.CSS(sel), value))
}

// waitStep waits until the timeline step has state, as the page shows it.
func waitStep(t *testing.T, ctx context.Context, testid, state string, timeout time.Duration) {
	t.Helper()
	sel := fmt.Sprintf("[data-testid=%s][data-state=%s]", testid, state)
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := chromedp.Do(wctx, chromedp.WaitReady(chromedp.CSS(sel))); err != nil {
		t.Fatalf("%s did not become %s within %s (on %s): %s", testid, state, timeout, location(ctx),
			strings.Join(texts(t, ctx, "[data-testid=timeline] li"), " | "))
	}
}

// minimalPDF returns a one-page PDF showing text.
func minimalPDF(text string) []byte {
	stream := fmt.Sprintf("BT /F1 14 Tf 72 720 Td (%s) Tj ET", text)
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(stream), stream),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	var b strings.Builder
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return []byte(b.String())
}

// pressEnter focuses the element sel (a link, a button) and presses Enter,
// as a keyboard user does; it returns the status of the page it leads to.
func pressEnter(t *testing.T, ctx context.Context, sel string) int64 {
	t.Helper()
	actx, cancel := context.WithTimeout(ctx, actionTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(actx, chromedp.Focus(chromedp.CSS(sel)), chromedp.KeyEvent(kb.Enter))
	if err != nil {
		t.Fatalf("Enter on %s (on %s): %v", sel, location(ctx), err)
	}
	if resp == nil {
		return 0
	}
	return resp.Status
}

// wantStatus fails unless a page answered with status.
func wantStatus(t *testing.T, ctx context.Context, got, status int64) {
	t.Helper()
	if got != status {
		t.Fatalf("browser is on %s (HTTP %d), want HTTP %d", location(ctx), got, status)
	}
}
