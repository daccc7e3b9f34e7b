package wire_test

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
	"github.com/opensmd/portal/internal/smd/wire"
	"github.com/opensmd/portal/internal/smd/wire/wiretest"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// Schema locations relative to shared/spec/xsd. A ".wsdl" path means the
// schema embedded in its <wsdl:types>.
const (
	wsdlSMD  = "smd-2010/wsdl/smd-SealedMessageDelivery-Interface-2010.wsdl"
	wsdlSIMD = "smd-2010/wsdl/smd-SealedImmediateMessageDelivery-Interface-2010.wsdl"
	wsdlSMR  = "smd-2010/wsdl/smd-SealedMessageRetrieval-Interface-2010.wsdl"
	wsdlTRD  = "smd-2010/wsdl/smd-TransportResponseDelivery-Interface-2010.wsdl"
	wsdlTRR  = "smd-2010/wsdl/smd-TransportResponseRetrieval-Interface-2010.wsdl"
	wsdlELS  = "els-2010/wsdl/els-LookupInterface-2010.wsdl"
	xsdSE    = "smd-2010/xsd/wsp-StandardError-2010.xsd"
)

// bodyCase is one structure: its Go value, the element built from it, the
// schema it must satisfy and the parser that must give the value back.
type bodyCase struct {
	name   string
	schema string
	value  any
	build  func() *etree.Element
	parse  func(*etree.Element) (any, error)
}

func parser[T any](f func(*etree.Element) (T, error)) func(*etree.Element) (any, error) {
	return func(el *etree.Element) (any, error) { return f(el) }
}

// cases returns every body element of every operation, every fault detail
// and se:standardError, built from deterministic fixtures.
func cases() []bodyCase {
	r := wiretest.Rand(1)
	msg := wiretest.SealedMessage(r)
	simdMsg := wiretest.SealedMessage(r)
	simdMsg.Metadata.ServiceInterface = ns.IntfSIMD
	simdMsg.Metadata.RouteRecord = nil
	minimal := wire.SealedMessage{
		Metadata: wire.MessageMetadata{
			CreationTime: wiretest.Clock, InvocationID: wire.NewInvocationID(r),
			ReceiverOrganisation: wiretest.ReceiverHPIO, SenderOrganisation: wiretest.SenderHPIO,
			ServiceCategory: wiretest.ServiceCat, ServiceInterface: ns.IntfSMD,
		},
		EncryptedPayload: wiretest.EncryptedPayload(r),
	}
	tr := wiretest.TransportResponse(r, msg.Metadata)
	trErr := wire.NewTransportResponse(minimal.Metadata, wiretest.ProviderHPIO, wire.ClassError,
		wire.ResponseCodeExpired, "Message expired before delivery", nil, true, wiretest.Clock, wire.NewInvocationID(r))
	trErr.Metadata.ServiceCategory = ""
	dr := wire.DeliveryResponse{ResponseClass: wire.ClassError, ResponseCode: wire.ResponseCodeUnknownReceiver,
		Message: "Receiver not served"}

	list := []bodyCase{
		{name: "SMDDeliver", schema: wsdlSMD, value: wire.SMDDeliver{Message: msg}},
		{name: "SMDDeliverMinimal", schema: wsdlSMD, value: wire.SMDDeliver{Message: minimal}},
		{name: "SMDDeliverResponseOK", schema: wsdlSMD, value: wire.SMDDeliverResponse{Status: wire.StatusOK}},
		{name: "SMDDeliverResponseDuplicate", schema: wsdlSMD, value: wire.SMDDeliverResponse{Status: wire.StatusDuplicate}},
		{name: "SMDDeliverError", schema: wsdlSMD, value: wire.DeliverError{Service: ns.SvcSMD, DeliveryResponse: dr}},
		{name: "SIMDDeliver", schema: wsdlSIMD, value: wire.SIMDDeliver{Message: simdMsg}},
		{name: "SIMDDeliverResponse", schema: wsdlSIMD, value: wire.SIMDDeliverResponse{Response: minimal}},
		{name: "SIMDDeliverError", schema: wsdlSIMD, value: wire.DeliverError{Service: ns.SvcSIMD, DeliveryResponse: dr}},
		{name: "SIMDTimeoutError", schema: wsdlSIMD, value: wire.SIMDTimeoutError{ErrorCode: wire.BusyRetryLater, Message: "busy"}},
		{name: "SMRList", schema: wsdlSMR, value: wire.SMRList{ReceiverOrganisation: wiretest.ReceiverHPIO, AllAvailable: true, Limit: 50}},
		{name: "SMRListResponse", schema: wsdlSMR, value: wire.SMRListResponse{TotalNumberAvailable: 2, RetrievalRecords: []wire.RetrievalRecord{
			{MessageSize: 4096, Metadata: msg.Metadata}, {MessageSize: 1, Metadata: minimal.Metadata}}}},
		{name: "SMRListResponseEmpty", schema: wsdlSMR, value: wire.SMRListResponse{}},
		{name: "SMRListError", schema: wsdlSMR, value: wire.SMRListError{ErrorCode: wire.UnknownReceiverOrganisation, Message: "unknown"}},
		{name: "SMRRetrieve", schema: wsdlSMR, value: wire.SMRRetrieve{ReceiverOrganisation: wiretest.ReceiverHPIO,
			InvocationIDs: []string{msg.Metadata.InvocationID, minimal.Metadata.InvocationID}}},
		{name: "SMRRetrieveResponse", schema: wsdlSMR, value: wire.SMRRetrieveResponse{Messages: []wire.SealedMessage{msg, minimal}}},
		{name: "SMRRetrieveError", schema: wsdlSMR, value: wire.SMRRetrieveError{ErrorCode: wire.HasBeenRemoved, Message: "removed",
			InvocationID: msg.Metadata.InvocationID}},
		{name: "TRDDeliver", schema: wsdlTRD, value: wire.TRDDeliver{Responses: []wire.TransportResponse{tr, trErr}}},
		{name: "TRDDeliverResponse", schema: wsdlTRD, value: wire.TRDDeliverResponse{Status: wire.StatusOK}},
		{name: "TRDDeliverError", schema: wsdlTRD, value: wire.TRDDeliverError{ErrorCode: wire.UnknownSenderOrganisation, Message: "who?"}},
		{name: "TRRRetrieve", schema: wsdlTRR, value: wire.TRRRetrieve{Organisation: wiretest.SenderHPIO, Limit: 10}},
		{name: "TRRRetrieveResponse", schema: wsdlTRR, value: wire.TRRRetrieveResponse{TotalNumberAvailable: 7, Responses: []wire.TransportResponse{tr, trErr}}},
		{name: "TRRRetrieveError", schema: wsdlTRR, value: wire.TRRRetrieveError{ErrorCode: wire.UnknownOrganisation, Message: "unknown"}},
		{name: "TRRRemove", schema: wsdlTRR, value: wire.TRRRemove{Force: true, Organisation: wiretest.SenderHPIO,
			ResponseIDs: []string{tr.Metadata.ResponseID, trErr.Metadata.ResponseID}}},
		{name: "TRRRemoveResponse", schema: wsdlTRR, value: wire.TRRRemoveResponse{Results: []wire.RemoveResult{
			{ResponseID: tr.Metadata.ResponseID, Status: wire.RemoveStatusOK}}}},
		{name: "TRRRemoveError", schema: wsdlTRR, value: wire.TRRRemoveError{ErrorCode: wire.HasNotBeenRetrieved, Message: "not yet",
			ResponseID: tr.Metadata.ResponseID}},
		{name: "ELSListInteractions", schema: wsdlELS, value: wire.ELSListInteractions{Request: wire.InteractionRequest{
			Target: wiretest.ReceiverHPIO, ServiceCategories: []string{wiretest.ServiceCat, ns.ServiceCategoryTRD},
			ServiceInterfaces: []string{ns.IntfSMD}}}},
		{name: "ELSListInteractionsResponse", schema: wsdlELS, value: wire.ELSListInteractionsResponse{Interactions: []wire.Interaction{
			wiretest.RouteInteraction(), {Target: wiretest.ReceiverHPIO, ServiceCategory: wiretest.ServiceCat,
				ServiceInterface: ns.IntfSMD, ServiceEndpoint: "https://receiver.example/smd", ServiceProvider: wiretest.ReceiverHPIO}}}},
		{name: "ELSValidateInteraction", schema: wsdlELS, value: wire.ELSValidateInteraction{Interaction: wiretest.RouteInteraction()}},
		{name: "ELSValidateInteractionResponse", schema: wsdlELS, value: wire.ELSValidateInteractionResponse{IsValid: true}},
		{name: "ELSLookupError", schema: wsdlELS, value: wire.ELSLookupError{ErrorCode: wire.UnknownTargetID}},
		{name: "StandardError", schema: xsdSE, value: wire.StandardError{ErrorCode: fault.BadSignature, Message: "signature invalid"}},
	}
	for i := range list {
		list[i].build, list[i].parse = codec(list[i].value)
	}
	return list
}

// codec returns the builder and parser for a value of any body type.
func codec(v any) (func() *etree.Element, func(*etree.Element) (any, error)) {
	switch v := v.(type) {
	case wire.SMDDeliver:
		return v.Element, parser(wire.ParseSMDDeliver)
	case wire.SMDDeliverResponse:
		return v.Element, parser(wire.ParseSMDDeliverResponse)
	case wire.DeliverError:
		return v.Element, parser(wire.ParseDeliverError)
	case wire.SIMDDeliver:
		return v.Element, parser(wire.ParseSIMDDeliver)
	case wire.SIMDDeliverResponse:
		return v.Element, parser(wire.ParseSIMDDeliverResponse)
	case wire.SIMDTimeoutError:
		return v.Element, parser(wire.ParseSIMDTimeoutError)
	case wire.SMRList:
		return v.Element, parser(wire.ParseSMRList)
	case wire.SMRListResponse:
		return v.Element, parser(wire.ParseSMRListResponse)
	case wire.SMRListError:
		return v.Element, parser(wire.ParseSMRListError)
	case wire.SMRRetrieve:
		return v.Element, parser(wire.ParseSMRRetrieve)
	case wire.SMRRetrieveResponse:
		return v.Element, parser(wire.ParseSMRRetrieveResponse)
	case wire.SMRRetrieveError:
		return v.Element, parser(wire.ParseSMRRetrieveError)
	case wire.TRDDeliver:
		return v.Element, parser(wire.ParseTRDDeliver)
	case wire.TRDDeliverResponse:
		return v.Element, parser(wire.ParseTRDDeliverResponse)
	case wire.TRDDeliverError:
		return v.Element, parser(wire.ParseTRDDeliverError)
	case wire.TRRRetrieve:
		return v.Element, parser(wire.ParseTRRRetrieve)
	case wire.TRRRetrieveResponse:
		return v.Element, parser(wire.ParseTRRRetrieveResponse)
	case wire.TRRRetrieveError:
		return v.Element, parser(wire.ParseTRRRetrieveError)
	case wire.TRRRemove:
		return v.Element, parser(wire.ParseTRRRemove)
	case wire.TRRRemoveResponse:
		return v.Element, parser(wire.ParseTRRRemoveResponse)
	case wire.TRRRemoveError:
		return v.Element, parser(wire.ParseTRRRemoveError)
	case wire.ELSListInteractions:
		return v.Element, parser(wire.ParseELSListInteractions)
	case wire.ELSListInteractionsResponse:
		return v.Element, parser(wire.ParseELSListInteractionsResponse)
	case wire.ELSValidateInteraction:
		return v.Element, parser(wire.ParseELSValidateInteraction)
	case wire.ELSValidateInteractionResponse:
		return v.Element, parser(wire.ParseELSValidateInteractionResponse)
	case wire.ELSLookupError:
		return v.Element, parser(wire.ParseELSLookupError)
	case wire.StandardError:
		return v.Element, parser(wire.ParseStandardError)
	}
	panic("codec: unhandled test value type")
}

// schemaPath resolves a bodyCase schema to a file xmllint can use.
func schemaPath(t *testing.T, rel string) string {
	if strings.HasSuffix(rel, ".wsdl") {
		return wiretest.WSDLSchema(t, rel)
	}
	return filepath.Join(wiretest.SpecDir(t), rel)
}

// serialize writes el as an indented document (for golden files and
// xmllint reports).
func serialize(t testing.TB, el *etree.Element) []byte {
	t.Helper()
	doc := etree.NewDocumentWithRoot(el)
	doc.Indent(1)
	return write(t, doc)
}

// compact writes el as a document without added whitespace, so the opaque
// payload round-trips byte for byte.
func compact(t testing.TB, el *etree.Element) []byte {
	t.Helper()
	return write(t, etree.NewDocumentWithRoot(el))
}

func write(t testing.TB, doc *etree.Document) []byte {
	t.Helper()
	b, err := doc.WriteToBytes()
	if err != nil {
		t.Fatalf("serialise: %v", err)
	}
	return b
}

// reparse parses b and returns its root.
func reparse(t testing.TB, b []byte) *etree.Element {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(b); err != nil {
		t.Fatalf("reparse: %v", err)
	}
	return doc.Root()
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

// elementEq compares *etree.Element values by their serialised form.
var elementEq = cmp.Comparer(func(a, b *etree.Element) bool {
	if a == nil || b == nil {
		return a == b
	}
	sa, _ := etree.NewDocumentWithRoot(wire.Detach(a)).WriteToString()
	sb, _ := etree.NewDocumentWithRoot(wire.Detach(b)).WriteToString()
	return sa == sb
})
