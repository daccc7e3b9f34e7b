//go:build linux

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDemoNetwork is a newcomer's first minute: an empty portal offers the
// demo network; loading it needs no restart; the GP finds the
// physiotherapist in the directory; a referral from the GP practice
// reaches the clinic's inbox through the whole SMD path (sealed, mutual
// TLS, opened, final transport response) within seconds.
func TestDemoNetwork(t *testing.T) {
	inst := newInstance(t)
	p := startPortal(t, inst)
	ctx := newBrowser(t)

	wantPage(t, ctx, navigate(t, ctx, p.URL("/")), "/", 200)
	screenshot(t, ctx, "welcome")
	wantPage(t, ctx, click(t, ctx, "[data-testid=load-demo]"), "/login", 200)
	if msg := textOf(t, ctx, "main .flash-success"); !strings.Contains(msg, "physio@bayside.demo") {
		t.Errorf("after loading, the flash says %q", msg)
	}
	screenshot(t, ctx, "demo-loaded")

	fill(t, ctx, "#email", "gp@greenfield.demo", "#password", demoPassword)
	wantPage(t, ctx, click(t, ctx, `form[action="/login"] button[type=submit]`), "/dashboard", 200)
	wantPage(t, ctx, navigate(t, ctx, p.URL("/directory?q=physio")), "/directory", 200)
	textOf(t, ctx, "[data-testid=listing]")
	listings := strings.Join(texts(t, ctx, "[data-testid=listing]"), "\n---\n")
	if !strings.Contains(listings, "DEMO Jordan Physio") || !strings.Contains(listings, "Physiotherapist") {
		t.Errorf("directory search for physio shows %q", listings)
	}
	if !exists(t, ctx, "[data-testid=listing] [data-testid=reachable]") {
		t.Error("the physiotherapist is not shown as reachable by secure messaging")
	}
	screenshot(t, ctx, "directory-physio")

	// The GP writes the referral from the listing and sends it.
	compose := query(t, ctx, "find the physiotherapist's referral link", evalString(
		`[...document.querySelectorAll("[data-testid=listing]")].find(e => e.innerText.includes("Jordan"))`+
			`.querySelector('a[href^="/compose?to="]').getAttribute("href")`))
	wantPage(t, ctx, navigate(t, ctx, p.URL(compose)), "/compose", 200)
	pdf := filepath.Join(t.TempDir(), "knee-xray-report.pdf")
	if err := os.WriteFile(pdf, minimalPDF("Right knee X-ray: no fracture."), 0o644); err != nil {
		t.Fatal(err)
	}
	fillReferral(t, ctx, pdf)
	sent := time.Now()
	wantStatus(t, ctx, click(t, ctx, "form [data-testid=send]"), 200)
	if path := currentPath(t, ctx); !strings.HasPrefix(path, "/sent/") {
		t.Fatalf("after sending the browser is on %s, want /sent/<id>", path)
	}
	waitStep(t, ctx, "step-delivered", "done", 30*time.Second)
	t.Logf("referral delivered and confirmed %.1f s after sending (as the timeline, polled every 2 s, shows)", time.Since(sent).Seconds())
	screenshot(t, ctx, "gp-sent")

	signOut(t, ctx)
	fill(t, ctx, "#email", "physio@bayside.demo", "#password", demoPassword)
	wantPage(t, ctx, click(t, ctx, `form[action="/login"] button[type=submit]`), "/dashboard", 200)
	wantPage(t, ctx, navigate(t, ctx, p.URL("/inbox")), "/inbox", 200)
	if n := len(texts(t, ctx, "[data-testid=inbox-row]")); n != 1 {
		t.Errorf("the physiotherapist's inbox has %d messages, want 1", n)
	}
	screenshot(t, ctx, "physio-inbox")
}
