//go:build linux

package e2e

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// axeSource is axe-core from npm (e2e/testdata/axe-core/VERSION), the
// accessibility engine the audit injects into each page.
//
//go:embed testdata/axe-core/axe.min.js
var axeSource string

// axeViolation is one failed axe rule on a page.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any  `json:"target"`
		HTML   string `json:"html"`
	} `json:"nodes"`
}

// axeLog collects every audited page's result for the test log: the issue
// asks the note to list them.
var axeLog struct {
	mu    sync.Mutex
	pages []string
}

// auditPage runs axe-core (WCAG 2.0/2.1 A and AA rules and best practices)
// on the page the browser shows and fails the test on any serious or
// critical violation; minor and moderate ones are logged.
func auditPage(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	loaded := query(t, ctx, "load axe-core", evalBool("typeof window.axe === 'object'"))
	if !loaded {
		act(t, ctx, "inject axe-core", chromedp.Evaluate[chromedp.Void](axeSource+";undefined"))
	}
	js := `axe.run(document, {resultTypes: ['violations'],
		runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})
		.then(r => JSON.stringify(r.violations))`
	raw := query(t, ctx, "run axe-core on "+name, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	var vs []axeViolation
	if err := json.Unmarshal([]byte(raw), &vs); err != nil {
		t.Fatalf("axe result on %s: %v", name, err)
	}
	counts := map[string]int{}
	for _, v := range vs {
		counts[v.Impact]++
		line := fmt.Sprintf("axe %s: %s (%s) %s", name, v.ID, v.Impact, v.Help)
		for _, n := range v.Nodes[:min(3, len(v.Nodes))] {
			line += fmt.Sprintf("\n    %v %s", n.Target, truncateHTML(n.HTML))
		}
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Errorf("%s", line)
		} else {
			t.Logf("%s", line)
		}
	}
	summary := fmt.Sprintf("%s (%s): critical %d, serious %d, moderate %d, minor %d", name, location(ctx),
		counts["critical"], counts["serious"], counts["moderate"], counts["minor"])
	axeLog.mu.Lock()
	axeLog.pages = append(axeLog.pages, summary)
	axeLog.mu.Unlock()
	t.Logf("axe %s", summary)
}

func truncateHTML(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 160 {
		return s[:160] + "…"
	}
	return s
}
