package store_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opensmd/portal/internal/store"
	"github.com/opensmd/portal/internal/store/storetest"
)

func TestAuditCheck_RecordAndLatest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := store.New(storetest.DB(t))
	if _, err := st.LatestAuditCheck(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("no check yet: %v, want ErrNotFound", err)
	}
	ok, err := st.RecordAuditCheck(ctx, store.AuditCheck{Rows: 12, Took: 34 * time.Millisecond, Source: store.AuditCheckSchedule})
	if err != nil || !ok.OK || ok.ID == 0 || ok.At.IsZero() {
		t.Fatalf("record ok: %+v %v", ok, err)
	}
	broken, err := st.RecordAuditCheck(ctx, store.AuditCheck{Rows: 5, Problem: &store.AuditProblem{ID: 5, Reason: "changed"},
		Source: store.AuditCheckCLI})
	if err != nil || broken.OK {
		t.Fatalf("record broken: %+v %v", broken, err)
	}
	got, err := st.LatestAuditCheck(ctx)
	if err != nil || got.ID != broken.ID || got.OK || got.Problem == nil || *got.Problem != (store.AuditProblem{ID: 5, Reason: "changed"}) ||
		got.Rows != 5 || got.Source != store.AuditCheckCLI {
		t.Fatalf("latest = %+v %v", got, err)
	}
	if _, err := st.RecordAuditCheck(ctx, store.AuditCheck{Source: "cron"}); err == nil {
		t.Fatal("unknown source accepted")
	}
}

// benchTrail appends n chained events in one COPY (st.Audit takes a
// transaction and the chain lock per event: too slow to build 10k rows).
func benchTrail(b *testing.B, pool *pgxpool.Pool, n int) {
	b.Helper()
	ctx := context.Background()
	prev := make([]byte, sha256.Size)
	at := time.Now().UTC().Truncate(time.Microsecond)
	rows := make([][]any, n)
	for i := range rows {
		e := store.AuditEvent{Action: "bench.event", IP: "192.0.2.1", At: at.Add(time.Duration(i) * time.Microsecond),
			Detail: map[string]string{"n": fmt.Sprint(i), "subject": "CN=Bench Clinic"}}
		hash, detail, err := store.AuditHash(prev, e)
		if err != nil {
			b.Fatal(err)
		}
		rows[i] = []any{e.At, e.Action, e.IP, detail, prev, hash}
		prev = hash
	}
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"audit_events"}, []string{"at", "action", "ip", "detail", "prev_hash", "hash"},
		pgx.CopyFromRows(rows)); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkVerifyAudit is what /admin/audit cost per load before it showed
// the recorded check: it grows with the trail.
func BenchmarkVerifyAudit(b *testing.B) {
	pool := storetest.DB(b)
	benchTrail(b, pool, 10000)
	st := store.New(pool)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		n, problem, err := st.VerifyAudit(ctx)
		if err != nil || problem != nil || n != 10000 {
			b.Fatalf("%d %v %v", n, problem, err)
		}
	}
}

// BenchmarkLatestAuditCheck is what the page costs now, whatever the
// trail's length.
func BenchmarkLatestAuditCheck(b *testing.B) {
	pool := storetest.DB(b)
	benchTrail(b, pool, 10000)
	st := store.New(pool)
	ctx := context.Background()
	for range 1000 {
		if _, err := st.RecordAuditCheck(ctx, store.AuditCheck{Rows: 10000, Source: store.AuditCheckSchedule}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := st.LatestAuditCheck(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
