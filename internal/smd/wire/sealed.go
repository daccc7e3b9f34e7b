package wire

import (
	"github.com/beevik/etree"

	"github.com/opensmd/portal/internal/smd/ns"
)

// SealedMessage is a smsg:SealedMessageType (ATS 5822-2010; SMD.md §1.3):
// clear metadata followed by the XSPP encrypted payload. The type has no
// global element; it is the type of deliver/message (SMD, SIMD),
// deliverResponse/response (SIMD) and retrieveResponse/message (SMR).
type SealedMessage struct {
	Metadata MessageMetadata
	// EncryptedPayload is the ep:encryptedPayload element (ATS 5821-2010),
	// opaque here. Build copies it (with the namespace declarations it
	// inherits, see Detach); Parse returns a detached copy. A nil payload
	// is emitted as nothing, which no schema-valid reader accepts.
	EncryptedPayload *etree.Element
}

// AppendTo appends s to parent as element space:local and returns it. A nil
// parent gives a detached element.
func (m SealedMessage) AppendTo(parent *etree.Element, space, local string) *etree.Element {
	return declareUsed(m.build(parent, space, local))
}

func (m SealedMessage) build(parent *etree.Element, space, local string) *etree.Element {
	e := add(parent, space, local)
	m.Metadata.build(e, ns.SealedMessage, "metadata")
	if m.EncryptedPayload != nil {
		e.AddChild(Detach(m.EncryptedPayload))
	}
	return e
}

// ParseSealedMessage parses a SealedMessageType element (its own name is not
// checked: the container decides it). The payload must be an
// ep:encryptedPayload element; its content is left to the XSPP layer.
func ParseSealedMessage(el *etree.Element) (SealedMessage, error) {
	var m SealedMessage
	s := newSeq(el, "message")
	if me := s.one(ns.SealedMessage, "metadata"); me != nil {
		md, err := ParseMessageMetadata(me)
		s.fail(err)
		m.Metadata = md
	}
	if pe := s.one(ns.EncryptedPayload, "encryptedPayload"); pe != nil {
		m.EncryptedPayload = Detach(pe)
	}
	return m, s.done()
}
