package wire

import (
	"github.com/beevik/etree"

	"github.com/opensmd/portal/internal/smd/ns"
)

// DeliverStatus is the status of an SMD or TRD deliverResponse.
type DeliverStatus string

// DeliverStatusType values (SMD: ok, duplicate; TRD: ok only).
const (
	StatusOK        DeliverStatus = "ok"
	StatusDuplicate DeliverStatus = "duplicate"
)

// SMDDeliver is the smd:deliver request body of Sealed Message Delivery
// (smd-SealedMessageDelivery-Interface-2010.wsdl; SMD.md §1.7).
type SMDDeliver struct {
	Message SealedMessage
}

// Element builds the smd:deliver element.
func (d SMDDeliver) Element() *etree.Element {
	e := newRoot(ns.SvcSMD, "deliver")
	d.Message.build(e, ns.SvcSMD, "message")
	return declareUsed(e)
}

// ParseSMDDeliver parses an smd:deliver element.
func ParseSMDDeliver(el *etree.Element) (SMDDeliver, error) {
	var d SMDDeliver
	m, err := parseDeliver(el, ns.SvcSMD, "deliver", "message")
	d.Message = m
	return d, err
}

// parseDeliver parses a {space}deliver element whose single child of
// SealedMessageType is named child (SMD and SIMD deliver, SIMD
// deliverResponse).
func parseDeliver(el *etree.Element, space, local, child string) (SealedMessage, error) {
	var m SealedMessage
	if err := checkName(el, space, local); err != nil {
		return m, err
	}
	s := newSeq(el, qname(space, local))
	if me := s.one(space, child); me != nil {
		msg, err := ParseSealedMessage(me)
		s.fail(err)
		m = msg
	}
	return m, s.done()
}

// SMDDeliverResponse is the smd:deliverResponse body.
type SMDDeliverResponse struct {
	// Status is StatusOK or StatusDuplicate.
	Status DeliverStatus
}

// Element builds the smd:deliverResponse element.
func (r SMDDeliverResponse) Element() *etree.Element {
	return statusElement(ns.SvcSMD, "deliverResponse", "status", string(r.Status))
}

// ParseSMDDeliverResponse parses an smd:deliverResponse element.
func ParseSMDDeliverResponse(el *etree.Element) (SMDDeliverResponse, error) {
	v, err := parseStatus(el, ns.SvcSMD, "deliverResponse", "status", string(StatusOK), string(StatusDuplicate))
	return SMDDeliverResponse{Status: DeliverStatus(v)}, err
}

// statusElement builds {space}local containing one enumeration child.
func statusElement(space, local, child, value string) *etree.Element {
	e := newRoot(space, local)
	addText(e, space, child, value)
	return declareUsed(e)
}

// parseStatus parses {space}local containing one enumeration child.
func parseStatus(el *etree.Element, space, local, child string, allowed ...string) (string, error) {
	if err := checkName(el, space, local); err != nil {
		return "", err
	}
	s := newSeq(el, qname(space, local))
	v := s.enum(space, child, allowed...)
	return v, s.done()
}

// DeliverError is the deliverError fault detail of SMD and SIMD
// (DeliverErrorType): a transport-response body returned synchronously.
type DeliverError struct {
	// Service is ns.SvcSMD or ns.SvcSIMD: the namespace of the element.
	Service          string
	DeliveryResponse DeliveryResponse
}

// Error implements the error interface.
func (e DeliverError) Error() string {
	return "deliverError " + string(e.DeliveryResponse.ResponseClass) + " " + e.DeliveryResponse.ResponseCode +
		": " + e.DeliveryResponse.Message
}

// FaultName returns "deliverError".
func (e DeliverError) FaultName() string { return "deliverError" }

// Element builds the {Service}deliverError element.
func (e DeliverError) Element() *etree.Element {
	el := newRoot(e.Service, "deliverError")
	e.DeliveryResponse.build(el, e.Service, "deliveryResponse")
	return declareUsed(el)
}

// ParseDeliverError parses an smd:deliverError or simd:deliverError element.
func ParseDeliverError(el *etree.Element) (DeliverError, error) {
	var e DeliverError
	if el == nil {
		return e, badlyFormed("deliverError", "element missing")
	}
	e.Service = el.NamespaceURI()
	if e.Service != ns.SvcSIMD {
		e.Service = ns.SvcSMD
	}
	if err := checkName(el, e.Service, "deliverError"); err != nil {
		return e, err
	}
	s := newSeq(el, qname(e.Service, "deliverError"))
	if de := s.one(e.Service, "deliveryResponse"); de != nil {
		d, err := ParseDeliveryResponse(de)
		s.fail(err)
		e.DeliveryResponse = d
	}
	return e, s.done()
}
