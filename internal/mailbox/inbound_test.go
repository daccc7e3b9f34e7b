package mailbox

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opensmd/portal/internal/hl7"
	"github.com/opensmd/portal/internal/pipeline"
	"github.com/opensmd/portal/internal/provider"
	"github.com/opensmd/portal/internal/store"
)

func hpio(t *testing.T, uri string) string {
	t.Helper()
	h, err := provider.HPIOFromURI(uri)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func referral(t *testing.T, from, to, controlID string) []byte {
	t.Helper()
	now := time.Now()
	b, err := hl7.Referral(hl7.ReferralInput{
		Header: hl7.Header{SendingApplication: hl7.HD{Namespace: "OpenSMD"}, SendingFacility: hl7.HPIO(hpio(t, from)),
			ReceivingApplication: hl7.HD{Namespace: "PhysioApp"}, ReceivingFacility: hl7.HPIO(hpio(t, to)),
			Time: now, ControlID: controlID},
		Priority: "A", Reason: "Right knee pain", ReferralID: "GP-1", Effective: now, Expiry: now.AddDate(1, 0, 0),
		Referrer:   hl7.Provider{Family: "Button", Given: "Henry", Title: "Dr"},
		ReferredTo: hl7.Provider{Family: "Smith", Given: "Jane"},
		Patient: hl7.Patient{Family: "Atwood", Given: "Abbi", DOB: time.Date(1977, 1, 1, 0, 0, 0, 0, time.UTC), Sex: "F",
			Medicare: "2950974202"},
		ClinicalText: "Knee pain for 6 weeks.",
		Attachments:  []hl7.Attachment{{MediaType: "application/pdf", Data: []byte("%PDF-1.4\n%%EOF\n")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// send queues payload from organisation from of n as a clinical document
// of kind, the way compose does: message, document and job in one tx.
func (n *node) send(t *testing.T, from, to, category, kind, controlID string, payload []byte) store.Message {
	t.Helper()
	var m store.Message
	err := n.st.WithTx(t.Context(), func(tx *store.Store) error {
		var err error
		m, err = n.p.SubmitTx(t.Context(), tx, pipeline.Outbound{From: from, To: to, Category: category, Payload: payload})
		if err != nil {
			return err
		}
		enc, err := n.mail.sealSummary(m.ID, Summary{Subject: "sent"})
		if err != nil {
			return err
		}
		return tx.InsertDocument(t.Context(), store.Document{MessageID: m.ID, OrganisationID: m.OrganisationID,
			Kind: kind, HL7ControlID: controlID, SummaryEnc: enc})
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// ack builds an ACK (AA) naming controlID, as organisation from would
// answer a referral it got from to.
func ack(t *testing.T, from, to, controlID string) []byte {
	t.Helper()
	orig, err := hl7.Parse(referral(t, to, from, controlID))
	if err != nil {
		t.Fatal(err)
	}
	b, err := hl7.Ack(orig, "AA", "late", time.Now(), "ACK-"+controlID)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (n *node) doc(t *testing.T, org, id string) store.Document {
	t.Helper()
	d, err := n.st.Document(t.Context(), n.orgs[org].ID, id)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (n *node) waitStatus(t *testing.T, org, id, status string) store.Document {
	t.Helper()
	var d store.Document
	if !poll(t, func() bool { d = n.doc(t, org, id); return d.ClinicalStatus == status }) {
		t.Fatalf("%s: message %s clinical status %q (%s), want %q", n.name, id, d.ClinicalStatus, d.ClinicalDetail, status)
	}
	return d
}

func (n *node) events(t *testing.T, org, id string) []string {
	t.Helper()
	_, ev, err := n.st.OrgMessages(t.Context(), n.orgs[org].ID, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ev[id] {
		out = append(out, e.Status)
	}
	return out
}

// inbox waits until organisation org of n has want inbox entries.
func (n *node) inbox(t *testing.T, org string, want int) []InboxEntry {
	t.Helper()
	var got []InboxEntry
	if !poll(t, func() bool {
		var err error
		got, err = n.mail.Inbox(t.Context(), n.orgs[org].ID, InboxQuery{}, 100)
		if err != nil {
			t.Fatal(err)
		}
		return len(got) >= want
	}) {
		t.Fatalf("%s: inbox of %s has %d entries, want %d", n.name, org, len(got), want)
	}
	return got
}

// A referral from A to B goes the whole clinical way: B records it and
// acknowledges it, opening it sends a read acknowledgement, accepting it
// an RRI^I12; A's original follows each answer in order and never goes
// back, and only the organisation it was sent to can answer it.
func TestReferral_EndToEnd(t *testing.T) {
	a, b := newNodes(t)
	ctx := t.Context()
	sent := a.send(t, gpURI, physioURI, CategoryReferral, store.KindReferral, "REF-E2E-1", referral(t, gpURI, physioURI, "REF-E2E-1"))

	// B records the referral with its summary and queues the ACK.
	got := b.inbox(t, physioURI, 1)
	recv := got[0]
	if recv.Kind != store.KindReferral || recv.HL7ControlID != "REF-E2E-1" || recv.SenderOrgURI != gpURI {
		t.Fatalf("received %+v", recv.Document)
	}
	sum := recv.Summary
	if sum.Patient.Family != "Atwood" || sum.Patient.DOB != "1977-01-01" || sum.Subject != "Referral: Right knee pain" ||
		sum.Urgency != "urgent" || !strings.HasPrefix(sum.From, "Dr Henry Button, ") || len(sum.Attachments) != 1 {
		t.Errorf("summary %+v", sum)
	}
	// A's original goes acknowledged (B's ACK through SMD).
	a.waitStatus(t, gpURI, sent.ID, store.ClinicalAcknowledged)

	// B opens it: read, audited, read acknowledgement → A: read.
	nurse := b.user(t, physioURI, "Jane Smith")
	who := InboxUser{ID: nurse.ID, IP: "192.0.2.1"}
	r, err := b.mail.Open(ctx, b.orgs[physioURI].ID, recv.MessageID, who)
	if err != nil {
		t.Fatal(err)
	}
	if r.Text != "Knee pain for 6 weeks." || r.Referrer.Name() != "Dr Henry Button" || len(r.Attachments) != 1 {
		t.Errorf("opened: text %q referrer %q attachments %d", r.Text, r.Referrer.Name(), len(r.Attachments))
	}
	a.waitStatus(t, gpURI, sent.ID, store.ClinicalRead)
	// Opening again neither re-reads nor sends a second read ack.
	if _, err := b.mail.Open(ctx, b.orgs[physioURI].ID, recv.MessageID, who); err != nil {
		t.Fatal(err)
	}
	var readAcks int
	_ = b.pool.QueryRow(ctx, `SELECT count(*) FROM documents WHERE kind = 'read_ack' AND answers = $1`, recv.MessageID).Scan(&readAcks)
	if readAcks != 1 {
		t.Errorf("%d read acknowledgements sent, want 1", readAcks)
	}

	// Decline needs a reason; accept → RRI → A: accepted.
	var fe *FieldError
	if err := b.mail.Respond(ctx, b.orgs[physioURI].ID, recv.MessageID, who, store.ClinicalDeclined, " "); err == nil || !asField(err, &fe) || fe.Field != "reason" {
		t.Errorf("decline without reason: %v", err)
	}
	if err := b.mail.Respond(ctx, b.orgs[physioURI].ID, recv.MessageID, who, store.ClinicalAccepted, ""); err != nil {
		t.Fatal(err)
	}
	if err := b.mail.Respond(ctx, b.orgs[physioURI].ID, recv.MessageID, who, store.ClinicalDeclined, "changed my mind"); err != ErrAlreadyAnswered {
		t.Errorf("second answer after accepting: %v, want ErrAlreadyAnswered", err)
	}
	a.waitStatus(t, gpURI, sent.ID, store.ClinicalAccepted)
	// B's replies, as its staff see them on the referral: each delivered.
	var replies []string
	poll(t, func() bool {
		rs, err := b.mail.Replies(ctx, b.orgs[physioURI].ID, recv.MessageID)
		replies = nil
		for _, r := range rs {
			replies = append(replies, r.Kind+":"+r.Status)
		}
		return err == nil && len(rs) == 3 && !slices.ContainsFunc(rs, func(r Reply) bool { return r.Status != store.StatusDelivered })
	})
	if want := []string{"ack:delivered", "read_ack:delivered", "referral_response:delivered"}; !slices.Equal(replies, want) {
		t.Errorf("B's replies %v, want %v", replies, want)
	}
	var clinical []string
	for _, s := range a.events(t, gpURI, sent.ID) {
		if !slices.Contains([]string{store.StatusQueued, store.StatusSent, store.StatusDelivered}, s) {
			clinical = append(clinical, s)
		}
	}
	if want := []string{"acknowledged", "read", "accepted"}; !slices.Equal(clinical, want) {
		t.Errorf("A's clinical timeline %v, want %v (all: %v)", clinical, want, a.events(t, gpURI, sent.ID))
	}
	if d := b.doc(t, physioURI, recv.MessageID); d.ClinicalStatus != store.ClinicalAccepted || d.ReadBy == nil || *d.ReadBy != nurse.ID {
		t.Errorf("B's referral: status %q read by %v", d.ClinicalStatus, d.ReadBy)
	}
	rows, _ := b.pool.Query(ctx, `SELECT action FROM audit_events WHERE detail->>'message_id' = $1 ORDER BY id`, recv.MessageID)
	audits, err := pgx.CollectRows(rows, pgx.RowTo[string]) // a failed query fails here
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"message.received", "message.viewed", "message.viewed", "message.accepted"}; !slices.Equal(audits, want) {
		t.Errorf("B's audit %v, want %v", audits, want)
	}

	// Answers after the fact: a late ACK from B (must not regress), an ACK
	// naming an unknown control id (stays visible), and org39 answering
	// A's referral it never got (must not touch it).
	b.send(t, physioURI, gpURI, CategoryAck, store.KindAck, "ACK-late", ack(t, physioURI, gpURI, "REF-E2E-1"))
	b.send(t, physioURI, gpURI, CategoryAck, store.KindAck, "ACK-unknown", ack(t, physioURI, gpURI, "NO-SUCH-ID"))
	a.send(t, org39URI, gpURI, CategoryAck, store.KindAck, "ACK-39", ack(t, org39URI, gpURI, "REF-E2E-1"))
	inbox := a.inbox(t, gpURI, 2)
	var unmatched []string
	for _, e := range inbox {
		if !strings.HasPrefix(e.Summary.Subject, "Unmatched answer") {
			t.Errorf("A's inbox shows %q (%s)", e.Summary.Subject, e.Kind)
		}
		unmatched = append(unmatched, e.SenderOrgURI)
	}
	slices.Sort(unmatched)
	if want := []string{physioURI, org39URI}; len(unmatched) != 2 || !slices.Contains(unmatched, physioURI) || !slices.Contains(unmatched, org39URI) {
		t.Errorf("unmatched answers from %v, want %v", unmatched, want)
	}
	// The late ACK was matched (archived, answering the referral): wait
	// for it, then the status must still be accepted with no new event.
	if !poll(t, func() bool {
		var n int
		_ = a.pool.QueryRow(ctx, `SELECT count(*) FROM documents WHERE answers = $1 AND kind = 'ack' AND archived_at IS NOT NULL`, sent.ID).Scan(&n)
		return n == 2
	}) {
		t.Fatal("the late ACK was not matched to the referral")
	}
	if d := a.doc(t, gpURI, sent.ID); d.ClinicalStatus != store.ClinicalAccepted {
		t.Errorf("after a late ACK the referral is %q, want accepted", d.ClinicalStatus)
	}
	if n := len(a.events(t, gpURI, sent.ID)); n != 6 {
		t.Errorf("A's timeline has %d events, want 6: %v", n, a.events(t, gpURI, sent.ID))
	}
	// B's inbox: the referral only (its own ACKs/RRI are outbound; A sent
	// no answers to B).
	if got := b.inbox(t, physioURI, 1); len(got) != 1 {
		t.Errorf("B's inbox has %d entries, want 1", len(got))
	}

	// Out of order: B accepts a second referral and its read
	// acknowledgement arrives after the acceptance. The referral stays
	// accepted, and its timeline still shows that it was read, once.
	second := a.send(t, gpURI, physioURI, CategoryReferral, store.KindReferral, "REF-E2E-2", referral(t, gpURI, physioURI, "REF-E2E-2"))
	orig, err := hl7.Parse(referral(t, gpURI, physioURI, "REF-E2E-2"))
	if err != nil {
		t.Fatal(err)
	}
	rri, err := hl7.ReferralResponse(hl7.ResponseInput{Header: orig.ReplyHeader(time.Now(), "RRI-E2E-2"), Referral: orig, Status: hl7.StatusAccepted})
	if err != nil {
		t.Fatal(err)
	}
	b.send(t, physioURI, gpURI, CategoryReferralResponse, store.KindReferralResponse, "RRI-E2E-2", rri)
	a.waitStatus(t, gpURI, second.ID, store.ClinicalAccepted)
	late, err := hl7.ReadAck(orig, "Opened by the receiver", time.Now(), "READ-E2E-2")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second is a repeat: not news
		b.send(t, physioURI, gpURI, CategoryReadAck, store.KindReadAck, "READ-E2E-2", late)
	}
	if !poll(t, func() bool {
		var n int
		_ = a.pool.QueryRow(ctx, `SELECT count(*) FROM documents WHERE answers = $1 AND kind = 'read_ack'`, second.ID).Scan(&n)
		return n == 2
	}) {
		t.Fatal("the late read acknowledgements were not matched to the second referral")
	}
	if d := a.doc(t, gpURI, second.ID); d.ClinicalStatus != store.ClinicalAccepted {
		t.Errorf("after a late read acknowledgement the referral is %q, want accepted", d.ClinicalStatus)
	}
	var reads int
	for _, e := range a.events(t, gpURI, second.ID) {
		if e == store.ClinicalRead {
			reads++
		}
	}
	if reads != 1 {
		t.Errorf("the second referral's timeline has %d read events, want 1: %v", reads, a.events(t, gpURI, second.ID))
	}
}

func asField(err error, fe **FieldError) bool {
	f, ok := err.(*FieldError)
	*fe = f
	return ok
}

// A message asking for no application acknowledgement (MSH-16 NE) gets
// none, and opening it sends no read acknowledgement either.
func TestDelivered_NoAckWhenNE(t *testing.T) {
	a, b := newNodes(t)
	payload := []byte(strings.Replace(string(referral(t, gpURI, physioURI, "REF-NE-1")), "|NE|AL|AUS", "|NE|NE|AUS", 1))
	sent := a.send(t, gpURI, physioURI, CategoryReferral, store.KindReferral, "REF-NE-1", payload)
	recv := b.inbox(t, physioURI, 1)[0]
	u := b.user(t, physioURI, "Pat Reader")
	if _, err := b.mail.Open(t.Context(), b.orgs[physioURI].ID, recv.MessageID, InboxUser{ID: u.ID}); err != nil {
		t.Fatal(err)
	}
	var answers int
	if err := b.pool.QueryRow(t.Context(), `SELECT count(*) FROM documents WHERE answers = $1`, recv.MessageID).Scan(&answers); err != nil {
		t.Fatal(err)
	}
	if answers != 0 {
		t.Errorf("%d answers queued to a message with MSH-16 NE", answers)
	}
	if d := a.doc(t, gpURI, sent.ID); d.ClinicalStatus != "" {
		t.Errorf("status %q", d.ClinicalStatus)
	}
}
