package soap_test

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/opensmd/portal/internal/smd/fault"
	"github.com/opensmd/portal/internal/smd/ns"
	"github.com/opensmd/portal/internal/smd/soap"
	"github.com/opensmd/portal/internal/smd/wire"
	"github.com/opensmd/portal/internal/smd/wire/wiretest"
)

const endpoint = "https://receiver.example/smd"

// envelopes returns, per exchange, the request, the response and one
// fault envelope per declared fault detail, with deterministic headers.
func envelopes() map[string]*soap.Envelope {
	r := wiretest.Rand(21)
	out := map[string]*soap.Envelope{}
	for _, x := range exchanges() {
		reqID := wire.NewInvocationID(r)
		out[x.name+"Request"] = &soap.Envelope{
			Header: soap.Header{To: endpoint, Action: x.op.RequestAction(), MessageID: reqID,
				From: "https://sender.example/smd"},
			Body: x.request,
		}
		out[x.name+"Response"] = &soap.Envelope{
			Header: soap.Header{Action: x.op.ResponseAction(), MessageID: wire.NewInvocationID(r), RelatesTo: reqID},
			Body:   x.response,
		}
		details := append([]wire.ServiceError{}, x.faults...)
		for _, se := range standardErrors() {
			details = append(details, se)
		}
		for _, d := range details {
			f := soap.FaultFromError(x.op, d)
			name := x.name + "Fault_" + d.FaultName()
			if se, ok := d.(wire.StandardError); ok {
				name += "_" + string(se.ErrorCode)
			}
			out[name] = &soap.Envelope{
				Header: soap.Header{Action: f.Action, MessageID: wire.NewInvocationID(r), RelatesTo: reqID},
				Body:   f.Element(),
			}
		}
	}
	return out
}

// TestGolden pins the full wire form of every request, response and fault
// envelope, including the SMD deliver request with routeRecord and certRef.
func TestGolden(t *testing.T) {
	for name, env := range envelopes() {
		t.Run(name, func(t *testing.T) {
			b, err := soap.Build(env)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, b)
		})
	}
}

// TestBuildParse_RoundTrip parses every built envelope back: same header,
// same body.
func TestBuildParse_RoundTrip(t *testing.T) {
	for name, env := range envelopes() {
		t.Run(name, func(t *testing.T) {
			b, err := soap.Build(env)
			if err != nil {
				t.Fatal(err)
			}
			got, err := soap.Parse(bytes.NewReader(b), soap.Limits{})
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if diff := cmp.Diff(env.Header, got.Header); diff != "" {
				t.Errorf("header (-want +got):\n%s", diff)
			}
			if w, g := xmlString(t, env.Body), xmlString(t, got.Body); w != g {
				t.Errorf("body differs:\nwant %s\n got %s", w, g)
			}
			if got.IsFault() != (env.Body.Tag == "Fault") {
				t.Error("IsFault wrong")
			}
		})
	}
}

// TestBuild_BodyValidates checks that the body as carried inside a built
// envelope (after Detach and re-parse) still validates against its WSDL
// schema, and that every fault detail validates too.
func TestBuild_BodyValidates(t *testing.T) {
	wiretest.Xmllint(t)
	schemas := map[string]string{}
	for _, op := range soap.Operations() {
		if _, ok := schemas[op.Service]; !ok {
			schemas[op.Service] = wiretest.WSDLSchema(t, wsdlFor(op.Service))
		}
	}
	se := wiretest.SpecDir(t) + "/smd-2010/xsd/wsp-StandardError-2010.xsd"
	for _, x := range exchanges() {
		for name, env := range envelopes() {
			if len(name) < len(x.name) || name[:len(x.name)] != x.name {
				continue
			}
			t.Run(name, func(t *testing.T) {
				b, err := soap.Build(env)
				if err != nil {
					t.Fatal(err)
				}
				got, err := soap.Parse(bytes.NewReader(b), soap.Limits{})
				if err != nil {
					t.Fatal(err)
				}
				body, xsd := got.Body, schemas[x.op.Service]
				if got.IsFault() {
					f, err := soap.ParseFault(got.Body)
					if err != nil {
						t.Fatal(err)
					}
					body = f.Detail
					if body.NamespaceURI() == ns.StandardError {
						xsd = se
					}
				}
				wiretest.ValidateBytes(t, xsd, []byte(xmlString(t, body)))
			})
		}
	}
}

func wsdlFor(svc string) string {
	switch svc {
	case ns.SvcSMD:
		return "smd-2010/wsdl/smd-SealedMessageDelivery-Interface-2010.wsdl"
	case ns.SvcSIMD:
		return "smd-2010/wsdl/smd-SealedImmediateMessageDelivery-Interface-2010.wsdl"
	case ns.SvcSMR:
		return "smd-2010/wsdl/smd-SealedMessageRetrieval-Interface-2010.wsdl"
	case ns.SvcTRD:
		return "smd-2010/wsdl/smd-TransportResponseDelivery-Interface-2010.wsdl"
	case ns.SvcTRR:
		return "smd-2010/wsdl/smd-TransportResponseRetrieval-Interface-2010.wsdl"
	}
	return "els-2010/wsdl/els-LookupInterface-2010.wsdl"
}

func TestBuild_Errors(t *testing.T) {
	if _, err := soap.Build(nil); err == nil {
		t.Error("nil envelope built")
	}
	if _, err := soap.Build(&soap.Envelope{Header: soap.Header{Action: "urn:a"}}); err == nil {
		t.Error("envelope without body built")
	}
	if _, err := soap.Build(&soap.Envelope{Body: wire.SMRList{}.Element()}); err == nil {
		t.Error("envelope without action built")
	}
}

func TestFaultFromError(t *testing.T) {
	tests := []struct {
		name   string
		op     soap.Operation
		err    error
		code   string
		status int
		action string
		detail string
	}{
		{"FaultError", soap.SMDDeliver, fault.New(fault.BadSignature, "bad sig"), soap.CodeSender, 400,
			soap.SMDDeliver.FaultAction("standardError"), "badSignature"},
		{"Unavailable", soap.SMRList, fault.New(fault.ServiceTemporaryUnavailable, "later"), soap.CodeReceiver, 500,
			soap.SMRList.FaultAction("standardError"), "serviceTemporaryUnavailable"},
		{"PermanentUnavailable", soap.SMRList, fault.New(fault.ServicePermanentUnavailable, "gone"), soap.CodeReceiver, 500,
			soap.SMRList.FaultAction("standardError"), "servicePermanentUnavailable"},
		{"Wrapped", soap.TRRRemove, wrap(fault.New(fault.BadParam, "p")), soap.CodeSender, 400,
			soap.TRRRemove.FaultAction("standardError"), "badParam"},
		{"Internal", soap.TRDDeliver, errInternal, soap.CodeReceiver, 500,
			soap.TRDDeliver.FaultAction("standardError"), "serviceTemporaryUnavailable"},
		{"ServiceError", soap.SMRList, wire.SMRListError{ErrorCode: wire.UnknownReceiverOrganisation, Message: "m"},
			soap.CodeSender, 400, soap.SMRList.FaultAction("listError"), "unknownReceiverOrganisation"},
		{"Timeout", soap.SIMDDeliver, wire.SIMDTimeoutError{ErrorCode: wire.BusyRetryLater, Message: "m"},
			soap.CodeReceiver, 500, soap.SIMDDeliver.FaultAction("timeoutError"), "busyRetryLater"},
		{"UndeclaredServiceError", soap.SMDDeliver, wire.SMRListError{ErrorCode: wire.UnknownReceiverOrganisation},
			soap.CodeReceiver, 500, soap.SMDDeliver.FaultAction("standardError"), "serviceTemporaryUnavailable"},
		{"WrongNamespaceSameName", soap.SMDDeliver, wire.TRDDeliverError{ErrorCode: wire.UnknownSenderOrganisation},
			soap.CodeReceiver, 500, soap.SMDDeliver.FaultAction("standardError"), "serviceTemporaryUnavailable"},
		{"CertificateUnidentifiedSMD", soap.SMDDeliver, fault.New(fault.CertificateUnidentified, "c"), soap.CodeSender, 400,
			soap.SMDDeliver.FaultAction("standardError"), "badCertificateTransmitted"},
		{"CertificateUnidentifiedELS", soap.ELSListInteractions, fault.New(fault.CertificateUnidentified, "c"), soap.CodeSender,
			400, soap.ELSListInteractions.FaultAction("standardError"), "certificateUnidentified"},
		{"NoOperation", soap.Operation{}, fault.New(fault.BadWsaAction, "a"), soap.CodeSender, 400,
			soap.ActionSOAPFault, "badWsaAction"},
		{"VersionMismatch", soap.Operation{}, fault.Wrap(fault.BadlyFormedMsg, "v", soap.ErrVersionMismatch),
			soap.CodeVersionMismatch, 500, soap.ActionSOAPFault, "badlyFormedMsg"},
		{"MustUnderstand", soap.Operation{}, fault.Wrap(fault.BadlyFormedMsg, "v", soap.ErrMustUnderstand),
			soap.CodeMustUnderstand, 500, soap.ActionSOAPFault, "badlyFormedMsg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := soap.FaultFromError(tt.op, tt.err)
			if f.Code != tt.code || f.HTTPStatus() != tt.status || f.Action != tt.action {
				t.Errorf("got code %s status %d action %s", f.Code, f.HTTPStatus(), f.Action)
			}
			if s := xmlString(t, f.Detail); !bytes.Contains([]byte(s), []byte(">"+tt.detail+"<")) {
				t.Errorf("detail %s lacks %s", s, tt.detail)
			}
			if tt.name == "Internal" && bytes.Contains([]byte(xmlString(t, f.Element())), []byte("secret")) {
				t.Error("internal error text leaked into the fault")
			}
		})
	}
}

type wrapped struct{ err error }

func (w wrapped) Error() string { return "context: " + w.err.Error() }
func (w wrapped) Unwrap() error { return w.err }

func wrap(err error) error { return wrapped{err} }

var errInternal = wrap(errSecret{})

type errSecret struct{}

func (errSecret) Error() string { return "db password secret leaked" }

// TestParseFaultError reads faults as other SOAP stacks write them.
func TestParseFaultError(t *testing.T) {
	tests := []struct {
		name      string
		xml       string
		code      string
		reason    string
		std       fault.Code
		transient bool
	}{
		{"ForeignPrefix", `<s:Envelope xmlns:s="` + ns.SOAP12 + `" xmlns:a="` + ns.WSA + `"><s:Header><a:Action>` +
			soap.ActionSOAPFault + `</a:Action></s:Header><s:Body><s:Fault><s:Code><s:Value>s:Receiver</s:Value></s:Code>` +
			`<s:Reason><s:Text xml:lang="en">down</s:Text></s:Reason><s:Detail><e:standardError xmlns:e="` + ns.StandardError +
			`"><e:errorCode>serviceTemporaryUnavailable</e:errorCode><e:message>down</e:message></e:standardError>` +
			`</s:Detail></s:Fault></s:Body></s:Envelope>`, soap.CodeReceiver, "down", fault.ServiceTemporaryUnavailable, true},
		{"UnknownDetail", `<s:Envelope xmlns:s="` + ns.SOAP12 + `"><s:Body><s:Fault><s:Code><s:Value>s:Sender</s:Value>` +
			`<s:Subcode><s:Value>x:Whatever</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en">no</s:Text>` +
			`</s:Reason><s:Detail><x:oops xmlns:x="urn:x"/></s:Detail></s:Fault></s:Body></s:Envelope>`,
			soap.CodeSender, "no", "", false},
		{"NoDetail", `<s:Envelope xmlns:s="` + ns.SOAP12 + `"><s:Body><s:Fault><s:Code><s:Value>s:Sender</s:Value>` +
			`</s:Code><s:Reason><s:Text xml:lang="en">bad</s:Text></s:Reason></s:Fault></s:Body></s:Envelope>`,
			soap.CodeSender, "bad", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := soap.Parse(bytes.NewReader([]byte(tt.xml)), soap.Limits{}); err == nil {
				t.Fatal("request parser accepted a reply without MessageID")
			}
			env, err := soap.ParseReply(bytes.NewReader([]byte(tt.xml)), soap.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			fe, err := soap.ParseFaultError(env)
			if err != nil {
				t.Fatal(err)
			}
			if fe.Fault.Code != tt.code || fe.Fault.Reason != tt.reason || fe.Transient() != tt.transient {
				t.Errorf("got %+v transient %v", fe.Fault, fe.Transient())
			}
			if code, _ := fe.Code(); code != tt.std {
				t.Errorf("standard code %q, want %q", code, tt.std)
			}
			if fe.Error() == "" {
				t.Error("empty Error()")
			}
		})
	}
	if _, err := soap.ParseFaultError(nil); err == nil {
		t.Error("nil envelope accepted")
	}
}
