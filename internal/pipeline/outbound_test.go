package pipeline_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opensmd/portal/internal/pipeline"
	"github.com/opensmd/portal/internal/smd/wire"
	"github.com/opensmd/portal/internal/store"
)

// A message submitted at one provider is delivered at the other, both
// ways, and between two organisations of one provider (through its own
// listener): the sender sees queued → sent → delivered, the receiver one
// delivered message with the bytes sent and the same signature digest.
func TestPipeline_Delivers(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	for _, c := range []struct {
		name           string
		from, to       *node
		fromURI, toURI string
	}{
		{"AToB", h.a, h.b, gpURI, physioURI},
		{"BToA", h.b, h.a, physioURI, gpURI},
		{"Loopback", h.a, h.a, gpURI, org39URI},
	} {
		t.Run(c.name, func(t *testing.T) {
			payload := []byte("Referral " + c.name + "\x00\x01\xfe binary tail")
			m := c.from.submit(t, pipeline.Outbound{From: c.fromURI, To: c.toURI, Payload: payload})
			if m.Status != store.StatusQueued || m.InvocationID == "" {
				t.Fatalf("submitted: status %q invocationId %q", m.Status, m.InvocationID)
			}
			sent, ev := waitStatus(t, c.from.st, c.from.org(c.fromURI).ID, m.InvocationID, store.StatusDelivered, wait)
			// The deliver reply normally comes before the receiver's final
			// response; the pipeline also records the reverse order.
			got := statuses(ev)
			if !slices.Equal(got, []string{"queued", "sent", "delivered"}) && !slices.Equal(got, []string{"queued", "delivered", "sent"}) {
				t.Errorf("sender timeline %v, want queued → sent → delivered%s", got, timeline(ev))
			}
			if sent.SentAt == nil || sent.FinalAt == nil {
				t.Errorf("sender sent_at %v final_at %v, want both set", sent.SentAt, sent.FinalAt)
			}

			recv, _ := waitStatus(t, c.to.st, c.to.org(c.toURI).ID, m.InvocationID, store.StatusDelivered, wait)
			if n := c.to.count(t, `SELECT count(*) FROM messages WHERE direction = 'inbound' AND invocation_id = $1`,
				m.InvocationID); n != 1 {
				t.Errorf("receiver has %d inbound rows for the message, want 1", n)
			}
			full := c.to.message(t, recv.ID)
			opened, err := c.to.p.OpenPayload(full)
			if err != nil || !bytes.Equal(opened, payload) {
				t.Errorf("receiver payload %q, %v; want %q", opened, err, payload)
			}
			if recv.SenderOrgURI != c.fromURI || recv.ReceiverOrgURI != c.toURI || recv.PayloadSize != len(payload) {
				t.Errorf("receiver row: sender %s receiver %s size %d", recv.SenderOrgURI, recv.ReceiverOrgURI, recv.PayloadSize)
			}
			if !strings.Contains(recv.Peer, c.from.id.cert.Subject.CommonName) {
				t.Errorf("receiver recorded peer %q, want the sending provider %q", recv.Peer, c.from.id.cert.Subject.CommonName)
			}
			if len(sent.DigestValue) == 0 || !bytes.Equal(sent.DigestValue, recv.DigestValue) {
				t.Errorf("digest_value: sender %x, receiver %x; want equal and set", sent.DigestValue, recv.DigestValue)
			}

			// The sender kept the final Success it got; the receiver marked
			// the one it sent as delivered.
			rs, err := c.from.st.MessageResponses(t.Context(), m.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(rs) != 1 || rs[0].Direction != store.ResponseReceived || !rs[0].Final ||
				rs[0].Class != string(wire.ClassSuccess) || !bytes.Equal(rs[0].DigestValue, sent.DigestValue) ||
				rs[0].SourceOrgURI != c.toURI {
				t.Errorf("sender's transport responses: %+v", rs)
			}
			if !poll(t, wait, func() bool {
				rs, err := c.to.st.MessageResponses(t.Context(), recv.ID)
				return err == nil && len(rs) == 1 && rs[0].State == store.ResponseDone
			}) {
				rs, _ := c.to.st.MessageResponses(t.Context(), recv.ID)
				t.Errorf("receiver's transport responses never all done: %+v", rs)
			}
		})
	}
}

// Problems the sender can fix are refused by Submit, and nothing is queued.
func TestSubmit_Refuses(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{maxBytes: 1 << 20})
	ok := pipeline.Outbound{From: gpURI, To: physioURI, Category: refCat, Payload: []byte("hello")}
	for _, c := range []struct {
		name string
		edit func(*pipeline.Outbound)
		want string
	}{
		{"SenderNotHosted", func(o *pipeline.Outbound) { o.From = physioURI }, "not hosted"},
		{"SenderNotHPIO", func(o *pipeline.Outbound) { o.From = "urn:example:someone" }, "sender"},
		{"ReceiverNotURI", func(o *pipeline.Outbound) { o.To = "physio clinic" }, "receiver"},
		{"CategoryEmpty", func(o *pipeline.Outbound) { o.Category = "" }, "service category"},
		{"PayloadEmpty", func(o *pipeline.Outbound) { o.Payload = nil }, "empty"},
		{"PayloadTooLarge", func(o *pipeline.Outbound) { o.Payload = make([]byte, 800<<10) }, "limit"},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := ok
			c.edit(&o)
			_, err := h.a.p.Submit(t.Context(), o)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Submit: %v, want an error mentioning %q", err, c.want)
			}
		})
	}
	if n := h.a.count(t, `SELECT count(*) FROM messages`); n != 0 {
		t.Errorf("%d messages stored", n)
	}
	if n := h.a.jobRows(t); n != 0 {
		t.Errorf("%d jobs queued", n)
	}
}

// Refusals that retrying cannot fix end the message at once: no directory
// entry, and a deliverError from the receiver's provider.
func TestSend_PermanentFailures(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	// org47 is in A's directory at B's endpoint, but B does not host it.
	h.a.addDirectory(t, org47URI, h.b.url, h.f.org47)
	for _, c := range []struct {
		name, to, want string
	}{
		{"NotInDirectory", unlistedURI, "directory has no entry"},
		{"UnknownAtReceiver", org47URI, "not served by this provider"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := h.a.submit(t, pipeline.Outbound{From: gpURI, To: c.to, Payload: []byte("x")})
			got, ev := waitStatus(t, h.a.st, h.a.org(gpURI).ID, m.InvocationID, store.StatusFailed, wait)
			if !strings.Contains(got.StatusDetail, c.want) {
				t.Errorf("detail %q, want it to mention %q", got.StatusDetail, c.want)
			}
			if slices.Contains(statuses(ev), store.StatusSent) {
				t.Errorf("timeline has sent:%s", timeline(ev))
			}
		})
	}
	if n := h.b.inboundRows(t); n != 0 {
		t.Errorf("B stored %d inbound messages", n)
	}
}

// waitRetries polls until the outbound message has at least n failed
// delivery attempts in its timeline, and returns it.
func waitRetries(t *testing.T, n *node, orgID, invocationID string, attempts int) (store.Message, []store.MessageEvent) {
	t.Helper()
	var m store.Message
	var ev []store.MessageEvent
	if !poll(t, wait, func() bool {
		var err error
		m, ev, _, err = find(t.Context(), n.st, orgID, invocationID)
		if err != nil {
			t.Fatal(err)
		}
		return retryEvents(ev) >= attempts
	}) {
		t.Fatalf("fewer than %d failed attempts after %s: %s%s", attempts, wait, m.Status, timeline(ev))
	}
	return m, ev
}

func retryEvents(ev []store.MessageEvent) int {
	n := 0
	for _, e := range ev {
		if e.Status == store.StatusQueued && strings.HasPrefix(e.Detail, "Delivery attempt ") &&
			strings.Contains(e.Detail, "Retrying until") {
			n++
		}
	}
	return n
}

// While the receiver's provider is down the message stays queued and is
// retried; once it is back the same sealed message (same invocationId and
// signature) is delivered exactly once.
func TestSend_RetriesUntilReceiverIsBack(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	h.b.stop()
	m := h.a.submit(t, pipeline.Outbound{From: gpURI, To: physioURI, Payload: []byte("retry me")})
	gp := h.a.org(gpURI).ID
	queued, ev := waitRetries(t, h.a, gp, m.InvocationID, 2)
	if queued.Status != store.StatusQueued {
		t.Fatalf("status %s while the receiver is down, want queued%s", queued.Status, timeline(ev))
	}
	firstSeal := h.a.message(t, m.ID)

	h.b.restart(t)
	sent, ev := waitStatus(t, h.a.st, gp, m.InvocationID, store.StatusDelivered, wait)
	recv, _ := waitStatus(t, h.b.st, h.b.org(physioURI).ID, m.InvocationID, store.StatusDelivered, wait)
	if n := h.b.inboundRows(t); n != 1 {
		t.Errorf("B has %d inbound messages, want exactly 1", n)
	}
	if recv.InvocationID != m.InvocationID || sent.InvocationID != m.InvocationID {
		t.Errorf("invocationId changed: submitted %s, sender %s, receiver %s", m.InvocationID, sent.InvocationID, recv.InvocationID)
	}
	final := h.a.message(t, m.ID)
	if !bytes.Equal(final.Sealed, firstSeal.Sealed) || !bytes.Equal(recv.DigestValue, firstSeal.DigestValue) {
		t.Errorf("the message was sealed again between attempts")
	}
	got := statuses(ev)
	if got[0] != store.StatusQueued || retryEvents(ev) < 2 || !slices.Contains(got, store.StatusSent) ||
		got[len(got)-1] == store.StatusFailed {
		t.Errorf("sender timeline:%s", timeline(ev))
	}
}

// The attempts column (shown by `portal messages`) counts delivery
// attempts.
func TestSend_CountsAttempts(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	h.b.stop()
	m := h.a.submit(t, pipeline.Outbound{From: gpURI, To: physioURI, Payload: []byte("count me")})
	got, ev := waitRetries(t, h.a, h.a.org(gpURI).ID, m.InvocationID, 2)
	if got.Attempts < 2 {
		t.Errorf("attempts = %d after %d failed attempts in the timeline, want ≥ 2",
			got.Attempts, retryEvents(ev))
	}
}

// A message that cannot be delivered before its expiry fails, saying so.
func TestSend_FailsAtExpiry(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	h.a.addDirectory(t, physioURI, deadEndpoint(t, "127.0.0.2"), h.f.physio)
	m := h.a.submit(t, pipeline.Outbound{From: gpURI, To: physioURI, Payload: []byte("too late"), Expiry: 2 * time.Second})
	got, ev := waitStatus(t, h.a.st, h.a.org(gpURI).ID, m.InvocationID, store.StatusFailed, wait)
	if !strings.Contains(got.StatusDetail, "expired") {
		t.Errorf("detail %q, want it to mention the expiry", got.StatusDetail)
	}
	if retryEvents(ev) < 1 {
		t.Errorf("no retry before expiry:%s", timeline(ev))
	}
	last := ev[len(ev)-1]
	if last.Status != store.StatusFailed || last.At.Before(m.ExpiresAt.Add(-100*time.Millisecond)) {
		t.Errorf("failed at %s, expiry %s:%s", last.At, m.ExpiresAt, timeline(ev))
	}
}
