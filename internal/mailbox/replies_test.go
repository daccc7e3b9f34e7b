package mailbox

import (
	"errors"
	"strings"
	"testing"

	"github.com/opensmd/portal/internal/pipeline"
	"github.com/opensmd/portal/internal/store"
)

// A reply that cannot reach its sender shows as failed on the received
// message, with what to do; once the sender is in the directory a retry
// gets it through, audited. Replies are only found through their message.
func TestReplies_FailedThenRetried(t *testing.T) {
	a, b := newNodes(t)
	ctx := t.Context()
	f, err := fixtureOnce()
	if err != nil {
		t.Fatal(err)
	}
	// B's directory has no entry for org 39, so its ACK cannot go back.
	sent := a.send(t, org39URI, physioURI, CategoryReferral, store.KindReferral, "REF-39-1", referral(t, org39URI, physioURI, "REF-39-1"))
	recv := b.inbox(t, physioURI, 1)[0]
	physio := b.orgs[physioURI].ID
	var replies []Reply
	replyState := func(status string) bool {
		replies, err = b.mail.Replies(ctx, physio, recv.MessageID)
		return err == nil && len(replies) == 1 && replies[0].Status == status
	}
	if !poll(t, func() bool { return replyState(store.StatusFailed) }) {
		t.Fatalf("replies %+v, %v; want one failed", replies, err)
	}
	r := replies[0]
	if r.Kind != store.KindAck || r.Failure == nil || !r.Failure.Retry || !strings.Contains(r.Failure.What, "directory has no entry") ||
		!strings.Contains(r.Failure.Todo, "update their directory entry") || strings.Contains(r.Failure.Todo, "another endpoint") {
		t.Fatalf("failed reply %+v failure %+v", r, r.Failure)
	}

	u := InboxUser{ID: b.user(t, physioURI, "Jane Smith").ID}
	if err := b.mail.RetryReply(ctx, physio, r.ID, r.ID, u); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("retry through the wrong message: %v, want ErrNotFound", err)
	}
	if err := b.mail.RetryReply(ctx, a.orgs[gpURI].ID, recv.MessageID, r.ID, u); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("retry by another organisation: %v, want ErrNotFound", err)
	}
	b.addDirectory(t, org39URI, a.url, f.org39)
	if err := b.mail.RetryReply(ctx, physio, recv.MessageID, r.ID, u); err != nil {
		t.Fatal(err)
	}
	if !poll(t, func() bool { return replyState(store.StatusDelivered) }) || replies[0].Failure != nil {
		t.Fatalf("after the retry: %+v, %v", replies, err)
	}
	a.waitStatus(t, org39URI, sent.ID, store.ClinicalAcknowledged)
	if err := b.mail.RetryReply(ctx, physio, recv.MessageID, r.ID, u); !errors.Is(err, pipeline.ErrNotFailed) {
		t.Errorf("retry of a delivered reply: %v, want ErrNotFailed", err)
	}
	var audited int
	_ = b.pool.QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE action = 'message.retried'
		AND detail->>'message_id' = $1 AND detail->>'answers' = $2`, r.ID, recv.MessageID).Scan(&audited)
	if audited != 1 {
		t.Errorf("%d retry audit events, want 1", audited)
	}
}

// A referral whose ACK cannot be queued (the receiving organisation has
// no certificate it may sign with yet) is still delivered to the inbox:
// the missing ACK must not cost the message.
func TestDelivered_WithoutAckWhenTheReceiverCannotSign(t *testing.T) {
	a, b := newNodes(t)
	ctx := t.Context()
	physio := b.orgs[physioURI].ID
	// Its only key becomes active tomorrow: it still decrypts, but no
	// longer signs.
	if _, err := b.pool.Exec(ctx, `UPDATE org_keys SET active_from = now() + interval '1 day' WHERE organisation_id = $1`, physio); err != nil {
		t.Fatal(err)
	}
	b.p.ReloadKeys()
	a.send(t, gpURI, physioURI, CategoryReferral, store.KindReferral, "REF-NOSIGN-1", referral(t, gpURI, physioURI, "REF-NOSIGN-1"))
	recv := b.inbox(t, physioURI, 1)[0]
	if recv.HL7ControlID != "REF-NOSIGN-1" {
		t.Fatalf("received %+v", recv.Document)
	}
	replies, err := b.mail.Replies(ctx, physio, recv.MessageID)
	if err != nil || len(replies) != 0 {
		t.Errorf("replies %+v, %v; want none (the ACK could not be signed)", replies, err)
	}
}
