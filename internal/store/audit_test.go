package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opensmd/portal/internal/store"
	"github.com/opensmd/portal/internal/store/storetest"
)

// auditTrail appends n events and returns their ids, oldest first.
func auditTrail(t *testing.T, st *store.Store, pool *pgxpool.Pool, n int) []int64 {
	t.Helper()
	ctx := context.Background()
	org, err := st.CreateOrganisation(ctx, "Org", "8003620000000013")
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := st.Audit(ctx, store.AuditEvent{OrganisationID: org.ID, Action: "test.event", IP: "192.0.2.1",
			Detail: map[string]string{"n": fmt.Sprint(i), "note": "ünïcode & <xml>"}}); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := pool.Query(ctx, `SELECT id FROM audit_events ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// tamper runs sql with the append-only trigger disabled, as someone with
// direct database access could.
func tamper(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	for _, q := range []string{`ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only`, sql,
		`ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only`} {
		a := args
		if q != sql {
			a = nil
		}
		if _, err := pool.Exec(ctx, q, a...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// The hash chain detects a changed, deleted or reordered row and names it;
// an intact trail verifies, including concurrent appends.
func TestVerifyAudit(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		tamper  func(t *testing.T, pool *pgxpool.Pool, ids []int64)
		wantRow func(ids []int64) int64
		reason  string
	}{
		{"Intact", func(*testing.T, *pgxpool.Pool, []int64) {}, nil, ""},
		{"Changed", func(t *testing.T, pool *pgxpool.Pool, ids []int64) {
			tamper(t, pool, `UPDATE audit_events SET detail = '{"n": "99", "note": "x"}' WHERE id = $1`, ids[3])
		}, func(ids []int64) int64 { return ids[3] }, "changed"},
		{"ChangedAction", func(t *testing.T, pool *pgxpool.Pool, ids []int64) {
			tamper(t, pool, `UPDATE audit_events SET action = 'other.event' WHERE id = $1`, ids[5])
		}, func(ids []int64) int64 { return ids[5] }, "changed"},
		{"Deleted", func(t *testing.T, pool *pgxpool.Pool, ids []int64) {
			tamper(t, pool, `DELETE FROM audit_events WHERE id = $1`, ids[2])
		}, func(ids []int64) int64 { return ids[3] }, "deleted"},
		{"DeletedFirst", func(t *testing.T, pool *pgxpool.Pool, ids []int64) {
			tamper(t, pool, `DELETE FROM audit_events WHERE id = $1`, ids[0])
		}, func(ids []int64) int64 { return ids[1] }, "start of the chain"},
		{"Reordered", func(t *testing.T, pool *pgxpool.Pool, ids []int64) {
			// Swap two rows' whole contents, each keeping its own valid hash.
			tamper(t, pool, `UPDATE audit_events a SET at = b.at, action = b.action, detail = b.detail, ip = b.ip,
				organisation_id = b.organisation_id, user_id = b.user_id, prev_hash = b.prev_hash, hash = b.hash
				FROM audit_events b WHERE (a.id, b.id) IN (($1::bigint, $2::bigint), ($2::bigint, $1::bigint))`, ids[4], ids[6])
		}, func(ids []int64) int64 { return ids[4] }, "reordered"},
		{"HashRemoved", func(t *testing.T, pool *pgxpool.Pool, ids []int64) {
			tamper(t, pool, `UPDATE audit_events SET hash = NULL, prev_hash = NULL WHERE id = $1`, ids[7])
		}, func(ids []int64) int64 { return ids[7] }, "no hash"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			pool := storetest.DB(t)
			st := store.New(pool)
			ids := auditTrail(t, st, pool, 10)
			c.tamper(t, pool, ids)
			n, problem, err := st.VerifyAudit(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if c.wantRow == nil {
				if problem != nil || n != 10 {
					t.Fatalf("intact trail: %d rows, problem %+v", n, problem)
				}
				return
			}
			if problem == nil || problem.ID != c.wantRow(ids) || !strings.Contains(problem.Reason, c.reason) {
				t.Fatalf("problem %+v, want row %d (%s)", problem, c.wantRow(ids), c.reason)
			}
		})
	}
}

// Concurrent appenders still form one chain in id order.
func TestAudit_ConcurrentAppendsChain(t *testing.T) {
	t.Parallel()
	pool := storetest.DB(t)
	st := store.New(pool)
	ctx := context.Background()
	errs := make(chan error, 40)
	for i := range 40 {
		go func() {
			errs <- st.WithTx(ctx, func(tx *store.Store) error {
				return tx.Audit(ctx, store.AuditEvent{Action: "test.concurrent", Detail: map[string]string{"i": fmt.Sprint(i)}})
			})
		}()
	}
	for range 40 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	n, problem, err := st.VerifyAudit(ctx)
	if err != nil || problem != nil || n != 40 {
		t.Fatalf("verify: %d rows, problem %+v, err %v", n, problem, err)
	}
}
