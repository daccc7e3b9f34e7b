package smd

import (
	"crypto/x509"
	"errors"
	"io"
	"time"

	"github.com/beevik/etree"

	"github.com/opensmd/portal/internal/smd/fault"
	"github.com/opensmd/portal/internal/smd/ns"
	"github.com/opensmd/portal/internal/smd/safexml"
	"github.com/opensmd/portal/internal/smd/wire"
	"github.com/opensmd/portal/internal/smd/xspp"
)

// WrapBytes wraps a non-XML payload (HL7 v2, PDF, ZIP) as
// msg:message/msg:data in base64 (smd-Message-2010.xsd, SMD.md §1.6).
func WrapBytes(b []byte) *etree.Element {
	m := etree.NewElement("msg:message")
	m.CreateAttr("xmlns:msg", ns.Message)
	d := m.CreateElement("msg:data")
	d.SetText(xspp.EncodeBase64(b))
	return m
}

// SealOptions says who signs and who may open.
type SealOptions struct {
	Signers    []xspp.Signer
	Recipients []*x509.Certificate // the receiver's encryption certificate(s)
	Rand       io.Reader           // nil: crypto/rand
}

// Seal signs payload, encrypts it for the recipients and returns the
// SealedMessage with meta. meta is taken as given: callers fill
// invocationId, times and addressing (see wire.MessageMetadata.ValidateForSMD).
func Seal(meta wire.MessageMetadata, payload *etree.Element, o SealOptions) (wire.SealedMessage, error) {
	sm, _, err := SealDigest(meta, payload, o)
	return sm, err
}

// SealDigest is Seal that also returns the DigestValue of the first
// signature's Reference: what a Success transport response for this
// message must carry (SMD.md §1.10).
func SealDigest(meta wire.MessageMetadata, payload *etree.Element, o SealOptions) (wire.SealedMessage, []byte, error) {
	if payload == nil {
		return wire.SealedMessage{}, nil, errors.New("smd: nil payload")
	}
	signed, err := xspp.Sign(payload, o.Signers, xspp.SignOptions{Rand: o.Rand})
	if err != nil {
		return wire.SealedMessage{}, nil, err
	}
	digest, err := signedDigest(signed)
	if err != nil {
		return wire.SealedMessage{}, nil, err
	}
	enc, err := xspp.Encrypt(signed, o.Recipients, xspp.EncryptOptions{Rand: o.Rand})
	if err != nil {
		return wire.SealedMessage{}, nil, err
	}
	return wire.SealedMessage{Metadata: meta, EncryptedPayload: enc}, digest, nil
}

// signedDigest reads the first Reference's DigestValue of the signed
// payload Sign just built.
func signedDigest(signed *etree.Element) ([]byte, error) {
	el := signed.FindElement("./sp:signatures/ds:Signature/ds:SignedInfo/ds:Reference/ds:DigestValue")
	if el == nil {
		return nil, errors.New("smd: signed payload has no DigestValue")
	}
	return xspp.DecodeBase64(el.Text())
}

// SignerChecker decides whether a signing certificate may speak for the
// sender organisation at creationTime (pki.Verifier implements it).
type SignerChecker interface {
	CheckSigner(cert *x509.Certificate, senderOrg string, creationTime time.Time) error
}

// OpenOptions holds the receiver's keys and trust decision.
type OpenOptions struct {
	// Keys are the receiver organisation's encryption key pairs; during a
	// certificate rollover both the new and the old pair are given.
	Keys  []xspp.KeyPair
	Trust SignerChecker
}

// Opened is a verified, decrypted message. Everything in it comes from the
// verified canonical bytes, never from the received document.
type Opened struct {
	Metadata wire.MessageMetadata
	// Payload is the unwrapped bytes of a msg:message, or the canonical XML
	// of any other payload element.
	Payload []byte
	// Wrapped reports whether Payload came out of a msg:message wrapper.
	Wrapped bool
	// Element is the verified payload element.
	Element *etree.Element
	Signers []*x509.Certificate
	// DigestValue goes into the Success transport response (SMD.md §1.10).
	DigestValue []byte
}

// Open decrypts and verifies sm and checks every signer with o.Trust.
// Failures are *fault.Error values carrying the StandardError code.
func Open(sm wire.SealedMessage, o OpenOptions) (*Opened, error) {
	if sm.EncryptedPayload == nil {
		return nil, fault.New(fault.BadlyFormedMsg, "message has no encrypted payload")
	}
	if o.Trust == nil {
		return nil, errors.New("smd: Open needs a trust checker")
	}
	signed, err := xspp.Decrypt(sm.EncryptedPayload, o.Keys)
	if err != nil {
		return nil, err
	}
	v, err := xspp.Verify(signed)
	if err != nil {
		return nil, err
	}
	for _, cert := range v.Signers {
		if err := o.Trust.CheckSigner(cert, sm.Metadata.SenderOrganisation, sm.Metadata.CreationTime); err != nil {
			return nil, err
		}
	}
	out := &Opened{Metadata: sm.Metadata, Element: v.Payload, Signers: v.Signers, DigestValue: v.DigestValue}
	out.Payload, out.Wrapped, err = unwrap(v)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// unwrap returns the bytes of a msg:message wrapper, or the verified
// canonical XML of any other payload.
func unwrap(v *xspp.Verified) ([]byte, bool, error) {
	p := v.Payload
	if p.NamespaceURI() != ns.Message || p.Tag != "message" {
		b, err := safexml.Canonicalize(p)
		return b, false, err
	}
	kids := p.ChildElements()
	if len(kids) != 1 || kids[0].NamespaceURI() != ns.Message || kids[0].Tag != "data" {
		return nil, true, fault.New(fault.BadlyFormedMsg, "msg:message must hold exactly one msg:data")
	}
	b, err := xspp.DecodeBase64(kids[0].Text())
	if err != nil {
		return nil, true, fault.Wrap(fault.BadlyFormedMsg, "msg:data is not base64", err)
	}
	return b, true, nil
}

// CheckExpiry reports a message whose expiryTime has passed at now (an
// absent expiryTime never expires).
func CheckExpiry(m wire.MessageMetadata, now time.Time) error {
	if !m.ExpiryTime.IsZero() && !now.Before(m.ExpiryTime) {
		return fault.New(fault.BadTimestamp, "message expired at "+wire.FormatTime(m.ExpiryTime))
	}
	return nil
}

// Marshal serialises sm as a standalone SealedMessage element (the
// deliver/message element of the SMD service namespace). It writes the
// exclusive canonical form: well-formed XML, and several times faster than
// a general serialiser on megabytes of base64.
func Marshal(sm wire.SealedMessage) ([]byte, error) {
	return safexml.Canonicalize(sm.AppendTo(nil, ns.SvcSMD, "message"))
}

// Unmarshal parses a standalone SealedMessage element with the hardened
// parser (no DTDs or entities, bounded depth).
func Unmarshal(b []byte) (wire.SealedMessage, error) {
	doc, err := safexml.Parse(b)
	if err != nil {
		return wire.SealedMessage{}, err
	}
	if doc.Root() == nil {
		return wire.SealedMessage{}, fault.New(fault.BadlyFormedMsg, "empty document")
	}
	return wire.ParseSealedMessage(doc.Root())
}
