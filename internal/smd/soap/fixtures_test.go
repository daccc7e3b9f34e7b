package soap_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"
	"github.com/google/go-cmp/cmp"

	"github.com/opensmd/portal/internal/smd/fault"
	"github.com/opensmd/portal/internal/smd/ns"
	"github.com/opensmd/portal/internal/smd/soap"
	"github.com/opensmd/portal/internal/smd/wire"
	"github.com/opensmd/portal/internal/smd/wire/wiretest"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// exchange is one operation with a request body, the response body a
// server gives, and the service-specific faults it may send.
type exchange struct {
	name     string
	op       soap.Operation
	request  *etree.Element
	response *etree.Element
	faults   []wire.ServiceError
}

// exchanges returns one exchange per operation, from deterministic
// fixtures.
func exchanges() []exchange {
	r := wiretest.Rand(11)
	msg := wiretest.SealedMessage(r)
	simd := wiretest.SealedMessage(r)
	simd.Metadata.ServiceInterface = ns.IntfSIMD
	simd.Metadata.RouteRecord = nil
	reply := wiretest.SealedMessage(r)
	reply.Metadata.RouteRecord = nil
	tr := wiretest.TransportResponse(r, msg.Metadata)
	dr := wire.DeliveryResponse{ResponseClass: wire.ClassError, ResponseCode: wire.ResponseCodeDecryptionFailed,
		Message: "payload could not be decrypted"}
	return []exchange{
		{"SMDDeliver", soap.SMDDeliver, wire.SMDDeliver{Message: msg}.Element(),
			wire.SMDDeliverResponse{Status: wire.StatusOK}.Element(),
			[]wire.ServiceError{wire.DeliverError{Service: ns.SvcSMD, DeliveryResponse: dr}}},
		{"SIMDDeliver", soap.SIMDDeliver, wire.SIMDDeliver{Message: simd}.Element(),
			wire.SIMDDeliverResponse{Response: reply}.Element(),
			[]wire.ServiceError{wire.DeliverError{Service: ns.SvcSIMD, DeliveryResponse: dr},
				wire.SIMDTimeoutError{ErrorCode: wire.BusyRetryLater, Message: "busy"}}},
		{"SMRList", soap.SMRList, wire.SMRList{ReceiverOrganisation: wiretest.ReceiverHPIO, Limit: 10}.Element(),
			wire.SMRListResponse{TotalNumberAvailable: 1, RetrievalRecords: []wire.RetrievalRecord{
				{MessageSize: 2048, Metadata: msg.Metadata}}}.Element(),
			[]wire.ServiceError{wire.SMRListError{ErrorCode: wire.UnknownReceiverOrganisation, Message: "unknown receiver"}}},
		{"SMRRetrieve", soap.SMRRetrieve, wire.SMRRetrieve{ReceiverOrganisation: wiretest.ReceiverHPIO,
			InvocationIDs: []string{msg.Metadata.InvocationID}}.Element(),
			wire.SMRRetrieveResponse{Messages: []wire.SealedMessage{msg}}.Element(),
			[]wire.ServiceError{wire.SMRRetrieveError{ErrorCode: wire.UnknownMessage, Message: "no such message",
				InvocationID: msg.Metadata.InvocationID}}},
		{"TRDDeliver", soap.TRDDeliver, wire.TRDDeliver{Responses: []wire.TransportResponse{tr, tr}}.Element(),
			wire.TRDDeliverResponse{Status: wire.StatusOK}.Element(),
			[]wire.ServiceError{wire.TRDDeliverError{ErrorCode: wire.UnknownSenderOrganisation, Message: "unknown sender"}}},
		{"TRRRetrieve", soap.TRRRetrieve, wire.TRRRetrieve{Organisation: wiretest.SenderHPIO, Limit: 5}.Element(),
			wire.TRRRetrieveResponse{TotalNumberAvailable: 1, Responses: []wire.TransportResponse{tr}}.Element(),
			[]wire.ServiceError{wire.TRRRetrieveError{ErrorCode: wire.UnknownOrganisation, Message: "unknown organisation"}}},
		{"TRRRemove", soap.TRRRemove, wire.TRRRemove{Organisation: wiretest.SenderHPIO,
			ResponseIDs: []string{tr.Metadata.ResponseID}}.Element(),
			wire.TRRRemoveResponse{Results: []wire.RemoveResult{{ResponseID: tr.Metadata.ResponseID,
				Status: wire.RemoveStatusOK}}}.Element(),
			[]wire.ServiceError{wire.TRRRemoveError{ErrorCode: wire.UnknownResponse, Message: "unknown response",
				ResponseID: tr.Metadata.ResponseID}}},
		{"ELSListInteractions", soap.ELSListInteractions, wire.ELSListInteractions{Request: wire.InteractionRequest{
			Target: wiretest.ReceiverHPIO, ServiceCategories: []string{wiretest.ServiceCat},
			ServiceInterfaces: []string{ns.IntfSMD}}}.Element(),
			wire.ELSListInteractionsResponse{Interactions: []wire.Interaction{wiretest.RouteInteraction()}}.Element(),
			[]wire.ServiceError{wire.ELSLookupError{ErrorCode: wire.UnknownTargetID}}},
		{"ELSValidateInteraction", soap.ELSValidateInteraction,
			wire.ELSValidateInteraction{Interaction: wiretest.RouteInteraction()}.Element(),
			wire.ELSValidateInteractionResponse{IsValid: true}.Element(),
			[]wire.ServiceError{wire.ELSLookupError{ErrorCode: wire.UnknownTargetID}}},
	}
}

// standardErrors are the se:standardError details every operation may send.
func standardErrors() []wire.StandardError {
	return []wire.StandardError{
		{ErrorCode: fault.BadSignature, Message: "payload signature invalid"},
		{ErrorCode: fault.ServiceTemporaryUnavailable, Message: "try later"},
	}
}

// golden compares got with testdata/<TestName>.xml, rewriting it with
// -update.
func golden(t *testing.T, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", strings.ReplaceAll(t.Name(), "/", "_")+".xml")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update to create): %v", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

// xmlString serialises el (with inherited namespaces) for comparisons.
func xmlString(t testing.TB, el *etree.Element) string {
	t.Helper()
	if el == nil {
		return "<nil>"
	}
	s, err := etree.NewDocumentWithRoot(wire.Detach(el)).WriteToString()
	if err != nil {
		t.Fatal(err)
	}
	return s
}
