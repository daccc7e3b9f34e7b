package auditcheck_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/opensmd/portal/internal/auditcheck"
	"github.com/opensmd/portal/internal/jobs"
	"github.com/opensmd/portal/internal/store"
	"github.com/opensmd/portal/internal/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// tamper runs sql with the append-only trigger disabled, as someone with
// direct database access could.
func tamper(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, sql, args...); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only`); err != nil {
		t.Fatal(err)
	}
}

func work(t *testing.T, w *auditcheck.Worker, source string) store.AuditCheck {
	t.Helper()
	ctx := context.Background()
	if err := w.Work(ctx, &river.Job[jobs.AuditVerify]{Args: jobs.AuditVerify{Source: source}}); err != nil {
		t.Fatal(err)
	}
	c, err := w.Store.LatestAuditCheck(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The job records an intact chain, then a broken one naming the changed
// row; the first break notifies the operator's administrators (once), not
// other organisations'.
func TestWorker_RecordsOKAndBroken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := storetest.DB(t)
	st := store.New(pool)
	op, err := st.CreateOrganisation(ctx, "Operator", "8003620000000013")
	if err != nil {
		t.Fatal(err)
	}
	other, err := st.CreateOrganisation(ctx, "Clinic", "8003620000000021")
	if err != nil || other.Operator || !op.Operator {
		t.Fatalf("organisations: %v", err)
	}
	for range 5 {
		if err := st.Audit(ctx, store.AuditEvent{OrganisationID: other.ID, Action: "test.event", Detail: map[string]string{"k": "v"}}); err != nil {
			t.Fatal(err)
		}
	}
	w := &auditcheck.Worker{Store: st}
	c := work(t, w, store.AuditCheckSchedule)
	if !c.OK || c.Rows != 5 || c.Source != store.AuditCheckSchedule || c.Problem != nil {
		t.Fatalf("intact: %+v", c)
	}
	var third int64
	if err := pool.QueryRow(ctx, `SELECT id FROM audit_events ORDER BY id OFFSET 2 LIMIT 1`).Scan(&third); err != nil {
		t.Fatal(err)
	}
	tamper(t, pool, `UPDATE audit_events SET detail = '{"k": "w"}' WHERE id = $1`, third)
	c = work(t, w, store.AuditCheckAdmin)
	if c.OK || c.Problem == nil || c.Problem.ID != third || !strings.Contains(c.Problem.Reason, "changed") || c.Source != store.AuditCheckAdmin {
		t.Fatalf("broken: %+v", c)
	}
	notes, err := st.OpenNotifications(ctx, op.ID)
	if err != nil || len(notes) != 1 || notes[0].Kind != auditcheck.NoticeKind || notes[0].Link != "/admin/audit" ||
		!strings.Contains(notes[0].Text, "NOT intact") {
		t.Fatalf("operator notifications: %+v %v", notes, err)
	}
	if n, _ := st.OpenNotifications(ctx, other.ID); len(n) != 0 {
		t.Fatalf("a non-operator organisation was notified: %+v", n)
	}
	// Still broken: recorded again (an unknown source counts as the
	// schedule), without a second notification.
	before := c.ID
	if c = work(t, w, "anything else"); c.ID == before || c.OK || c.Source != store.AuditCheckSchedule {
		t.Fatalf("second broken check: %+v", c)
	}
	var count int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM notifications WHERE kind = $1`, auditcheck.NoticeKind).Scan(&count); err != nil || count != 1 {
		t.Fatalf("notifications after a repeat: %d %v", count, err)
	}
}

// A worker process schedules the check at start-up (RunOnStart) and works
// it on the maintenance queue.
func TestClient_RunsOnStart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := storetest.DB(t)
	st := store.New(pool)
	w := river.NewWorkers()
	auditcheck.AddWorker(w, st, nil)
	client, err := jobs.New(pool, jobs.Options{Workers: w, AuditVerifyEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Stop(context.Background()) })
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := st.LatestAuditCheck(ctx)
		if err == nil {
			if !c.OK || c.Source != store.AuditCheckSchedule {
				t.Fatalf("start-up check: %+v", c)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no check recorded after start-up: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
