// Package wire holds the typed XML structures of Australian Secure Message
// Delivery and builds and parses them with etree in the exact namespaces and
// xsd:sequence order of the official schemas (shared/spec/xsd):
//
//   - ATS 5822-2010 (SMD): SealedMessageType, MessageMetadataType,
//     RouteRecordEntryType and OtherTransportMetadataEntryType
//     (smd-SealedMessage-2010.xsd; SMD.md §1.3), TransportResponseType and
//     DeliveryResponseType (smd-TransportResponse-2010.xsd; SMD.md §1.10), and
//     the request, response and fault bodies of the five service interfaces
//     SMD, SIMD, SMR, TRD and TRR (the *-Interface-2010.wsdl <wsdl:types>;
//     SMD.md §1.7).
//   - TR 5823-2010 (ELS): InteractionType, InteractionRequestType and
//     ElsCertRefType (els-DataTypes-2010.xsd), QualifiedCertRefType
//     (qcr-QualifiedCertRef-2010.xsd) and the Lookup bodies
//     (els-LookupInterface-2010.wsdl; SMD.md §2.1).
//   - ATS 5820-2010 (WSP): se:standardError (wsp-StandardError-2010.xsd;
//     SMD.md §1.9).
//
// Every type has a builder (Element for types with a global or fixed element
// name, AppendTo for complex types whose element name depends on where they
// appear) and a ParseX function. Parse errors are *fault.Error with code
// fault.BadlyFormedMsg (fault.BadTimestamp for a dateTime without a zone
// offset) and a message that names the offending element but never its
// value. Times are always emitted in UTC with a "Z" suffix and compared as
// instants (SMD.md §1.11).
//
// The sealed payload (ep:encryptedPayload) is opaque here: it is built and
// opened by the XSPP layer.
package wire
