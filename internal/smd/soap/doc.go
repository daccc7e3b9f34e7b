// Package soap is the SOAP 1.2 and WS-Addressing 1.0 layer of the SMD
// library: envelopes, the operation and action table of every interface,
// SOAP faults carrying the WSP StandardError, a client and a net/http
// server handler.
//
// Sources (SMD.md §1.7–§1.9, §2.1):
//   - ATS 5822-2010 SMD interface WSDLs (SealedMessageDelivery,
//     SealedImmediateMessageDelivery, SealedMessageRetrieval,
//     TransportResponseDelivery, TransportResponseRetrieval) and the TR
//     5823-2010 ELS Lookup WSDL: document/literal SOAP 1.2 bindings over
//     HTTP, wsam:Addressing required, and the wsam:Action of every input,
//     output and fault ({svc}/{portType}/{op}Request, …Response,
//     {op}/Fault/{faultName}).
//   - ATS 5820-2010 WSP: se:standardError fault detail and the badWsaAction,
//     badWsaMessageId and badWsaTo codes.
//   - W3C SOAP 1.2 Part 1 (envelope, faults, mustUnderstand) and Part 2 §7
//     (HTTP binding: application/soap+xml with the action parameter,
//     HTTP 400 for env:Sender and 500 for other faults), and WS-Addressing
//     1.0 Core and SOAP Binding (To, Action, MessageID, RelatesTo, From).
//
// The SOAP env:Code for each StandardError is not specified by any public
// artefact (SMD.md §5 item 2); this package uses env:Receiver for
// serviceTemporaryUnavailable and servicePermanentUnavailable and for SIMD
// timeoutError, and env:Sender otherwise.
//
// Transport security (mutual TLS, SMD.md §1.8) belongs to the caller's
// http.Client and http.Server; there is no WS-Security header in the TLS
// profile. Parsing is hardened against hostile input: size and depth limits,
// no DTDs, entities or processing instructions, namespace well-formedness.
package soap
