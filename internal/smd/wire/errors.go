package wire

import (
	"github.com/beevik/etree"

	"github.com/opensmd/portal/internal/smd/fault"
	"github.com/opensmd/portal/internal/smd/ns"
)

// ServiceError is the detail of a SOAP fault declared by a WSDL operation:
// se:standardError or a service-specific error element such as
// smd:deliverError or smr:listError. A server handler returns one as its
// error to send that fault; a client gets one back from the fault detail.
type ServiceError interface {
	error
	// FaultName is the wsdl:fault name, which is also the local name of the
	// detail element, e.g. "standardError" or "listError".
	FaultName() string
	// Element builds the detail element.
	Element() *etree.Element
}

// StandardError is the se:standardError fault detail of ATS 5820-2010 WSP
// (wsp-StandardError-2010.xsd; SMD.md §1.9).
type StandardError struct {
	ErrorCode fault.Code
	Message   string
}

// standardCodes lists the StandardErrorCodeType values accepted on parse:
// the SMD 2010 enumeration plus the ELS copy's certificateUnidentified.
func standardCodes() []string {
	codes := []fault.Code{
		fault.ServicePermanentUnavailable, fault.ServiceTemporaryUnavailable,
		fault.CertificateSkiMissing, fault.CertificateKeyUsage, fault.InvalidCredentials,
		fault.NotAuthenticated, fault.NotAuthorised, fault.BadParam, fault.BadlyFormedMsg,
		fault.BadTimestamp, fault.BadSignature, fault.BadEncryption, fault.BadSigEncOrder,
		fault.BadCertificateTransmitted, fault.BadWsaAction, fault.BadWsaMessageID, fault.BadWsaTo,
		fault.BadAlgorithmDataEncryption, fault.BadAlgorithmKeyEncryption, fault.BadAlgorithmC14N,
		fault.BadAlgorithmDigest, fault.BadAlgorithmSignature, fault.CertificateUnidentified,
	}
	out := make([]string, len(codes))
	for i, c := range codes {
		out[i] = string(c)
	}
	return out
}

// Error implements the error interface.
func (e StandardError) Error() string {
	return "standardError " + string(e.ErrorCode) + ": " + e.Message
}

// FaultName returns "standardError".
func (e StandardError) FaultName() string { return "standardError" }

// Element builds the se:standardError element.
func (e StandardError) Element() *etree.Element {
	el := newRoot(ns.StandardError, "standardError")
	addText(el, ns.StandardError, "errorCode", string(e.ErrorCode))
	addText(el, ns.StandardError, "message", e.Message)
	return declareUsed(el)
}

// ParseStandardError parses an se:standardError element.
func ParseStandardError(el *etree.Element) (StandardError, error) {
	var e StandardError
	if err := checkName(el, ns.StandardError, "standardError"); err != nil {
		return e, err
	}
	s := newSeq(el, "se:standardError")
	e.ErrorCode = fault.Code(s.enum(ns.StandardError, "errorCode", standardCodes()...))
	e.Message = s.str(ns.StandardError, "message")
	return e, s.done()
}

// ErrorCode is the errorCode value of a service-specific fault (the
// TimeoutErrorCodeType, ListErrorCodeType, RetrieveErrorCodeType,
// DeliverErrorCodeType, RemoveErrorCodeType and LookupErrorCodeType
// enumerations of the interface WSDLs; SMD.md §1.7, §2.1).
type ErrorCode string

// Service-specific error codes.
const (
	// SIMD timeoutError.
	BusyRetryLater ErrorCode = "busyRetryLater"
	RequestFailure ErrorCode = "requestFailure"
	// SMR listError and retrieveError.
	UnknownReceiverOrganisation ErrorCode = "unknownReceiverOrganisation"
	UnknownMessage              ErrorCode = "unknownMessage"
	HasBeenRemoved              ErrorCode = "hasBeenRemoved"
	// TRD deliverError.
	UnknownSenderOrganisation ErrorCode = "unknownSenderOrganisation"
	// TRR retrieveError and removeError.
	UnknownOrganisation ErrorCode = "unknownOrganisation"
	UnknownResponse     ErrorCode = "unknownResponse"
	HasNotBeenRetrieved ErrorCode = "hasNotBeenRetrieved"
	// ELS lookupError.
	UnknownTargetID ErrorCode = "unknownTargetId"
)

// errorCode reads a required errorCode element restricted to allowed.
func (s *seq) errorCode(space string, allowed ...ErrorCode) ErrorCode {
	strs := make([]string, len(allowed))
	for i, a := range allowed {
		strs[i] = string(a)
	}
	return ErrorCode(s.enum(space, "errorCode", strs...))
}

// ParseServiceError parses a SOAP fault detail element declared by any
// interface of this package: se:standardError or one of the
// service-specific error elements. An unknown element is an error.
func ParseServiceError(el *etree.Element) (ServiceError, error) {
	if el == nil {
		return nil, badlyFormed("detail", "element missing")
	}
	space := el.NamespaceURI()
	key := space + " " + el.Tag
	switch key {
	case ns.StandardError + " standardError":
		return asService(ParseStandardError(el))
	case ns.SvcSMD + " deliverError", ns.SvcSIMD + " deliverError":
		return asService(ParseDeliverError(el))
	case ns.SvcSIMD + " timeoutError":
		return asService(ParseSIMDTimeoutError(el))
	case ns.SvcSMR + " listError":
		return asService(ParseSMRListError(el))
	case ns.SvcSMR + " retrieveError":
		return asService(ParseSMRRetrieveError(el))
	case ns.SvcTRD + " deliverError":
		return asService(ParseTRDDeliverError(el))
	case ns.SvcTRR + " retrieveError":
		return asService(ParseTRRRetrieveError(el))
	case ns.SvcTRR + " removeError":
		return asService(ParseTRRRemoveError(el))
	case ns.SvcELS + " lookupError":
		return asService(ParseELSLookupError(el))
	}
	return nil, badlyFormed("detail", "unknown fault detail %s", describe(el))
}

// asService converts a typed parse result to the ServiceError interface,
// keeping a nil interface on error.
func asService[T ServiceError](v T, err error) (ServiceError, error) {
	if err != nil {
		return nil, err
	}
	return v, nil
}
