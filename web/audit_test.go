package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/opensmd/portal/internal/auditcheck"
	"github.com/opensmd/portal/internal/store"
	"github.com/opensmd/portal/web"
)

// chainStatus returns the text of the chain-status banner.
func chainStatus(t *testing.T, body string) string {
	t.Helper()
	i := strings.Index(body, `data-testid="chain-status"`)
	if i < 0 {
		t.Fatal("no chain-status on the audit page")
	}
	j := strings.Index(body[i:], "</p>")
	return body[i : i+j]
}

func tamperAudit(t *testing.T, b *testBundle, sql string) {
	t.Helper()
	for _, q := range []string{`ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only`, sql,
		`ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only`} {
		if _, err := b.store.Pool().Exec(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// The audit page shows the latest recorded check and never verifies the
// chain itself: tampering after an intact check leaves the page intact
// until the job runs again. The provider-wide row count is shown to the
// operator's administrators only.
func TestAudit_ShowsRecordedCheck(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	op, opUsers := b.org(t, "Operator", "800362000000001")
	clinic, clinicUsers := b.org(t, "Clinic", "800362000000002")
	if !op.Operator || clinic.Operator {
		t.Fatal("the first organisation should be the operator")
	}
	for range 3 {
		if err := b.store.Audit(ctx, store.AuditEvent{OrganisationID: clinic.ID, Action: "test.event"}); err != nil {
			t.Fatal(err)
		}
	}
	opBr, clinicBr := b.browser(t), b.browser(t)
	opBr.loginAdmin(opUsers[store.RoleAdmin])
	clinicBr.loginAdmin(clinicUsers[store.RoleAdmin])
	if s := chainStatus(t, clinicBr.get("/admin/audit").body); !strings.Contains(s, "Not verified yet") {
		t.Fatalf("before any check: %q", s)
	}

	c, err := auditcheck.Run(ctx, b.store, store.AuditCheckSchedule)
	if err != nil || !c.OK {
		t.Fatalf("check: %+v %v", c, err)
	}
	rows := "all " + strconv.FormatInt(c.Rows, 10) + " events"
	s := chainStatus(t, opBr.get("/admin/audit").body)
	if !strings.Contains(s, "Chain last verified") || !strings.Contains(s, "(scheduled check): intact") || !strings.Contains(s, rows) {
		t.Fatalf("operator admin: %q", s)
	}
	s = chainStatus(t, clinicBr.get("/admin/audit").body)
	if !strings.Contains(s, "intact") || strings.Contains(s, "events") || strings.Contains(s, strconv.FormatInt(c.Rows, 10)+" ") {
		t.Fatalf("non-operator admin sees the provider-wide row count: %q", s)
	}

	tamperAudit(t, b, `UPDATE audit_events SET action = 'other.event' WHERE id = (SELECT max(id) FROM audit_events WHERE action = 'test.event')`)
	if s := chainStatus(t, clinicBr.get("/admin/audit").body); !strings.Contains(s, "intact") || strings.Contains(s, "NOT") {
		t.Fatalf("the page verified the chain itself: %q", s)
	}
	if c, err = auditcheck.Run(ctx, b.store, store.AuditCheckAdmin); err != nil || c.OK {
		t.Fatalf("check after tampering: %+v %v", c, err)
	}
	body := clinicBr.get("/admin/audit").body
	s = chainStatus(t, body)
	if !strings.Contains(body, `role="alert" data-testid="chain-status"`) || !strings.Contains(s, "NOT intact") || !strings.Contains(s, "event "+strconv.FormatInt(c.Problem.ID, 10)+": ") ||
		!strings.Contains(s, "requested by an administrator") {
		t.Fatalf("broken: %q", s)
	}
}

// "Verify now" needs an administrator and the CSRF token, queues one
// audit.verify job (a second click while it waits adds none) and audits
// the request.
func TestAudit_VerifyNow(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	_, users := b.org(t, "Org A", "800362000000001")
	jobsQueued := func() int {
		var n int
		if err := b.store.Pool().QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'audit.verify'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	clin := b.browser(t)
	clin.login(users[store.RoleClinician])
	if p := clin.post("/dashboard", "/admin/audit/verify", url.Values{}); p.status != http.StatusForbidden {
		t.Fatalf("clinician: %d", p.status)
	}
	br := b.browser(t)
	br.loginAdmin(users[store.RoleAdmin])
	if p := br.postRaw("/admin/audit/verify", url.Values{}); p.status != http.StatusForbidden || !strings.Contains(p.body, "Form expired") {
		t.Fatalf("without a CSRF token: %d", p.status)
	}
	if n := jobsQueued(); n != 0 {
		t.Fatalf("refused requests queued %d jobs", n)
	}
	p := br.post("/admin/audit", "/admin/audit/verify", url.Values{})
	if p.status != http.StatusSeeOther || p.location != "/admin/audit" {
		t.Fatalf("verify now: %d %q", p.status, p.location)
	}
	if page := br.get("/admin/audit"); !strings.Contains(page.body, "Verification queued") {
		t.Fatal("no flash after Verify now")
	}
	br.post("/admin/audit", "/admin/audit/verify", url.Values{})
	if n := jobsQueued(); n != 1 {
		t.Fatalf("jobs queued = %d, want 1", n)
	}
	events, err := b.store.OrgAuditEvents(ctx, users[store.RoleAdmin].OrganisationID, 10)
	if err != nil || events[0].Action != web.AuditVerifyRequested || events[0].UserID != users[store.RoleAdmin].ID {
		t.Fatalf("not audited: %+v %v", events, err)
	}
}

// Without a job queue the button is not offered.
func TestAudit_NoJobsNoButton(t *testing.T) {
	t.Parallel()
	b := setupWith(t, func(d *web.Deps) { d.Jobs = nil })
	_, users := b.org(t, "Org A", "800362000000001")
	br := b.browser(t)
	br.loginAdmin(users[store.RoleAdmin])
	if p := br.get("/admin/audit"); p.status != http.StatusOK || strings.Contains(p.body, `data-testid="verify-now"`) {
		t.Fatalf("button without a queue: %d", p.status)
	}
}
