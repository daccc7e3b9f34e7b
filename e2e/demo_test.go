//go:build linux

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opensmd/portal/internal/smd/ns"
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

	// The referral goes in through the CLI (the compose page is another
	// test's); what matters here is the SMD path of the demo network.
	gp, physio := ns.QualifierHPIO+"8003629999000017", ns.QualifierHPIO+"8003629999000033"
	ref, err := os.ReadFile(filepath.Join("..", "internal", "hl7", "testdata", "referral.hl7"))
	if err != nil {
		t.Fatal(err)
	}
	refFile := filepath.Join(t.TempDir(), "referral.hl7")
	if err := os.WriteFile(refFile, ref, 0o644); err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	runCLI(t, inst, "send", "--from", gp, "--to", physio, "--category",
		"http://ns.hl7.org.au/hl7v2/profiles/HL7AU-OO-REF-SIMPLIFIED-201706", "--file", refFile)
	waitFor(t, 30*time.Second, "the referral delivered and confirmed", func() bool {
		out := runCLI(t, inst, "messages", "--org", gp)
		return strings.Contains(out, "→ "+physio+" delivered")
	})
	t.Logf("referral delivered and confirmed %.1f s after submission", time.Since(sent).Seconds())

	signOut(t, ctx)
	fill(t, ctx, "#email", "physio@bayside.demo", "#password", demoPassword)
	wantPage(t, ctx, click(t, ctx, `form[action="/login"] button[type=submit]`), "/dashboard", 200)
	wantPage(t, ctx, navigate(t, ctx, p.URL("/inbox")), "/inbox", 200)
	if n := len(texts(t, ctx, "[data-testid=inbox-row]")); n != 1 {
		t.Errorf("the physiotherapist's inbox has %d messages, want 1", n)
	}
	screenshot(t, ctx, "physio-inbox")
}
