// Package fault defines the StandardError codes of ATS 5820-2010 (WSP,
// wsp-StandardError-2010.xsd) and an error type that carries one, so every
// layer of the SMD library can say which code a failure maps to while
// keeping the detail private.
package fault

import (
	"errors"
	"fmt"
)

// Code is a StandardErrorCodeType enumeration value.
type Code string

// The 22 StandardErrorCodeType values of the SMD 2010 schema, plus the ELS
// copy's certificateUnidentified.
const (
	ServicePermanentUnavailable Code = "servicePermanentUnavailable"
	ServiceTemporaryUnavailable Code = "serviceTemporaryUnavailable"
	CertificateSkiMissing       Code = "certificateSkiMissing"
	CertificateKeyUsage         Code = "certificateKeyUsage"
	InvalidCredentials          Code = "invalidCredentials"
	NotAuthenticated            Code = "notAuthenticated"
	NotAuthorised               Code = "notAuthorised"
	BadParam                    Code = "badParam"
	BadlyFormedMsg              Code = "badlyFormedMsg"
	BadTimestamp                Code = "badTimestamp"
	BadSignature                Code = "badSignature"
	BadEncryption               Code = "badEncryption"
	BadSigEncOrder              Code = "badSigEncOrder"
	BadCertificateTransmitted   Code = "badCertificateTransmitted"
	BadWsaAction                Code = "badWsaAction"
	BadWsaMessageID             Code = "badWsaMessageId"
	BadWsaTo                    Code = "badWsaTo"
	BadAlgorithmDataEncryption  Code = "badAlgorithmDataEncryption"
	BadAlgorithmKeyEncryption   Code = "badAlgorithmKeyEncryption"
	BadAlgorithmC14N            Code = "badAlgorithmC14N"
	BadAlgorithmDigest          Code = "badAlgorithmDigest"
	BadAlgorithmSignature       Code = "badAlgorithmSignature"
	CertificateUnidentified     Code = "certificateUnidentified"
)

// Error is a failure that maps to a StandardError code. Message is safe to
// send to the peer; Err is internal detail for logs and tests only.
type Error struct {
	Code    Code
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("smd %s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("smd %s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an *Error with a peer-safe message.
func New(code Code, message string) *Error {
	return &Error{Code: code, Message: message}
}

// Wrap returns an *Error that keeps err as private detail.
func Wrap(code Code, message string, err error) *Error {
	return &Error{Code: code, Message: message, Err: err}
}

// CodeOf reports the StandardError code carried by err, if any.
func CodeOf(err error) (Code, bool) {
	var fe *Error
	if errors.As(err, &fe) {
		return fe.Code, true
	}
	return "", false
}
