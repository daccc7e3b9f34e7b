package wire

import (
	"github.com/beevik/etree"

	"github.com/opensmd/portal/internal/smd/ns"
)

// TRDDeliver is the trd:deliver request body of Transport Response Delivery
// (smd-TransportResponseDelivery-Interface-2010.wsdl; SMD.md §1.7):
// one or more transport responses, so they can be batched. Responses must
// not be empty.
type TRDDeliver struct {
	Responses []TransportResponse
}

// Element builds the trd:deliver element.
func (d TRDDeliver) Element() *etree.Element {
	e := newRoot(ns.SvcTRD, "deliver")
	for _, r := range d.Responses {
		r.build(e, ns.SvcTRD, "response")
	}
	return declareUsed(e)
}

// ParseTRDDeliver parses a trd:deliver element.
func ParseTRDDeliver(el *etree.Element) (TRDDeliver, error) {
	var d TRDDeliver
	if err := checkName(el, ns.SvcTRD, "deliver"); err != nil {
		return d, err
	}
	s := newSeq(el, "trd:deliver")
	for _, re := range s.atLeastOne(ns.SvcTRD, "response") {
		r, err := ParseTransportResponse(re)
		s.fail(err)
		d.Responses = append(d.Responses, r)
	}
	return d, s.done()
}

// TRDDeliverResponse is the trd:deliverResponse body; its status is always
// StatusOK.
type TRDDeliverResponse struct {
	Status DeliverStatus
}

// Element builds the trd:deliverResponse element.
func (r TRDDeliverResponse) Element() *etree.Element {
	return statusElement(ns.SvcTRD, "deliverResponse", "status", string(r.Status))
}

// ParseTRDDeliverResponse parses a trd:deliverResponse element.
func ParseTRDDeliverResponse(el *etree.Element) (TRDDeliverResponse, error) {
	v, err := parseStatus(el, ns.SvcTRD, "deliverResponse", "status", string(StatusOK))
	return TRDDeliverResponse{Status: DeliverStatus(v)}, err
}

// TRDDeliverError is the trd:deliverError fault detail.
type TRDDeliverError struct {
	// ErrorCode is UnknownSenderOrganisation.
	ErrorCode ErrorCode
	Message   string
}

// Error implements the error interface.
func (e TRDDeliverError) Error() string {
	return "deliverError " + string(e.ErrorCode) + ": " + e.Message
}

// FaultName returns "deliverError".
func (e TRDDeliverError) FaultName() string { return "deliverError" }

// Element builds the trd:deliverError element.
func (e TRDDeliverError) Element() *etree.Element {
	return codeMessage{ns.SvcTRD, "deliverError", e.ErrorCode, e.Message}.element()
}

// ParseTRDDeliverError parses a trd:deliverError element.
func ParseTRDDeliverError(el *etree.Element) (TRDDeliverError, error) {
	p, err := parseCodeMessage(el, ns.SvcTRD, "deliverError", UnknownSenderOrganisation)
	return TRDDeliverError{ErrorCode: p.code, Message: p.message}, err
}
