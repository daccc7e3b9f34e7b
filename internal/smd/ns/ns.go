// Package ns holds the XML namespaces and fixed URIs of Australian Secure
// Message Delivery: ATS 5822-2010 (SMD), ATS 5821-2010 (XSPP), ATS 5820-2010
// (WSP StandardError) and TR 5823-2010 (ELS), as declared in the official
// XSD and WSDL files (shared/spec/xsd).
package ns

// XML namespaces of the SMD schemas (ATS 5822-2010, ATS 5821-2010).
const (
	SealedMessage     = "http://ns.electronichealth.net.au/smd/xsd/SealedMessage/2010"
	TransportResponse = "http://ns.electronichealth.net.au/smd/xsd/TransportResponse/2010"
	Message           = "http://ns.electronichealth.net.au/smd/xsd/Message/2010"
	SignedPayload     = "http://ns.electronichealth.net.au/xsp/xsd/SignedPayload/2010"
	EncryptedPayload  = "http://ns.electronichealth.net.au/xsp/xsd/EncryptedPayload/2010"
	ELS               = "http://ns.electronichealth.net.au/els/xsd/DataTypes/2010"
	QualifiedCertRef  = "http://ns.electronichealth.net.au/qcr/xsd/QualifiedCertRef/2010"
	StandardError     = "http://ns.electronichealth.net.au/wsp/xsd/StandardError/2010"
)

// Service namespaces; WS-Addressing actions are built from them (see Action).
const (
	SvcSMD  = "http://ns.electronichealth.net.au/smd/svc/SealedMessageDelivery/2010"
	SvcSIMD = "http://ns.electronichealth.net.au/smd/svc/SealedImmediateMessageDelivery/2010"
	SvcSMR  = "http://ns.electronichealth.net.au/smd/svc/SealedMessageRetrieval/2010"
	SvcTRD  = "http://ns.electronichealth.net.au/smd/svc/TransportResponseDelivery/2010"
	SvcTRR  = "http://ns.electronichealth.net.au/smd/svc/TransportResponseRetrieval/2010"
	SvcELS  = "http://ns.electronichealth.net.au/els/svc/Lookup/2010"
)

// W3C namespaces.
const (
	DSig    = "http://www.w3.org/2000/09/xmldsig#"
	XEnc    = "http://www.w3.org/2001/04/xmlenc#"
	XEnc11  = "http://www.w3.org/2009/xmlenc11#"
	SOAP12  = "http://www.w3.org/2003/05/soap-envelope"
	WSA     = "http://www.w3.org/2005/08/addressing"
	ExcC14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
	XML     = "http://www.w3.org/XML/1998/namespace"
)

// Service interface URIs of the TLS profile (metadata serviceInterface,
// ELS serviceInterface and the FHIR directory Endpoint connectionType codes).
const (
	IntfSMD  = "http://ns.electronichealth.net.au/smd/intf/SealedMessageDelivery/TLS/2010"
	IntfSIMD = "http://ns.electronichealth.net.au/smd/intf/SealedImmediateMessageDelivery/TLS/2010"
	IntfSMR  = "http://ns.electronichealth.net.au/smd/intf/SealedMessageRetrieval/TLS/2010"
	IntfTRD  = "http://ns.electronichealth.net.au/smd/intf/TransportResponseDelivery/TLS/2010"
	IntfTRR  = "http://ns.electronichealth.net.au/smd/intf/TransportResponseRetrieval/TLS/2010"
)

// Identifier qualifiers: an identifier is written as qualifier + 16 digits.
const (
	QualifierHPIO = "http://ns.electronichealth.net.au/id/hi/hpio/1.0/"
	QualifierHPII = "http://ns.electronichealth.net.au/id/hi/hpii/1.0/"
	QualifierIHI  = "http://ns.electronichealth.net.au/id/hi/ihi/1.0/"
)

// Certificate reference constants (ELS certRef, routeRecord certRef).
const (
	CertUsePayloadKeyEnc = "http://ns.electronichealth.net.au/smd/qcr/use/payload/keyenc/2010"
	CertRefTypePEM       = "http://ns.electronichealth.net.au/qcr/type/pem/2010"
)

// ServiceCategoryTRD is the serviceCategory the NEHTA samples put on a
// routeRecord interaction that receives transport responses.
const ServiceCategoryTRD = "http://ns.electronichealth.net.au/smd/sc/TransportResponseDelivery/2010"

// Action returns the WS-Addressing action URI that the WSDLs declare for an
// operation message: svc + "/" + portType + "/" + suffix, where suffix is for
// example "deliverRequest", "deliverResponse" or "deliver/Fault/standardError".
func Action(svc, portType, suffix string) string {
	return svc + "/" + portType + "/" + suffix
}
