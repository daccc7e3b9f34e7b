package soap

import (
	"errors"
	"net/http"
	"strings"

	"github.com/beevik/etree"

	"github.com/opensmd/portal/internal/smd/fault"
	"github.com/opensmd/portal/internal/smd/ns"
	"github.com/opensmd/portal/internal/smd/wire"
)

// SOAP 1.2 fault codes (env:Code/env:Value), written with the env prefix.
const (
	CodeSender          = "env:Sender"
	CodeReceiver        = "env:Receiver"
	CodeVersionMismatch = "env:VersionMismatch"
	CodeMustUnderstand  = "env:MustUnderstand"
	CodeDataEncoding    = "env:DataEncodingUnknown"
)

// Sentinels wrapped by Parse errors that need a specific SOAP fault code.
var (
	// ErrVersionMismatch: the envelope is not SOAP 1.2 (env:VersionMismatch).
	ErrVersionMismatch = errors.New("soap: envelope version mismatch")
	// ErrMustUnderstand: a mandatory header block is not supported
	// (env:MustUnderstand).
	ErrMustUnderstand = errors.New("soap: mandatory header not understood")
)

// Fault is a SOAP 1.2 env:Fault (SOAP 1.2 Part 1 §5.4) with the WSDL fault
// action and detail (SMD.md §1.9).
type Fault struct {
	// Code is one of the Code* constants, e.g. CodeSender.
	Code string
	// Reason is the human-readable env:Reason/env:Text (xml:lang="en").
	Reason string
	// Action is the wsa:Action of the fault message.
	Action string
	// Detail is the single child of env:Detail: se:standardError or a
	// service error element. Optional.
	Detail *etree.Element
}

// Element builds the env:Fault element.
func (f Fault) Element() *etree.Element {
	el := etree.NewElement("env:Fault")
	el.CreateAttr("xmlns:env", ns.SOAP12)
	el.CreateElement("env:Code").CreateElement("env:Value").SetText(f.Code)
	text := el.CreateElement("env:Reason").CreateElement("env:Text")
	text.CreateAttr("xml:lang", "en")
	text.SetText(f.Reason)
	if f.Detail != nil {
		el.CreateElement("env:Detail").AddChild(wire.Detach(f.Detail))
	}
	return el
}

// HTTPStatus is the HTTP status of a response carrying the fault (SOAP 1.2
// Part 2 §7.5.1.2): 400 for env:Sender, 500 otherwise.
func (f Fault) HTTPStatus() int {
	if f.Code == CodeSender {
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// ParseFault parses an env:Fault element. Action is not part of the
// element; the caller copies it from the envelope header.
func ParseFault(el *etree.Element) (Fault, error) {
	var f Fault
	if el == nil || !isSOAP(el, "Fault") {
		return f, fault.New(fault.BadlyFormedMsg, "env:Fault expected")
	}
	code := soapChild(el, "Code")
	if code == nil || soapChild(code, "Value") == nil {
		return f, fault.New(fault.BadlyFormedMsg, "env:Fault without env:Code/env:Value")
	}
	f.Code = normaliseCode(soapChild(code, "Value"))
	if reason := soapChild(el, "Reason"); reason != nil {
		if t := soapChild(reason, "Text"); t != nil {
			f.Reason = t.Text()
		}
	}
	if d := soapChild(el, "Detail"); d != nil {
		if kids := d.ChildElements(); len(kids) > 0 {
			f.Detail = kids[0]
		}
	}
	return f, nil
}

func soapChild(e *etree.Element, local string) *etree.Element {
	for _, c := range e.ChildElements() {
		if isSOAP(c, local) {
			return c
		}
	}
	return nil
}

// normaliseCode resolves the QName in env:Value and rewrites it with the
// env prefix when it is in the SOAP 1.2 namespace.
func normaliseCode(v *etree.Element) string {
	text := strings.TrimSpace(v.Text())
	prefix, local, ok := strings.Cut(text, ":")
	if !ok {
		return text
	}
	for e := v; e != nil; e = e.Parent() {
		for _, a := range e.Attr {
			if a.Space == "xmlns" && a.Key == prefix {
				if a.Value == ns.SOAP12 {
					return "env:" + local
				}
				return text
			}
		}
	}
	return text
}

// FaultFromError maps a handler or parse error to the fault a server sends
// for operation op (zero op: the operation is unknown):
//   - a wire.ServiceError declared by op (wire.StandardError always is)
//     becomes that detail, with the WSDL fault action;
//   - a *fault.Error becomes se:standardError with its code and peer-safe
//     message;
//   - anything else is an internal error: se:standardError
//     serviceTemporaryUnavailable with a generic message, so internal detail
//     never reaches the peer.
//
// env:Code is Receiver for service*Unavailable and SIMD timeoutError,
// VersionMismatch or MustUnderstand when err wraps ErrVersionMismatch or
// ErrMustUnderstand, and Sender otherwise.
func FaultFromError(op Operation, err error) Fault {
	var se wire.ServiceError
	if errors.As(err, &se) && declares(op, se) {
		return newFault(op, se, reasonOf(se), codeFor(se))
	}
	var fe *fault.Error
	if errors.As(err, &fe) {
		std := wire.StandardError{ErrorCode: schemaCode(op, fe.Code), Message: fe.Message}
		code := codeFor(std)
		switch {
		case errors.Is(err, ErrVersionMismatch):
			code = CodeVersionMismatch
		case errors.Is(err, ErrMustUnderstand):
			code = CodeMustUnderstand
		}
		return newFault(op, std, fe.Message, code)
	}
	std := wire.StandardError{ErrorCode: fault.ServiceTemporaryUnavailable, Message: "internal error"}
	return newFault(op, std, std.Message, CodeReceiver)
}

// schemaCode keeps the StandardError code valid for op's schema:
// certificateUnidentified exists only in the ELS copy of
// wsp-StandardError-2010.xsd, so SMD interfaces send
// badCertificateTransmitted instead.
func schemaCode(op Operation, c fault.Code) fault.Code {
	if c == fault.CertificateUnidentified && op.Service != ns.SvcELS {
		return fault.BadCertificateTransmitted
	}
	return c
}

// declares reports whether op may send se: se:standardError always; a
// service error only if op declares a fault of that name in its own service
// namespace.
func declares(op Operation, se wire.ServiceError) bool {
	if _, ok := se.(wire.StandardError); ok {
		return true
	}
	return op.HasFault(se.FaultName()) && se.Element().NamespaceURI() == op.Service
}

func newFault(op Operation, se wire.ServiceError, reason, code string) Fault {
	action := ActionSOAPFault
	if !op.IsZero() {
		action = op.FaultAction(se.FaultName())
	}
	return Fault{Code: code, Reason: reason, Action: action, Detail: se.Element()}
}

// reasonOf is the env:Reason text for a service error: its message.
func reasonOf(se wire.ServiceError) string {
	switch e := se.(type) {
	case wire.StandardError:
		return e.Message
	case wire.DeliverError:
		return e.DeliveryResponse.Message
	}
	return se.Error()
}

// codeFor chooses env:Code for a fault detail (SMD.md §1.9, UNCONFIRMED
// mapping): the server side is at fault when it is unavailable or timed out.
func codeFor(se wire.ServiceError) string {
	switch e := se.(type) {
	case wire.StandardError:
		if e.ErrorCode == fault.ServiceTemporaryUnavailable || e.ErrorCode == fault.ServicePermanentUnavailable {
			return CodeReceiver
		}
	case wire.SIMDTimeoutError:
		return CodeReceiver
	}
	return CodeSender
}

// FaultError is the error a Client returns when the peer answers with a
// SOAP fault.
type FaultError struct {
	Fault Fault
	// StandardError is set when the detail is se:standardError.
	StandardError *wire.StandardError
	// ServiceError is the parsed detail (including a StandardError), or nil
	// when the detail is absent or not one the WSDLs declare.
	ServiceError wire.ServiceError
}

// Error implements the error interface.
func (e *FaultError) Error() string {
	var b strings.Builder
	b.WriteString("soap fault ")
	b.WriteString(e.Fault.Code)
	if e.ServiceError != nil {
		b.WriteString(": ")
		b.WriteString(e.ServiceError.Error())
	} else if e.Fault.Reason != "" {
		b.WriteString(": ")
		b.WriteString(e.Fault.Reason)
	}
	return b.String()
}

// Transient reports whether retrying later may succeed: a StandardError
// serviceTemporaryUnavailable or a SIMD timeoutError busyRetryLater. Every
// other fault is permanent.
func (e *FaultError) Transient() bool {
	switch d := e.ServiceError.(type) {
	case wire.StandardError:
		return d.ErrorCode == fault.ServiceTemporaryUnavailable
	case wire.SIMDTimeoutError:
		return d.ErrorCode == wire.BusyRetryLater
	}
	return false
}

// Code returns the StandardError code of the fault, if it has one.
func (e *FaultError) Code() (fault.Code, bool) {
	if e.StandardError == nil {
		return "", false
	}
	return e.StandardError.ErrorCode, true
}

// ParseFaultError turns a parsed fault envelope (env.IsFault()) into a
// *FaultError, parsing the detail into its wire type when the WSDLs declare
// it. The fault's Action comes from the envelope header.
func ParseFaultError(env *Envelope) (*FaultError, error) {
	if env == nil {
		return nil, fault.New(fault.BadlyFormedMsg, "no envelope")
	}
	f, err := ParseFault(env.Body)
	if err != nil {
		return nil, err
	}
	f.Action = env.Header.Action
	fe := &FaultError{Fault: f}
	if f.Detail != nil {
		if se, err := wire.ParseServiceError(f.Detail); err == nil {
			fe.ServiceError = se
			if std, ok := se.(wire.StandardError); ok {
				fe.StandardError = &std
			}
		}
	}
	fe.Fault.Detail = wire.Detach(f.Detail)
	return fe, nil
}
