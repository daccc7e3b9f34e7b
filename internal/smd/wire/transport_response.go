package wire

import (
	"encoding/base64"
	"strconv"
	"time"

	"github.com/beevik/etree"

	"github.com/opensmd/portal/internal/smd/ns"
)

// ResponseClass is a trsp:ResponseClassType value.
type ResponseClass string

// The four ResponseClassType enumeration values (smd-TransportResponse-2010.xsd).
const (
	ClassSuccess     ResponseClass = "Success"
	ClassInformation ResponseClass = "Information"
	ClassWarning     ResponseClass = "Warning"
	ClassError       ResponseClass = "Error"
)

// Response code URIs used by this implementation in
// DeliveryResponse.ResponseCode.
//
// The schema types responseCode as xsd:anyURI, and no public table of
// standard code URIs was found: the ADHA samples only use placeholders
// (SMD.md §1.10 and §5 item 1, UNCONFIRMED). These are therefore our own
// URIs in a namespace we control; peers must treat a received code as opaque
// and rely on responseClass.
const (
	// ResponseCodeSuccess: the receiver decrypted and verified the payload
	// and accepted it (final, Success).
	ResponseCodeSuccess = "urn:opensmd:smd:response:success"
	// ResponseCodeAccepted: an intermediary accepted the message for
	// onward delivery (intermediate, Information).
	ResponseCodeAccepted = "urn:opensmd:smd:response:accepted"
	// ResponseCodeForwarded: an intermediary forwarded the message to the
	// next hop (intermediate, Information).
	ResponseCodeForwarded = "urn:opensmd:smd:response:forwarded"
	// ResponseCodeDecryptionFailed: the payload could not be decrypted
	// (no key for our certificate, bad ciphertext, unsupported algorithm).
	ResponseCodeDecryptionFailed = "urn:opensmd:smd:response:decryption-failed"
	// ResponseCodeSignatureInvalid: the payload signature did not verify.
	ResponseCodeSignatureInvalid = "urn:opensmd:smd:response:signature-invalid"
	// ResponseCodeCertificateRejected: the signing certificate is not
	// trusted, expired, revoked, has the wrong key usage, or does not name
	// the sender organisation.
	ResponseCodeCertificateRejected = "urn:opensmd:smd:response:certificate-rejected"
	// ResponseCodeUnknownReceiver: receiverOrganisation is not served here.
	ResponseCodeUnknownReceiver = "urn:opensmd:smd:response:unknown-receiver"
	// ResponseCodeUnsupportedServiceCategory: the receiver does not accept
	// this serviceCategory.
	ResponseCodeUnsupportedServiceCategory = "urn:opensmd:smd:response:unsupported-service-category"
	// ResponseCodeExpired: expiryTime passed before delivery.
	ResponseCodeExpired = "urn:opensmd:smd:response:expired"
	// ResponseCodeUndeliverable: delivery to the next hop failed for good.
	ResponseCodeUndeliverable = "urn:opensmd:smd:response:undeliverable"
	// ResponseCodePayloadRejected: the decrypted payload was refused by the
	// receiving application (for example a malformed HL7 message).
	ResponseCodePayloadRejected = "urn:opensmd:smd:response:payload-rejected"
)

// TransportResponse is a trsp:TransportResponseType (ATS 5822-2010;
// SMD.md §1.10). It has no global element: it appears as TRD
// deliver/response and TRR retrieveResponse/list/response.
type TransportResponse struct {
	Metadata         TransportResponseMetadata
	DeliveryResponse DeliveryResponse
	// Final is true for the last transport response for an invocationId.
	Final bool
}

// TransportResponseMetadata is a trsp:TransportResponseMetadataType.
type TransportResponseMetadata struct {
	TransportResponseTime time.Time
	ResponseID            string
	SourceOrganisation    string
	// ServiceCategory is optional ("" = absent).
	ServiceCategory        string
	InvocationID           string
	ReceiverOrganisation   string
	SenderOrganisation     string
	OtherTransportMetadata []OtherTransportMetadataEntry
}

// DeliveryResponse is a trsp:DeliveryResponseType. It is also the content of
// the SMD and SIMD deliverError fault.
type DeliveryResponse struct {
	ResponseClass ResponseClass
	ResponseCode  string
	Message       string
	// DigestValue is the DigestValue of the first ds:Reference of the first
	// signature of the decrypted payload; optional (nil = absent) but
	// required by the ADHA TRD client when ResponseClass is Success.
	DigestValue []byte
}

// NewTransportResponse builds the transport response that source (the
// receiver or an intermediary) sends about the sealed message with metadata
// m. It copies invocationId, receiverOrganisation, senderOrganisation and
// serviceCategory from m, as the ADHA TRD client does (SMD.md §1.10).
func NewTransportResponse(m MessageMetadata, source string, class ResponseClass, code, message string,
	digest []byte, final bool, now time.Time, responseID string) TransportResponse {
	return TransportResponse{
		Metadata: TransportResponseMetadata{
			TransportResponseTime: now.UTC(),
			ResponseID:            responseID,
			SourceOrganisation:    source,
			ServiceCategory:       m.ServiceCategory,
			InvocationID:          m.InvocationID,
			ReceiverOrganisation:  m.ReceiverOrganisation,
			SenderOrganisation:    m.SenderOrganisation,
		},
		DeliveryResponse: DeliveryResponse{
			ResponseClass: class,
			ResponseCode:  code,
			Message:       message,
			DigestValue:   digest,
		},
		Final: final,
	}
}

// AppendTo appends t to parent as element space:local and returns it. A nil
// parent gives a detached element.
func (t TransportResponse) AppendTo(parent *etree.Element, space, local string) *etree.Element {
	return declareUsed(t.build(parent, space, local))
}

func (t TransportResponse) build(parent *etree.Element, space, local string) *etree.Element {
	const tr = ns.TransportResponse
	e := add(parent, space, local)
	md := add(e, tr, "metadata")
	m := t.Metadata
	addText(md, tr, "transportResponseTime", FormatTime(m.TransportResponseTime))
	addText(md, tr, "responseId", m.ResponseID)
	addText(md, tr, "sourceOrganisation", m.SourceOrganisation)
	if m.ServiceCategory != "" {
		addText(md, tr, "serviceCategory", m.ServiceCategory)
	}
	addText(md, tr, "invocationId", m.InvocationID)
	addText(md, tr, "receiverOrganisation", m.ReceiverOrganisation)
	addText(md, tr, "senderOrganisation", m.SenderOrganisation)
	buildOtherMetadata(md, tr, m.OtherTransportMetadata)
	t.DeliveryResponse.build(e, tr, "deliveryResponse")
	addText(e, tr, "final", strconv.FormatBool(t.Final))
	return e
}

// ParseTransportResponse parses a TransportResponseType element (its own
// name is not checked).
func ParseTransportResponse(el *etree.Element) (TransportResponse, error) {
	const tr = ns.TransportResponse
	var t TransportResponse
	s := newSeq(el, "response")
	if me := s.one(tr, "metadata"); me != nil {
		m, err := parseTRMetadata(me)
		s.fail(err)
		t.Metadata = m
	}
	if de := s.one(tr, "deliveryResponse"); de != nil {
		d, err := ParseDeliveryResponse(de)
		s.fail(err)
		t.DeliveryResponse = d
	}
	t.Final = s.boolean(tr, "final")
	return t, s.done()
}

func parseTRMetadata(el *etree.Element) (TransportResponseMetadata, error) {
	const tr = ns.TransportResponse
	var m TransportResponseMetadata
	s := newSeq(el, "trsp:metadata")
	m.TransportResponseTime = s.dateTime(tr, "transportResponseTime")
	m.ResponseID = s.uri(tr, "responseId")
	m.SourceOrganisation = s.uri(tr, "sourceOrganisation")
	m.ServiceCategory = s.optURI(tr, "serviceCategory")
	m.InvocationID = s.uri(tr, "invocationId")
	m.ReceiverOrganisation = s.uri(tr, "receiverOrganisation")
	m.SenderOrganisation = s.uri(tr, "senderOrganisation")
	m.OtherTransportMetadata = parseOtherMetadata(s, tr)
	return m, s.done()
}

// AppendTo appends d to parent as element space:local and returns it.
func (d DeliveryResponse) AppendTo(parent *etree.Element, space, local string) *etree.Element {
	return declareUsed(d.build(parent, space, local))
}

func (d DeliveryResponse) build(parent *etree.Element, space, local string) *etree.Element {
	const tr = ns.TransportResponse
	e := add(parent, space, local)
	addText(e, tr, "responseClass", string(d.ResponseClass))
	addText(e, tr, "responseCode", d.ResponseCode)
	addText(e, tr, "message", d.Message)
	if d.DigestValue != nil {
		addText(e, tr, "digestValue", base64.StdEncoding.EncodeToString(d.DigestValue))
	}
	return e
}

// ParseDeliveryResponse parses a DeliveryResponseType element (its own name
// is not checked).
func ParseDeliveryResponse(el *etree.Element) (DeliveryResponse, error) {
	const tr = ns.TransportResponse
	var d DeliveryResponse
	s := newSeq(el, "deliveryResponse")
	d.ResponseClass = ResponseClass(s.enum(tr, "responseClass",
		string(ClassSuccess), string(ClassInformation), string(ClassWarning), string(ClassError)))
	d.ResponseCode = s.uri(tr, "responseCode")
	d.Message = s.str(tr, "message")
	d.DigestValue = s.optBase64(tr, "digestValue")
	return d, s.done()
}
