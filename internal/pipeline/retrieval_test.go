package pipeline_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/opensmd/portal/internal/pipeline"
	"github.com/opensmd/portal/internal/smd"
	"github.com/opensmd/portal/internal/smd/fault"
	"github.com/opensmd/portal/internal/smd/pki"
	"github.com/opensmd/portal/internal/smd/soap"
	"github.com/opensmd/portal/internal/smd/wire"
	"github.com/opensmd/portal/internal/smd/xspp"
	"github.com/opensmd/portal/internal/store"
)

// serviceError returns the declared fault detail of err, failing the test
// when err is not a SOAP fault with one.
func serviceError(t *testing.T, err error) wire.ServiceError {
	t.Helper()
	var fe *soap.FaultError
	if !errors.As(err, &fe) || fe.ServiceError == nil {
		t.Fatalf("got %v, want a SOAP fault with a service error", err)
	}
	return fe.ServiceError
}

// An organisation in retrieve mode gets its messages held; its own
// software (TLS client certificate naming the organisation) lists and
// retrieves them sealed, and opens them with its key. Nobody else may.
func TestSMR_ListAndRetrieve(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	f := h.f
	physio := h.b.org(physioURI)
	if err := h.b.st.SetDeliveryMode(t.Context(), physio.ID, store.DeliveryRetrieve); err != nil {
		t.Fatal(err)
	}
	payload := []byte("referral for the clinic's own software")
	m := h.a.submit(t, pipeline.Outbound{From: gpURI, To: physioURI, Payload: payload})
	held, _ := waitStatus(t, h.b.st, physio.ID, m.InvocationID, store.StatusHeld, wait)
	if held.PayloadEnc != nil {
		t.Errorf("a held message was opened by the provider")
	}
	// The provider only accepted it: the sender is not told "delivered".
	waitStatus(t, h.a.st, h.a.org(gpURI).ID, m.InvocationID, store.StatusSent, wait)

	list := func(t *testing.T, id identity, org string, all bool) (wire.SMRListResponse, error) {
		t.Helper()
		env, err := call(t, &id, h.b.url, soap.SMRList, wire.SMRList{ReceiverOrganisation: org, AllAvailable: all, Limit: 10}.Element())
		if err != nil {
			return wire.SMRListResponse{}, err
		}
		r, err := wire.ParseSMRListResponse(env.Body)
		if err != nil {
			t.Fatalf("list response: %v", err)
		}
		return r, nil
	}
	retrieve := func(t *testing.T, id identity, org string, inv ...string) (wire.SMRRetrieveResponse, error) {
		t.Helper()
		env, err := call(t, &id, h.b.url, soap.SMRRetrieve, wire.SMRRetrieve{ReceiverOrganisation: org, InvocationIDs: inv}.Element())
		if err != nil {
			return wire.SMRRetrieveResponse{}, err
		}
		r, err := wire.ParseSMRRetrieveResponse(env.Body)
		if err != nil {
			t.Fatalf("retrieve response: %v", err)
		}
		return r, nil
	}

	t.Run("List", func(t *testing.T) {
		r, err := list(t, f.physio, physioURI, false)
		if err != nil {
			t.Fatal(err)
		}
		if r.TotalNumberAvailable != 1 || len(r.RetrievalRecords) != 1 ||
			r.RetrievalRecords[0].Metadata.InvocationID != m.InvocationID || r.RetrievalRecords[0].MessageSize <= 0 {
			t.Fatalf("list: %+v", r)
		}
	})
	t.Run("Refused", func(t *testing.T) {
		_, err := list(t, f.gp, physioURI, false) // another organisation's certificate
		wantStandardFault(t, err, fault.NotAuthorised)
		_, err = list(t, f.tlsB, physioURI, false) // the provider's own TLS identity names no organisation
		wantStandardFault(t, err, fault.NotAuthorised)
		_, err = retrieve(t, f.gp, physioURI, m.InvocationID)
		wantStandardFault(t, err, fault.NotAuthorised)
		// An organisation B does not host, asking with its own certificate.
		_, err = list(t, f.org47, org47URI, false)
		if le, ok := serviceError(t, err).(wire.SMRListError); !ok || le.ErrorCode != wire.UnknownReceiverOrganisation {
			t.Errorf("got %v, want listError %s", err, wire.UnknownReceiverOrganisation)
		}
		_, err = retrieve(t, f.physio, physioURI, wire.NewInvocationID(nil))
		if re, ok := serviceError(t, err).(wire.SMRRetrieveError); !ok || re.ErrorCode != wire.UnknownMessage {
			t.Errorf("got %v, want retrieveError %s", err, wire.UnknownMessage)
		}
		if got := h.b.message(t, held.ID); got.Status != store.StatusHeld {
			t.Errorf("status %s after refused requests, want held", got.Status)
		}
	})
	t.Run("Retrieve", func(t *testing.T) {
		r, err := retrieve(t, f.physio, physioURI, m.InvocationID)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Messages) != 1 {
			t.Fatalf("retrieved %d messages, want 1", len(r.Messages))
		}
		opened, err := smd.Open(r.Messages[0], smd.OpenOptions{Keys: []xspp.KeyPair{f.physio.pair()},
			Trust: &pki.Verifier{Roots: f.anchors}})
		if err != nil {
			t.Fatalf("open the retrieved message: %v", err)
		}
		if !bytes.Equal(opened.Payload, payload) || opened.Metadata.InvocationID != m.InvocationID {
			t.Errorf("opened %q (%s)", opened.Payload, opened.Metadata.InvocationID)
		}
		sent := h.a.message(t, m.ID)
		if !bytes.Equal(opened.DigestValue, sent.DigestValue) {
			t.Errorf("digest %x, the sender's %x", opened.DigestValue, sent.DigestValue)
		}
		if got := h.b.message(t, held.ID); got.Status != store.StatusRetrieved {
			t.Errorf("status %s after retrieval, want retrieved", got.Status)
		}
		// Retrieved messages are listed only with allAvailable, and may be
		// retrieved again (the client may have lost the reply).
		if r, err := list(t, f.physio, physioURI, false); err != nil || r.TotalNumberAvailable != 0 || len(r.RetrievalRecords) != 0 {
			t.Errorf("list after retrieval: %+v, %v; want nothing new", r, err)
		}
		if r, err := list(t, f.physio, physioURI, true); err != nil || r.TotalNumberAvailable != 1 || len(r.RetrievalRecords) != 1 {
			t.Errorf("list allAvailable: %+v, %v; want the retrieved message", r, err)
		}
		if r, err := retrieve(t, f.physio, physioURI, m.InvocationID); err != nil || len(r.Messages) != 1 {
			t.Errorf("second retrieval: %d messages, %v", len(r.Messages), err)
		}
		var audits []string
		rows, _ := h.b.st.FilterAuditEvents(t.Context(), store.AuditFilter{OrganisationID: physio.ID, ActionPrefix: "message."})
		for i := len(rows) - 1; i >= 0; i-- {
			if rows[i].Detail["message_id"] == held.ID {
				audits = append(audits, rows[i].Action)
			}
		}
		if want := "message.received,message.retrieved,message.retrieved"; strings.Join(audits, ",") != want {
			t.Errorf("audit of the held message: %v, want %s", audits, want)
		}
	})
}

// An organisation's own software retrieves the transport responses its
// messages got (TRR), and removes them once retrieved (or with force).
func TestTRR_RetrieveAndRemove(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	f := h.f
	gp := h.a.org(gpURI)
	send := func(t *testing.T) (store.Message, store.TransportResponse) {
		t.Helper()
		m := h.a.submit(t, pipeline.Outbound{From: gpURI, To: physioURI, Payload: []byte("tell me")})
		waitStatus(t, h.a.st, gp.ID, m.InvocationID, store.StatusDelivered, wait)
		rs, err := h.a.st.MessageResponses(t.Context(), m.ID)
		if err != nil || len(rs) != 1 {
			t.Fatalf("transport responses %+v, %v", rs, err)
		}
		return m, rs[0]
	}
	trrRetrieve := func(t *testing.T, id identity, org string, all bool) (wire.TRRRetrieveResponse, error) {
		t.Helper()
		env, err := call(t, &id, h.a.url, soap.TRRRetrieve, wire.TRRRetrieve{Organisation: org, AllAvailable: all, Limit: 10}.Element())
		if err != nil {
			return wire.TRRRetrieveResponse{}, err
		}
		r, err := wire.ParseTRRRetrieveResponse(env.Body)
		if err != nil {
			t.Fatalf("TRR retrieve response: %v", err)
		}
		return r, nil
	}
	trrRemove := func(t *testing.T, force bool, ids ...string) (wire.TRRRemoveResponse, error) {
		t.Helper()
		env, err := call(t, &f.gp, h.a.url, soap.TRRRemove, wire.TRRRemove{Force: force, Organisation: gpURI, ResponseIDs: ids}.Element())
		if err != nil {
			return wire.TRRRemoveResponse{}, err
		}
		r, err := wire.ParseTRRRemoveResponse(env.Body)
		if err != nil {
			t.Fatalf("TRR remove response: %v", err)
		}
		return r, nil
	}
	removeError := func(t *testing.T, err error, code wire.ErrorCode) {
		t.Helper()
		if re, ok := serviceError(t, err).(wire.TRRRemoveError); !ok || re.ErrorCode != code {
			t.Errorf("got %v, want removeError %s", err, code)
		}
	}

	m1, r1 := send(t)
	r, err := trrRetrieve(t, f.gp, gpURI, false)
	if err != nil {
		t.Fatal(err)
	}
	if r.TotalNumberAvailable != 1 || len(r.Responses) != 1 {
		t.Fatalf("TRR retrieve: %+v", r)
	}
	got := r.Responses[0]
	if got.Metadata.InvocationID != m1.InvocationID || got.Metadata.ResponseID != r1.ResponseID ||
		got.DeliveryResponse.ResponseClass != wire.ClassSuccess || !got.Final || got.Metadata.SourceOrganisation != physioURI {
		t.Errorf("retrieved response %+v", got)
	}
	if r, err := trrRetrieve(t, f.gp, gpURI, false); err != nil || len(r.Responses) != 0 {
		t.Errorf("second retrieve: %d responses, %v; want none new", len(r.Responses), err)
	}

	_, r2 := send(t)
	_, err = trrRemove(t, false, r2.ResponseID)
	removeError(t, err, wire.HasNotBeenRetrieved)
	// A batch with an unknown responseId removes nothing.
	_, err = trrRemove(t, false, r1.ResponseID, "urn:uuid:00000000-0000-4000-8000-000000000000")
	removeError(t, err, wire.UnknownResponse)
	if r, err := trrRetrieve(t, f.gp, gpURI, true); err != nil || r.TotalNumberAvailable != 2 {
		t.Fatalf("after refused removals: %d available, %v; want 2", r.TotalNumberAvailable, err)
	}
	if _, err := trrRemove(t, true, r2.ResponseID); err != nil {
		t.Fatalf("forced remove: %v", err)
	}
	if res, err := trrRemove(t, false, r1.ResponseID); err != nil || len(res.Results) != 1 || res.Results[0].Status != wire.RemoveStatusOK {
		t.Fatalf("remove a retrieved response: %+v, %v", res, err)
	}
	if r, err := trrRetrieve(t, f.gp, gpURI, true); err != nil || r.TotalNumberAvailable != 0 || len(r.Responses) != 0 {
		t.Errorf("after removal: %+v, %v; want nothing", r, err)
	}

	// Only the organisation's own certificate, and only for organisations
	// hosted here.
	_, err = trrRetrieve(t, f.gp, org39URI, true)
	wantStandardFault(t, err, fault.NotAuthorised)
	_, err = trrRetrieve(t, f.tlsB, gpURI, true)
	wantStandardFault(t, err, fault.NotAuthorised)
	_, err = trrRetrieve(t, f.physio, physioURI, true)
	if re, ok := serviceError(t, err).(wire.TRRRetrieveError); !ok || re.ErrorCode != wire.UnknownOrganisation {
		t.Errorf("got %v, want retrieveError %s", err, wire.UnknownOrganisation)
	}
}
