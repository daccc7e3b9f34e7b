package mailbox

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/opensmd/portal/internal/pipeline"
	"github.com/opensmd/portal/internal/store"
)

// sendReferral queues a referral from A's gp to uri the way compose does,
// with a summary naming the patient and the recipient.
func (n *node) sendReferral(t *testing.T, to, controlID string, composed time.Time) store.Message {
	t.Helper()
	var m store.Message
	payload := referral(t, gpURI, physioURI, controlID)
	err := n.st.WithTx(t.Context(), func(tx *store.Store) error {
		var err error
		m, err = n.p.SubmitTx(t.Context(), tx, pipeline.Outbound{From: gpURI, To: to, Category: CategoryReferral, Payload: payload})
		if err != nil {
			return err
		}
		enc, err := n.mail.sealSummary(m.ID, Summary{Subject: "Referral: Right knee pain", Urgency: "urgent",
			Patient: PatientSummary{Family: "Atwood", Given: "Abbi", Medicare: "2950974202"}, To: "Jane Smith, Physio Clinic",
			ComposedAt: composed})
		if err != nil {
			return err
		}
		return tx.InsertDocument(t.Context(), store.Document{MessageID: m.ID, OrganisationID: m.OrganisationID,
			Kind: store.KindReferral, HL7ControlID: controlID, SummaryEnc: enc})
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// states is the timeline as "key:state" words, in order.
func states(tl Timeline) string {
	var b []string
	for _, s := range tl.Steps {
		b = append(b, s.Key+":"+s.State)
	}
	return strings.Join(b, " ")
}

// waitTimeline polls A's timeline of id until it reads want.
func (n *node) waitTimeline(t *testing.T, id, want string) Timeline {
	t.Helper()
	var tl Timeline
	if !poll(t, func() bool {
		var err error
		tl, err = n.mail.Timeline(t.Context(), n.orgs[gpURI].ID, id)
		if err != nil {
			t.Fatal(err)
		}
		return states(tl) == want
	}) {
		t.Fatalf("timeline %s, want %s", states(tl), want)
	}
	return tl
}

// A referral's timeline follows it through real SMD: sent and delivered,
// acknowledged, read and accepted, each step with its time, in order;
// watching stops once it is accepted. The sent list shows where it is.
func TestSent_Timeline(t *testing.T) {
	a, b := newNodes(t)
	ctx := t.Context()
	composed := time.Now().Add(-time.Hour).Truncate(time.Second)
	sent := a.sendReferral(t, physioURI, "REF-SENT-1", composed)

	tl := a.waitTimeline(t, sent.ID, "composed:done queued:done sent:done delivered:done acknowledged:done read:current answer:pending")
	if !tl.Steps[0].At.Equal(composed) || tl.Final || tl.Failure != nil || tl.Overdue != "" {
		t.Errorf("composed at %s (want %s), final %v, failure %+v, overdue %q", tl.Steps[0].At, composed, tl.Final, tl.Failure, tl.Overdue)
	}
	for i := 2; i <= 4; i++ {
		if tl.Steps[i].At.Before(tl.Steps[i-1].At) {
			t.Errorf("step %s at %s is before %s at %s", tl.Steps[i].Key, tl.Steps[i].At, tl.Steps[i-1].Key, tl.Steps[i-1].At)
		}
	}
	list, err := a.mail.Sent(ctx, a.orgs[gpURI].ID, SentQuery{Patient: "atwood", Recipient: "physio"}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].MessageID != sent.ID || list[0].Progress != "Acknowledged" || list[0].Summary.Patient.Given != "Abbi" {
		t.Fatalf("sent list %+v", list)
	}
	for _, q := range []SentQuery{{Patient: "nobody"}, {Recipient: "dental"}, {Status: store.StatusFailed}, {Status: SentOverdue}} {
		if got, err := a.mail.Sent(ctx, a.orgs[gpURI].ID, q, 10); err != nil || len(got) != 0 {
			t.Errorf("query %+v lists %d (%v)", q, len(got), err)
		}
	}
	if got, err := b.mail.Sent(ctx, b.orgs[physioURI].ID, SentQuery{}, 10); err != nil || len(got) != 0 {
		t.Errorf("B's sent list shows %d items (its ACKs are not sent items), %v", len(got), err)
	}

	recv := b.inbox(t, physioURI, 1)[0]
	who := InboxUser{ID: b.user(t, physioURI, "Jane Smith").ID}
	if _, err := b.mail.Open(ctx, b.orgs[physioURI].ID, recv.MessageID, who); err != nil {
		t.Fatal(err)
	}
	a.waitTimeline(t, sent.ID, "composed:done queued:done sent:done delivered:done acknowledged:done read:done answer:current")
	if err := b.mail.Respond(ctx, b.orgs[physioURI].ID, recv.MessageID, who, store.ClinicalMoreInfo, "Recent X-ray?"); err != nil {
		t.Fatal(err)
	}
	tl = a.waitTimeline(t, sent.ID, "composed:done queued:done sent:done delivered:done acknowledged:done read:done answer:done")
	if ans := tl.Steps[6]; ans.Answer != store.ClinicalMoreInfo || ans.Label != "More information requested" || tl.Final ||
		!strings.Contains(ans.Detail, "Recent X-ray?") {
		t.Errorf("answer step %+v, final %v", ans, tl.Final)
	}
	if err := b.mail.Respond(ctx, b.orgs[physioURI].ID, recv.MessageID, who, store.ClinicalAccepted, ""); err != nil {
		t.Fatal(err)
	}
	if !poll(t, func() bool {
		tl, _ = a.mail.Timeline(ctx, a.orgs[gpURI].ID, sent.ID)
		return tl.Steps[6].Answer == store.ClinicalAccepted
	}) {
		t.Fatalf("answer %+v", tl.Steps[6])
	}
	if !tl.Final || tl.Steps[6].Label != "Accepted" || tl.Steps[6].At.Before(tl.Steps[5].At) {
		t.Errorf("accepted: final %v, step %+v", tl.Final, tl.Steps[6])
	}
	// Another organisation's message is not found.
	if _, err := a.mail.Timeline(ctx, a.orgs[org39URI].ID, sent.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("org39 reading gp's timeline: %v", err)
	}
}

// A referral to an organisation no directory lists fails with what
// happened and what to do; a retry queues it once more (one send job,
// audited) and a delivered message cannot be retried.
func TestSent_FailureAndRetry(t *testing.T) {
	a, _ := newNodes(t)
	ctx := t.Context()
	org := a.orgs[gpURI].ID
	ok := a.sendReferral(t, physioURI, "REF-OK-1", time.Now())
	bad := a.sendReferral(t, org39URI[:len(org39URI)-3]+"047", "REF-BAD-1", time.Now())
	tl := a.waitTimeline(t, bad.ID, "composed:done queued:done sent:failed delivered:skipped acknowledged:skipped read:skipped answer:skipped")
	if f := tl.Failure; f == nil || !f.Retry || !strings.Contains(f.What, "directory has no entry") ||
		!strings.Contains(f.Todo, "Choose another endpoint") || !strings.Contains(f.Todo, "post or fax") || !tl.Final {
		t.Fatalf("failure %+v final %v", tl.Failure, tl.Final)
	}
	if got, _ := a.mail.Sent(ctx, org, SentQuery{Status: store.StatusFailed}, 10); len(got) != 1 || got[0].Progress != "Failed" {
		t.Errorf("failed filter lists %+v", got)
	}
	jobs := func() int {
		var n int
		_ = a.pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'smd.send' AND args->>'message_id' = $1`, bad.ID).Scan(&n)
		return n
	}
	before := jobs()
	u := InboxUser{ID: a.user(t, gpURI, "Henry Button").ID}
	if err := a.mail.Retry(ctx, a.orgs[org39URI].ID, bad.ID, u); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("retry by another organisation: %v", err)
	}
	if err := a.mail.Retry(ctx, org, bad.ID, u); err != nil {
		t.Fatal(err)
	}
	if n := jobs(); n != before+1 {
		t.Errorf("%d send jobs after the retry, want %d", n, before+1)
	}
	var audited int
	_ = a.pool.QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE action = 'message.retried' AND detail->>'message_id' = $1`, bad.ID).Scan(&audited)
	if audited != 1 {
		t.Errorf("%d retry audit events, want 1", audited)
	}
	// Still unlisted: it fails again, and the timeline shows this attempt.
	tl = a.waitTimeline(t, bad.ID, "composed:done queued:done sent:failed delivered:skipped acknowledged:skipped read:skipped answer:skipped")
	if tl.Steps[1].Detail != "Queued again after a retry." {
		t.Errorf("queued step %+v", tl.Steps[1])
	}
	a.waitTimeline(t, ok.ID, "composed:done queued:done sent:done delivered:done acknowledged:done read:current answer:pending")
	if err := a.mail.Retry(ctx, org, ok.ID, u); !errors.Is(err, pipeline.ErrNotFailed) {
		t.Errorf("retry of a delivered message: %v, want ErrNotFailed", err)
	}
}

// Overdue: not delivered 15 minutes after queueing, or a referral with no
// answer beyond its urgency's window; never a failed one.
func TestOverdue(t *testing.T) {
	queued := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name                            string
		kind, urgency, status, clinical string
		after                           time.Duration
		want                            string
	}{
		{"QueuedInTime", store.KindReport, "", store.StatusQueued, "", 14 * time.Minute, ""},
		{"QueuedTooLong", store.KindReport, "", store.StatusQueued, "", 16 * time.Minute, "Not delivered 15 minutes after it was queued."},
		{"SentNotDelivered", store.KindReport, "", store.StatusSent, "", time.Hour, "Not delivered 15 minutes after it was queued."},
		{"AckedSoArrived", store.KindReport, "", store.StatusSent, store.ClinicalAcknowledged, time.Hour, ""},
		{"Failed", store.KindReferral, "urgent", store.StatusFailed, "", 48 * time.Hour, ""},
		{"UrgentUnanswered", store.KindReferral, "urgent", store.StatusDelivered, store.ClinicalRead, 25 * time.Hour,
			"No answer 1 day after it was sent (the expected time for an urgent referral)."},
		{"RoutineInTime", store.KindReferral, "", store.StatusDelivered, store.ClinicalRead, 25 * time.Hour, ""},
		{"RoutineLate", store.KindReferral, "", store.StatusDelivered, "", 8 * 24 * time.Hour,
			"No answer 7 days after it was sent (the expected time for a routine referral)."},
		{"Answered", store.KindReferral, "emergency", store.StatusDelivered, store.ClinicalMoreInfo, 48 * time.Hour, ""},
		{"ReportNeedsNoAnswer", store.KindReport, "", store.StatusDelivered, "", 30 * 24 * time.Hour, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := overdue(c.kind, c.urgency, c.status, c.clinical, queued, queued.Add(c.after), 15*time.Minute); got != c.want {
				t.Errorf("overdue = %q, want %q", got, c.want)
			}
		})
	}
}
