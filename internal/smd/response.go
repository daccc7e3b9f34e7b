package smd

import (
	"time"

	"github.com/opensmd/portal/internal/smd/fault"
	"github.com/opensmd/portal/internal/smd/wire"
)

// SuccessResponse is the final Success transport response for an opened
// message. Its digestValue is the DigestValue of the payload signature's
// Reference: the proof that source decrypted exactly this payload
// (SMD.md §1.10).
func SuccessResponse(o *Opened, source string, now time.Time, responseID string) wire.TransportResponse {
	return wire.NewTransportResponse(o.Metadata, source, wire.ClassSuccess, wire.ResponseCodeSuccess,
		"The message was decrypted, verified and delivered.", o.DigestValue, true, now, responseID)
}

// AcceptedResponse is an intermediate Information response: the message is
// stored and will be processed (sent to routeRecord entries that asked for
// intermediate responses).
func AcceptedResponse(m wire.MessageMetadata, source string, now time.Time, responseID string) wire.TransportResponse {
	return wire.NewTransportResponse(m, source, wire.ClassInformation, wire.ResponseCodeAccepted,
		"The message was accepted for delivery.", nil, false, now, responseID)
}

// ErrorResponse is the final Error transport response for a message that
// could not be opened or delivered. The response code and message come from
// err's StandardError code and are safe to send; err's detail is not.
func ErrorResponse(m wire.MessageMetadata, source string, err error, now time.Time, responseID string) wire.TransportResponse {
	code, msg := responseFor(err)
	return wire.NewTransportResponse(m, source, wire.ClassError, code, msg, nil, true, now, responseID)
}

// responseFor maps a failure to a response code and a message a person at
// the sending practice can act on.
func responseFor(err error) (string, string) {
	c, _ := fault.CodeOf(err)
	switch c {
	case fault.BadEncryption, fault.BadAlgorithmDataEncryption, fault.BadAlgorithmKeyEncryption, fault.BadSigEncOrder:
		return wire.ResponseCodeDecryptionFailed, "The receiver could not decrypt the message (" + string(c) + "): it may have been encrypted for an old or wrong certificate. Check the receiver's current certificate in the directory and send again."
	case fault.BadSignature, fault.BadAlgorithmSignature, fault.BadAlgorithmDigest, fault.BadAlgorithmC14N:
		return wire.ResponseCodeSignatureInvalid, "The receiver could not verify the sender's signature (" + string(c) + "). The message was not delivered."
	case fault.BadCertificateTransmitted, fault.CertificateKeyUsage, fault.CertificateSkiMissing, fault.NotAuthorised, fault.CertificateUnidentified:
		return wire.ResponseCodeCertificateRejected, "The receiver did not accept the sender's certificate (" + string(c) + "): it may be expired, revoked, from an untrusted authority, or not issued to the sending organisation."
	case fault.BadTimestamp:
		return wire.ResponseCodeExpired, "The message expired before it could be delivered."
	case fault.BadlyFormedMsg, fault.BadParam:
		return wire.ResponseCodePayloadRejected, "The receiver could not read the message (" + string(c) + ")."
	}
	return wire.ResponseCodeUndeliverable, "The receiver could not deliver the message."
}
