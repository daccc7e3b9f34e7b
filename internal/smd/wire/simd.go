package wire

import (
	"github.com/beevik/etree"

	"github.com/opensmd/portal/internal/smd/ns"
)

// SIMDDeliver is the simd:deliver request body of Sealed Immediate Message
// Delivery (smd-SealedImmediateMessageDelivery-Interface-2010.wsdl;
// SMD.md §1.7).
type SIMDDeliver struct {
	Message SealedMessage
}

// Element builds the simd:deliver element.
func (d SIMDDeliver) Element() *etree.Element {
	e := newRoot(ns.SvcSIMD, "deliver")
	d.Message.build(e, ns.SvcSIMD, "message")
	return declareUsed(e)
}

// ParseSIMDDeliver parses a simd:deliver element.
func ParseSIMDDeliver(el *etree.Element) (SIMDDeliver, error) {
	m, err := parseDeliver(el, ns.SvcSIMD, "deliver", "message")
	return SIMDDeliver{Message: m}, err
}

// SIMDDeliverResponse is the simd:deliverResponse body: the sealed reply,
// encrypted for the sender.
type SIMDDeliverResponse struct {
	Response SealedMessage
}

// Element builds the simd:deliverResponse element.
func (r SIMDDeliverResponse) Element() *etree.Element {
	e := newRoot(ns.SvcSIMD, "deliverResponse")
	r.Response.build(e, ns.SvcSIMD, "response")
	return declareUsed(e)
}

// ParseSIMDDeliverResponse parses a simd:deliverResponse element.
func ParseSIMDDeliverResponse(el *etree.Element) (SIMDDeliverResponse, error) {
	m, err := parseDeliver(el, ns.SvcSIMD, "deliverResponse", "response")
	return SIMDDeliverResponse{Response: m}, err
}

// SIMDTimeoutError is the simd:timeoutError fault detail.
type SIMDTimeoutError struct {
	// ErrorCode is BusyRetryLater or RequestFailure.
	ErrorCode ErrorCode
	Message   string
}

// Error implements the error interface.
func (e SIMDTimeoutError) Error() string {
	return "timeoutError " + string(e.ErrorCode) + ": " + e.Message
}

// FaultName returns "timeoutError".
func (e SIMDTimeoutError) FaultName() string { return "timeoutError" }

// Element builds the simd:timeoutError element.
func (e SIMDTimeoutError) Element() *etree.Element {
	return codeMessage{ns.SvcSIMD, "timeoutError", e.ErrorCode, e.Message}.element()
}

// ParseSIMDTimeoutError parses a simd:timeoutError element.
func ParseSIMDTimeoutError(el *etree.Element) (SIMDTimeoutError, error) {
	c, err := parseCodeMessage(el, ns.SvcSIMD, "timeoutError", BusyRetryLater, RequestFailure)
	return SIMDTimeoutError{ErrorCode: c.code, Message: c.message}, err
}

// codeMessage is the common shape of the service error elements:
// errorCode, message and (SMR retrieveError, TRR removeError) a trailing
// identifier element.
type codeMessage struct {
	space, local string
	code         ErrorCode
	message      string
}

func (c codeMessage) element() *etree.Element {
	return declareUsed(c.build())
}

func (c codeMessage) build() *etree.Element {
	e := newRoot(c.space, c.local)
	addText(e, c.space, "errorCode", string(c.code))
	addText(e, c.space, "message", c.message)
	return e
}

// parsed holds the errorCode and message of a service error element.
type parsed struct {
	code    ErrorCode
	message string
}

// parseCodeMessage parses an element that holds exactly errorCode and
// message.
func parseCodeMessage(el *etree.Element, space, local string, allowed ...ErrorCode) (parsed, error) {
	p, s, err := openCodeMessage(el, space, local, allowed...)
	if err != nil {
		return p, err
	}
	return p, s.done()
}

// openCodeMessage reads errorCode and message and returns the seq for any
// trailing elements.
func openCodeMessage(el *etree.Element, space, local string, allowed ...ErrorCode) (parsed, *seq, error) {
	var p parsed
	if err := checkName(el, space, local); err != nil {
		return p, nil, err
	}
	s := newSeq(el, qname(space, local))
	p.code = s.errorCode(space, allowed...)
	p.message = s.str(space, "message")
	return p, s, nil
}
