//go:build linux

package e2e

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

const (
	// browserLifetime bounds everything a test does in one browser.
	browserLifetime = 3 * time.Minute
	// actionTimeout bounds one step: a click and the page it loads, a query.
	actionTimeout = 20 * time.Second
	// debianChromium is where Debian's chromium package installs the browser.
	debianChromium = "/usr/bin/chromium"
)

// chromiumPath finds Debian's Chromium; tests fail (not skip) without it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if fi, err := os.Stat(debianChromium); err == nil && fi.Mode()&0o111 != 0 {
		return debianChromium
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	t.Fatalf("Chromium not found at %s or on PATH: install it with `apt-get install chromium` (go tool task test:deps does)", debianChromium)
	return ""
}

// newBrowser starts a headless Chromium with a fresh profile and returns the
// chromedp context of its first tab. The browser is closed when the test
// ends; uncaught JavaScript exceptions and console errors of any page fail
// the test.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	exe := chromiumPath(t)
	profile := filepath.Join(t.TempDir(), "chromium-profile")
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, // the tests may run as root
		chromedp.DisableGPU,
		chromedp.UserDataDir(profile),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.WindowSize(1280, 800),
	)
	parent, cancelParent := context.WithTimeout(context.Background(), browserLifetime)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(parent, opts...)

	var mu sync.Mutex
	var jsErrors []string
	listen := func(ev any) {
		var msg string
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			msg = "uncaught exception: " + describeException(ev.ExceptionDetails)
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				msg = "console.error: " + consoleArgs(ev.Args)
			}
		}
		if msg != "" {
			mu.Lock()
			jsErrors = append(jsErrors, msg)
			mu.Unlock()
		}
	}
	ctx, cancelCtx := chromedp.NewContext(allocCtx, chromedp.WithListener(listen))
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc() // waits for the browser process to exit
		cancelParent()
		mu.Lock()
		defer mu.Unlock()
		for _, e := range jsErrors {
			t.Errorf("page JavaScript: %s", e)
		}
	})
	// The first run starts the browser; it lives as long as ctx.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium (%s): %v", exe, err)
	}
	return ctx
}

func describeException(d *runtime.ExceptionDetails) string {
	if d == nil {
		return "(no details)"
	}
	s := d.Text
	if d.Exception != nil && d.Exception.Description != "" {
		s += " " + d.Exception.Description
	}
	if d.URL != "" {
		s += fmt.Sprintf(" at %s:%d", d.URL, d.LineNumber+1)
	}
	return s
}

func consoleArgs(args []*runtime.RemoteObject) string {
	parts := make([]string, 0, len(args))
	for _, a := range args {
		switch {
		case a == nil:
		case a.Description != "":
			parts = append(parts, a.Description)
		default:
			parts = append(parts, string(a.Value))
		}
	}
	return strings.Join(parts, " ")
}

// act runs actions with actionTimeout; a failure is fatal and names what
// was being done and the page the browser was on.
func act(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	actx, cancel := context.WithTimeout(ctx, actionTimeout)
	defer cancel()
	if err := chromedp.Do(actx, actions...); err != nil {
		t.Fatalf("%s (on %s): %v", what, location(ctx), err)
	}
}

// query runs one action that returns a value, like act.
func query[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	actx, cancel := context.WithTimeout(ctx, actionTimeout)
	defer cancel()
	v, err := chromedp.Run(actx, a)
	if err != nil {
		t.Fatalf("%s (on %s): %v", what, location(ctx), err)
	}
	return v
}

// location is the page's URL, for messages; it never fails.
func location(ctx context.Context) string {
	lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	loc, err := chromedp.Run(lctx, chromedp.Location())
	if err != nil {
		return "unknown page"
	}
	return loc
}

// navigate opens u, waits for the page and returns its HTTP status.
func navigate(t *testing.T, ctx context.Context, u string) int64 {
	t.Helper()
	resp := query(t, ctx, "open "+u, chromedp.NavigateResponse(u))
	if resp == nil {
		return 0
	}
	return resp.Status
}

// click clicks the element sel (a submit button, a link) and waits for the
// page it leads to; it returns that page's HTTP status after redirects.
func click(t *testing.T, ctx context.Context, sel string) int64 {
	t.Helper()
	actx, cancel := context.WithTimeout(ctx, actionTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(actx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("click %s (on %s): %v", sel, location(ctx), err)
	}
	if resp == nil {
		return 0
	}
	return resp.Status
}

// fill types values into inputs, clearing each first: pairs of CSS
// selector and value.
func fill(t *testing.T, ctx context.Context, pairs ...string) {
	t.Helper()
	if len(pairs)%2 != 0 {
		t.Fatalf("fill: odd number of arguments")
	}
	for i := 0; i < len(pairs); i += 2 {
		sel := pairs[i]
		// chromedp.SetValue(sel, "") reports a failure for the empty
		// string, so the field is emptied with a script.
		clear := evalBool(fmt.Sprintf("(e => !!e && (e.value = '', true))(document.querySelector(%q))", sel))
		if !query(t, ctx, "clear "+sel, clear) {
			t.Fatalf("no field %s on %s", sel, location(ctx))
		}
		act(t, ctx, "type into "+sel, chromedp.SendKeys(chromedp.CSS(sel), pairs[i+1]))
	}
}

// textOf returns the visible text of the first element matching sel,
// waiting for it to be visible.
func textOf(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	act(t, ctx, "wait for "+sel, chromedp.WaitVisible(chromedp.CSS(sel)))
	return strings.TrimSpace(query(t, ctx, "read "+sel, chromedp.Text(chromedp.CSS(sel))))
}

// exists reports whether an element matches sel now, without waiting.
func exists(t *testing.T, ctx context.Context, sel string) bool {
	t.Helper()
	return query(t, ctx, "look for "+sel, evalBool(fmt.Sprintf("document.querySelector(%q) !== null", sel)))
}

// texts returns the text of every element matching sel, without waiting.
func texts(t *testing.T, ctx context.Context, sel string) []string {
	t.Helper()
	return query(t, ctx, "read all "+sel, chromedp.Evaluate[[]string](
		fmt.Sprintf("Array.from(document.querySelectorAll(%q), e => e.innerText.trim())", sel)))
}

// currentPath returns the path of the page the browser shows.
func currentPath(t *testing.T, ctx context.Context) string {
	t.Helper()
	loc := query(t, ctx, "read location", chromedp.Location())
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatalf("parse location %q: %v", loc, err)
	}
	return u.Path
}

// wantPage fails unless the browser shows path with HTTP status.
func wantPage(t *testing.T, ctx context.Context, gotStatus int64, path string, status int64) {
	t.Helper()
	if got := currentPath(t, ctx); got != path || gotStatus != status {
		t.Fatalf("browser is on %s (HTTP %d), want %s (HTTP %d)", got, gotStatus, path, status)
	}
}

var shots struct {
	mu sync.Mutex
	n  map[string]int
}

// screenshot saves a full-page PNG of the current page as
// out/<TestName>/NN-name.png (relative to this package) and logs its path,
// then audits the page's accessibility (auditPage): every page a test
// shows is checked. The test's folder is emptied before its first
// screenshot.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := filepath.Join("out", filepath.FromSlash(t.Name()))
	shots.mu.Lock()
	if shots.n == nil {
		shots.n = map[string]int{}
	}
	shots.n[t.Name()]++
	n := shots.n[t.Name()]
	shots.mu.Unlock()
	if n == 1 {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatalf("clear %s: %v", dir, err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("create %s: %v", dir, err)
	}
	png := query(t, ctx, "screenshot "+name, chromedp.FullScreenshot(100))
	path := filepath.Join(dir, fmt.Sprintf("%02d-%s.png", n, name))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatalf("save screenshot: %v", err)
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	t.Logf("screenshot %s", path)
	auditPage(t, ctx, name)
}

// evalBool and evalString evaluate a JavaScript expression in the page.
func evalBool(expr string) chromedp.Action[bool]     { return chromedp.Evaluate[bool](expr) }
func evalString(expr string) chromedp.Action[string] { return chromedp.Evaluate[string](expr) }
