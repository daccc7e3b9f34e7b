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

	"github.com/opensmd/portal/internal/mailbox"
	"github.com/opensmd/portal/internal/store"
)

// sentReply makes a sent item the way the inbox's Reply does: the
// physio replies to a referral from the GP whose patient is named family.
// The send job is queued, never worked here.
func sentReply(t *testing.T, b *testBundle, physio, gp store.Organisation, physioUser store.User, family string) string {
	t.Helper()
	ref := b.receive(t, physio, orgURI(gp), testReferral(t, gp, physio, refOpts{family: family, given: "Eve",
		medicare: "2950974202", controlID: "R-" + family[:1]}))
	id, err := b.mail.Reply(context.Background(), physio.ID, ref, mailbox.InboxUser{ID: physioUser.ID}, "Seen today.", testPDF)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func sentRows(p page) int { return strings.Count(p.body, `data-testid="sent-row"`) }

func TestSent_ListDetailTimelineRetryPrint(t *testing.T) {
	b := setup(t)
	physio, users := b.hostedOrg(t, "Physio Clinic", "800362000000101")
	gp, _ := b.hostedOrg(t, "GP Clinic", "800362000000102")
	id := sentReply(t, b, physio, gp, users["clinician"], `<script>alert("x")</script>`)
	br := b.browser(t)
	br.login(users["clinician"])

	p := br.get("/sent")
	if p.status != http.StatusOK || sentRows(p) != 1 || !strings.Contains(p.body, `hx-get="/sent/rows?v=`) {
		t.Fatalf("sent list: status %d, %d rows", p.status, sentRows(p))
	}
	if lower := strings.ToLower(p.body); strings.Contains(lower, `<script>alert(`) || !strings.Contains(lower, `&lt;script&gt;alert(`) {
		t.Error("patient name not escaped in the sent list")
	}
	if !strings.Contains(p.body, "not delivered 15 minutes after it was queued") {
		t.Error("the sent list does not explain when a message is overdue")
	}
	if !strings.Contains(p.body, `href="/sent" aria-current="page"`) {
		t.Error("no current Sent nav item")
	}
	for q, want := range map[string]int{"patient=eve": 1, "patient=nobody": 0, "recipient=gp+clinic": 1, "recipient=dental": 0, "status=queued": 1,
		"status=failed": 0, "status=overdue": 0} {
		if got := sentRows(br.get("/sent/rows?" + q)); got != want {
			t.Errorf("/sent/rows?%s: %d rows, want %d", q, got, want)
		}
	}
	if r := br.get("/sent/rows"); strings.Contains(r.body, "<html") || sentRows(r) != 1 {
		t.Errorf("rows fragment: %d rows, page chrome %v", sentRows(r), strings.Contains(r.body, "<html"))
	}

	p = br.get("/sent/" + id)
	for _, want := range []string{`data-testid="patient-banner"`, `aria-live="polite"`, `<ol class="timeline" data-testid="timeline">`,
		`data-testid="step-composed" data-state="done"`, `data-testid="step-queued" data-state="done"`,
		`data-testid="step-sent" data-state="current"`, `data-testid="step-answer" data-state="skipped"`,
		`hx-trigger="every 2s"`, "attachment-1.pdf", "<time datetime="} {
		if !strings.Contains(p.body, want) {
			t.Errorf("sent viewer lacks %s", want)
		}
	}
	if strings.Contains(strings.ToLower(p.body), `<script>alert(`) {
		t.Error("patient name not escaped in the sent viewer")
	}
	// The timeline polls for a newer version: 204 while nothing changed,
	// so nothing is swapped; the new version once it did.
	src := regexp.MustCompile(`hx-get="(/sent/[^"]+/timeline\?v=[0-9a-f]+)"`).FindStringSubmatch(p.body)
	if src == nil {
		t.Fatal("the timeline does not poll with its version")
	}
	if r := br.get(html.UnescapeString(src[1])); r.status != http.StatusNoContent {
		t.Errorf("poll of an unchanged timeline: %d, want 204", r.status)
	}
	// Opening the page is audited; its timeline polls are not.
	br.get("/sent/" + id + "/timeline")
	if n := auditCount(t, b, physio.ID, "message.viewed"); n != 1 {
		t.Errorf("%d message.viewed events after opening the sent page once, want 1", n)
	}

	// 16 minutes on it is still not delivered: overdue, in the list too
	// (the session is kept alive in between).
	b.clock.Add(10 * time.Minute)
	if r := br.get("/sent/" + id + "/timeline"); strings.Contains(r.body, `data-testid="overdue"`) {
		t.Error("overdue after 10 minutes")
	}
	b.clock.Add(6 * time.Minute)
	if f := br.get(html.UnescapeString(src[1])); f.status != http.StatusOK || !strings.Contains(f.body, `data-testid="overdue"`) {
		t.Errorf("poll once overdue: %d, want the new version", f.status)
	}
	if f := br.get("/sent/" + id + "/timeline"); !strings.Contains(f.body, `data-testid="overdue"`) || strings.Contains(f.body, "<html") {
		t.Errorf("timeline fragment after 16 minutes: %s", f.body)
	}
	if got := sentRows(br.get("/sent/rows?status=overdue")); got != 1 {
		t.Errorf("overdue filter: %d rows, want 1", got)
	}
	if d := br.get("/dashboard"); !strings.Contains(d.body, `data-testid="sent-overdue">1 overdue`) || strings.Contains(d.body, "sent-failed") {
		t.Error("the dashboard does not count the overdue message")
	}

	// It fails: the fragment says why and what to do, and stops polling.
	if _, err := b.store.Transition(context.Background(), id, []string{store.StatusQueued}, store.StatusFailed,
		"The directory has no entry for "+orgURI(gp)+"."); err != nil {
		t.Fatal(err)
	}
	f := br.get("/sent/" + id + "/timeline")
	for _, want := range []string{`data-testid="step-sent" data-state="failed"`, `data-testid="step-delivered" data-state="skipped"`,
		"Choose another endpoint", `action="/sent/` + id + `/retry"`, `name="_csrf"`, `href="/sent/` + id + `/print"`} {
		if !strings.Contains(f.body, want) {
			t.Errorf("failed timeline lacks %s", want)
		}
	}
	if strings.Contains(f.body, "hx-trigger") || strings.Contains(f.body, `data-testid="overdue"`) {
		t.Error("a failed timeline still polls or says overdue")
	}
	if d := br.get("/dashboard"); !strings.Contains(d.body, `data-testid="sent-failed">1 failed`) || strings.Contains(d.body, "sent-overdue") {
		t.Error("the dashboard does not count the failed message")
	}

	// Retry: refused without CSRF; with it queued again and audited once.
	if r := br.postRaw("/sent/"+id+"/retry", url.Values{}); r.status != http.StatusForbidden {
		t.Errorf("retry without CSRF: %d, want 403", r.status)
	}
	if r := br.post("/sent/"+id, "/sent/"+id+"/retry", url.Values{}); r.status != http.StatusSeeOther || r.location != "/sent/"+id {
		t.Fatalf("retry: %d to %q", r.status, r.location)
	}
	if n := auditCount(t, b, physio.ID, "message.retried"); n != 1 {
		t.Errorf("%d retry audit events, want 1", n)
	}
	p = br.get("/sent/" + id)
	if !strings.Contains(p.body, "Sending again") || !strings.Contains(p.body, `data-testid="step-sent" data-state="current"`) ||
		!strings.Contains(p.body, "Queued again after a retry.") {
		t.Error("after the retry the viewer does not show it queued again")
	}
	if r := br.post("/sent/"+id, "/sent/"+id+"/retry", url.Values{}); r.status != http.StatusSeeOther {
		t.Errorf("second retry: %d", r.status)
	}
	if !strings.Contains(br.get("/sent/"+id).body, "Only a message that failed can be sent again") {
		t.Error("a retry of a queued message was not refused in words")
	}
	if n := auditCount(t, b, physio.ID, "message.retried"); n != 1 {
		t.Errorf("%d retry audit events after a refused retry, want 1", n)
	}

	pr := br.get("/sent/" + id + "/print")
	if pr.status != http.StatusOK || !strings.Contains(pr.body, `data-testid="recipient"`) || !strings.Contains(pr.body, `data-testid="patient-banner"`) ||
		!strings.Contains(pr.body, "Seen today.") || auditCount(t, b, physio.ID, "message.printed") != 1 {
		t.Errorf("print view: status %d", pr.status)
	}
}

func TestSent_OrgIsolationAndCSRF(t *testing.T) {
	b := setup(t)
	physio, users := b.hostedOrg(t, "Physio Clinic", "800362000000101")
	gp, gpUsers := b.hostedOrg(t, "GP Clinic", "800362000000102")
	id := sentReply(t, b, physio, gp, users["clinician"], "Atwood")
	if _, err := b.store.Transition(context.Background(), id, []string{store.StatusQueued}, store.StatusFailed, "Delivery failed: test"); err != nil {
		t.Fatal(err)
	}
	other := b.browser(t)
	other.login(gpUsers["clinician"])
	for _, path := range []string{"", "/timeline", "/print"} {
		if p := other.get("/sent/" + id + path); p.status != http.StatusNotFound {
			t.Errorf("other org GET /sent/<id>%s: %d, want 404", path, p.status)
		}
	}
	if p := other.post("/sent", "/sent/"+id+"/retry", url.Values{}); p.status != http.StatusNotFound {
		t.Errorf("other org POST retry: %d, want 404", p.status)
	}
	if n := sentRows(other.get("/sent")); n != 0 {
		t.Errorf("another organisation's sent item listed (%d rows)", n)
	}
	// The inbound referral is not a sent item of the physio either.
	own := b.browser(t)
	own.login(users["clinician"])
	if p := own.postRaw("/sent/"+id+"/retry", url.Values{}); p.status != http.StatusForbidden {
		t.Errorf("retry without CSRF: %d, want 403", p.status)
	}
	if m, _ := b.store.OrgMessage(context.Background(), physio.ID, id); m.Status != store.StatusFailed {
		t.Errorf("status %s after refused retries, want failed", m.Status)
	}
	if n := auditCount(t, b, physio.ID, "message.retried"); n != 0 {
		t.Errorf("%d retry audit events", n)
	}
}
