package mailbox

import (
	"strings"
	"testing"
	"time"

	"github.com/opensmd/portal/internal/store"
)

// The timeline's rules on event histories the end-to-end tests do not
// produce: a step nobody reported, a rejection, a report (no answer), a
// retry still being attempted, all on a fixed clock.
func TestBuildTimeline(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	ev := func(min int, status, detail string) store.MessageEvent {
		return store.MessageEvent{At: t0.Add(time.Duration(min) * time.Minute), Status: status, Detail: detail}
	}
	for _, c := range []struct {
		name, kind, status string
		events             []store.MessageEvent
		now                time.Duration
		want               string
		final              bool
		check              func(t *testing.T, tl Timeline)
	}{
		{name: "ReadWithoutAck", kind: store.KindReferral, status: store.StatusDelivered,
			events: []store.MessageEvent{ev(0, "queued", ""), ev(1, "sent", ""), ev(2, "delivered", ""), ev(30, "read", "")},
			now:    time.Hour,
			want:   "composed:done queued:done sent:done delivered:done acknowledged:skipped read:done answer:current",
			check: func(t *testing.T, tl Timeline) {
				if tl.Steps[4].Detail != "Not reported by the receiver." || !tl.Steps[5].At.Equal(t0.Add(30*time.Minute)) {
					t.Errorf("steps %+v", tl.Steps[4:6])
				}
			}},
		{name: "Rejected", kind: store.KindReferral, status: store.StatusDelivered,
			events: []store.MessageEvent{ev(0, "queued", ""), ev(1, "sent", ""), ev(2, "delivered", ""),
				ev(3, "rejected", "The receiver's system rejected it: unknown patient")},
			want:  "composed:done queued:done sent:done delivered:done acknowledged:failed read:skipped answer:skipped",
			final: true,
			check: func(t *testing.T, tl Timeline) {
				if f := tl.Failure; f == nil || f.Retry || !strings.Contains(f.What, "unknown patient") || !strings.Contains(f.Todo, "post or fax") {
					t.Errorf("failure %+v", tl.Failure)
				}
			}},
		{name: "ReportRead", kind: store.KindReport, status: store.StatusDelivered,
			events: []store.MessageEvent{ev(0, "queued", ""), ev(1, "sent", ""), ev(2, "delivered", ""), ev(3, "acknowledged", ""), ev(4, "read", "")},
			want:   "composed:done queued:done sent:done delivered:done acknowledged:done read:done answer:skipped",
			final:  true},
		{name: "RetryBeingAttempted", kind: store.KindReport, status: store.StatusQueued,
			events: []store.MessageEvent{ev(0, "queued", ""), ev(5, "failed", "Not delivered before it expired"),
				ev(60, "retry", ""), ev(61, "queued", "Delivery attempt 1 failed: connection refused. Retrying until later.")},
			now:  80 * time.Minute,
			want: "composed:done queued:done sent:current delivered:pending acknowledged:pending read:pending answer:skipped",
			check: func(t *testing.T, tl Timeline) {
				if !tl.Steps[1].At.Equal(t0.Add(time.Hour)) || !strings.Contains(tl.Steps[2].Detail, "Delivery attempt 1 failed") {
					t.Errorf("queued %+v, sent %+v", tl.Steps[1], tl.Steps[2])
				}
				if tl.Failure != nil || tl.Overdue != "Not delivered 15 minutes after it was queued." {
					t.Errorf("failure %+v, overdue %q (queued again 20 minutes ago)", tl.Failure, tl.Overdue)
				}
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := store.Message{Status: c.status, CreatedAt: t0}
			d := store.Document{Kind: c.kind, CreatedAt: t0}
			tl := buildTimeline(m, d, Summary{}, c.events, t0.Add(c.now), 15*time.Minute)
			if got := states(tl); got != c.want {
				t.Errorf("states\n got %s\nwant %s", got, c.want)
			}
			if tl.Final != c.final {
				t.Errorf("final %v, want %v", tl.Final, c.final)
			}
			if c.check != nil {
				c.check(t, tl)
			}
		})
	}
}
