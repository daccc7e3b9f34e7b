package pipeline_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/opensmd/portal/internal/pipeline"
	"github.com/opensmd/portal/internal/smd"
	"github.com/opensmd/portal/internal/smd/fault"
	"github.com/opensmd/portal/internal/smd/soap"
	"github.com/opensmd/portal/internal/smd/wire"
	"github.com/opensmd/portal/internal/store"
)

// sentAndHeld sends a message from A's gp to B's physio, which B holds for
// retrieval (B sends no final response), and returns A's message once it
// is "sent", with its sealed form and digest.
func sentAndHeld(t *testing.T, h *harness) store.Message {
	t.Helper()
	if err := h.b.st.SetDeliveryMode(t.Context(), h.b.org(physioURI).ID, store.DeliveryRetrieve); err != nil {
		t.Fatal(err)
	}
	m := h.a.submit(t, pipeline.Outbound{From: gpURI, To: physioURI, Payload: []byte("held at B")})
	waitStatus(t, h.b.st, h.b.org(physioURI).ID, m.InvocationID, store.StatusHeld, wait)
	waitStatus(t, h.a.st, h.a.org(gpURI).ID, m.InvocationID, store.StatusSent, wait)
	return h.a.message(t, m.ID)
}

// A transport response moves a message only if it names a message of
// ours, comes over TLS from the provider serving the receiver's endpoint,
// names the message's receiver and (for Success) carries our signature's
// digest. Anything else is refused whole and changes nothing.
func TestTRD_RefusesForgedResponses(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	f := h.f
	m := sentAndHeld(t, h)
	sm, err := smd.Unmarshal(m.Sealed)
	if err != nil {
		t.Fatal(err)
	}
	// resp is the receiver's correct final Success, changed by edit.
	resp := func(edit func(*wire.TransportResponse)) wire.TransportResponse {
		tr := wire.NewTransportResponse(sm.Metadata, physioURI, wire.ClassSuccess, wire.ResponseCodeSuccess,
			"Delivered", m.DigestValue, true, time.Now(), wire.NewInvocationID(nil))
		if edit != nil {
			edit(&tr)
		}
		return tr
	}
	wrongDigest := func(tr *wire.TransportResponse) {
		d := slices.Clone(tr.DeliveryResponse.DigestValue)
		d[0] ^= 1
		tr.DeliveryResponse.DigestValue = d
	}
	trd := func(t *testing.T, id identity, batch ...wire.TransportResponse) error {
		t.Helper()
		env, err := call(t, &id, h.a.url, soap.TRDDeliver, wire.TRDDeliver{Responses: batch}.Element())
		if err != nil {
			return err
		}
		if _, err := wire.ParseTRDDeliverResponse(env.Body); err != nil {
			t.Fatalf("TRD reply: %v", err)
		}
		return nil
	}
	standard := func(code fault.Code) func(*testing.T, error) {
		return func(t *testing.T, err error) { t.Helper(); wantStandardFault(t, err, code) }
	}

	for _, c := range []struct {
		name  string
		id    identity
		batch []wire.TransportResponse
		check func(*testing.T, error)
	}{
		{"WrongDigest", f.tlsB, []wire.TransportResponse{resp(wrongDigest)}, standard(fault.BadParam)},
		{"NoDigest", f.tlsB, []wire.TransportResponse{resp(func(tr *wire.TransportResponse) {
			tr.DeliveryResponse.DigestValue = nil
		})}, standard(fault.BadParam)},
		{"WrongReceiverOrganisation", f.tlsB, []wire.TransportResponse{resp(func(tr *wire.TransportResponse) {
			tr.Metadata.ReceiverOrganisation = org47URI
		})}, standard(fault.BadParam)},
		// Valid chains, but not certified for the receiver endpoint's host.
		{"ThirdProvider", f.tlsC, []wire.TransportResponse{resp(nil)}, standard(fault.NotAuthorised)},
		{"SendingProviderItself", f.tlsA, []wire.TransportResponse{resp(nil)}, standard(fault.NotAuthorised)},
		{"ReceiverOrganisationCertificate", f.physio, []wire.TransportResponse{resp(nil)}, standard(fault.NotAuthorised)},
		{"BatchWithOneForged", f.tlsB, []wire.TransportResponse{resp(nil), resp(wrongDigest)}, standard(fault.BadParam)},
		{"UnknownInvocationID", f.tlsB, []wire.TransportResponse{resp(func(tr *wire.TransportResponse) {
			tr.Metadata.InvocationID = wire.NewInvocationID(nil)
		})}, standard(fault.BadParam)},
		{"UnknownSenderOrganisation", f.tlsB, []wire.TransportResponse{resp(func(tr *wire.TransportResponse) {
			tr.Metadata.SenderOrganisation = org47URI
		})}, func(t *testing.T, err error) {
			var fe *soap.FaultError
			var de wire.TRDDeliverError
			if !errors.As(err, &fe) || !errors.As(fe.ServiceError, &de) || de.ErrorCode != wire.UnknownSenderOrganisation {
				t.Fatalf("got %v, want TRD deliverError %s", err, wire.UnknownSenderOrganisation)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.check(t, trd(t, c.id, c.batch...))
		})
	}
	got := h.a.message(t, m.ID)
	if got.Status != store.StatusSent {
		t.Fatalf("after forged responses the message is %s, want sent", got.Status)
	}
	if rs, err := h.a.st.MessageResponses(t.Context(), m.ID); err != nil || len(rs) != 0 {
		t.Fatalf("forged responses stored: %+v, %v", rs, err)
	}

	t.Run("IntermediateIsProgressOnly", func(t *testing.T) {
		tr := wire.NewTransportResponse(sm.Metadata, physioURI, wire.ClassInformation, wire.ResponseCodeAccepted,
			"Held for retrieval", nil, false, time.Now(), wire.NewInvocationID(nil))
		if err := trd(t, f.tlsB, tr); err != nil {
			t.Fatal(err)
		}
		got, ev, _, err := find(t.Context(), h.a.st, h.a.org(gpURI).ID, m.InvocationID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != store.StatusSent || !slices.Contains(statuses(ev), "progress") {
			t.Errorf("status %s, timeline%s; want sent with a progress event", got.Status, timeline(ev))
		}
	})
	t.Run("Genuine", func(t *testing.T) {
		good := resp(nil)
		if err := trd(t, f.tlsB, good); err != nil {
			t.Fatalf("the receiver's own response was refused: %v", err)
		}
		got := h.a.message(t, m.ID)
		if got.Status != store.StatusDelivered {
			t.Fatalf("status %s after the genuine Success, want delivered", got.Status)
		}
		// Redelivered (a retried TRD batch): accepted, stored once.
		if err := trd(t, f.tlsB, good); err != nil {
			t.Fatalf("redelivered response refused: %v", err)
		}
		// A later final Error cannot move a delivered message back.
		late := wire.NewTransportResponse(sm.Metadata, physioURI, wire.ClassError, wire.ResponseCodePayloadRejected,
			"too late", nil, true, time.Now(), wire.NewInvocationID(nil))
		if err := trd(t, f.tlsB, late); err != nil {
			t.Fatalf("late response refused: %v", err)
		}
		if got := h.a.message(t, m.ID); got.Status != store.StatusDelivered {
			t.Errorf("status %s after a late Error, want delivered", got.Status)
		}
		rs, err := h.a.st.MessageResponses(t.Context(), m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != 3 { // progress, Success, late Error
			t.Errorf("%d responses stored, want 3 (the redelivered one once)", len(rs))
		}
	})
}

// While the sender's provider is down the receiver keeps its final
// response and retries it; once the sender is back the message is
// delivered, with the response stored once.
func TestTRD_RetriesUntilSenderIsBack(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	m, sm := heldSealed(t, h, []byte("answer me later"))
	h.a.stop()
	if status, err := deliver(t, h.f.tlsA, h.b.url, sm); err != nil || status != wire.StatusOK {
		t.Fatalf("deliver: %q, %v", status, err)
	}
	waitStatus(t, h.b.st, h.b.org(physioURI).ID, m.InvocationID, store.StatusDelivered, wait)
	if !poll(t, wait, func() bool {
		return h.b.count(t, `SELECT coalesce(max(attempt), 0) FROM river_job WHERE kind = 'smd.respond'`) >= 2
	}) {
		t.Fatalf("B never retried its transport response")
	}
	if got := h.a.message(t, m.ID); got.Status != store.StatusQueued {
		t.Fatalf("A's message is %s while A is down, want queued", got.Status)
	}
	h.a.restart(t)
	waitStatus(t, h.a.st, h.a.org(gpURI).ID, m.InvocationID, store.StatusDelivered, wait)
	if rs, err := h.a.st.MessageResponses(t.Context(), m.ID); err != nil || len(rs) != 1 {
		t.Errorf("A stored %d responses (%v), want 1", len(rs), err)
	}
	if dls, err := h.b.st.DeadLetters(t.Context(), 10); err != nil || len(dls) != 0 {
		t.Errorf("B's dead letters: %+v, %v", dls, err)
	}
}
