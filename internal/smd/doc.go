// Package smd seals and opens Australian Secure Message Delivery messages
// (ATS 5822-2010 §SealedMessage; XSPP ATS 5821-2010): a payload is signed
// with the sender organisation's key, encrypted for the receiver's
// certificate(s) and carried with clear metadata; opening reverses that and
// checks the signer's certificate against the trust anchors and the
// metadata's senderOrganisation (HL7 AU PD rule SEC10).
//
// The package and its sub-packages are a library: they import nothing from
// the application and never log. Sub-packages: ns (namespaces), fault
// (StandardError codes), safexml (hardened parsing, exclusive C14N), wire
// (XSD types), soap (SOAP 1.2 + WS-Addressing), xspp (signed and encrypted
// containers), pki (certificates).
package smd
