package wire

import (
	"strconv"
	"time"

	"github.com/beevik/etree"

	"github.com/opensmd/portal/internal/smd/ns"
)

// MessageMetadata is a smsg:MessageMetadataType (ATS 5822-2010,
// smd-SealedMessage-2010.xsd; SMD.md §1.3). It is neither signed nor
// encrypted: only the payload is sealed.
type MessageMetadata struct {
	CreationTime time.Time
	// ExpiryTime is optional; the zero time means absent.
	ExpiryTime time.Time
	// InvocationID identifies the message end to end; in practice
	// "urn:uuid:" + a UUID (see NewInvocationID).
	InvocationID         string
	ReceiverIndividual   string // optional HPI-I URI
	ReceiverOrganisation string
	SenderIndividual     string // optional HPI-I URI
	SenderOrganisation   string
	ServiceCategory      string
	ServiceInterface     string
	// RouteRecord lists where transport responses go (SMD.md §1.10).
	RouteRecord            []RouteRecordEntry
	OtherTransportMetadata []OtherTransportMetadataEntry
}

// RouteRecordEntry is a smsg:RouteRecordEntryType.
type RouteRecordEntry struct {
	// SendIntermediateResponses asks for non-final transport responses too.
	SendIntermediateResponses bool
	// Interaction is the TRD endpoint that receives transport responses.
	Interaction Interaction
}

// OtherTransportMetadataEntry is a smsg:OtherTransportMetadataEntryType.
// The schema types metadataValue as xsd:anyType; this package supports
// simple (text) content only and rejects element content when parsing.
type OtherTransportMetadataEntry struct {
	MetadataType  string
	MetadataValue string
}

// AppendTo appends m to parent as element space:local (smsg:metadata inside
// a SealedMessage, smr:metadata inside an SMR retrievalRecord) and returns
// it. A nil parent gives a detached element.
func (m MessageMetadata) AppendTo(parent *etree.Element, space, local string) *etree.Element {
	return declareUsed(m.build(parent, space, local))
}

func (m MessageMetadata) build(parent *etree.Element, space, local string) *etree.Element {
	const s = ns.SealedMessage
	e := add(parent, space, local)
	addText(e, s, "creationTime", FormatTime(m.CreationTime))
	if !m.ExpiryTime.IsZero() {
		addText(e, s, "expiryTime", FormatTime(m.ExpiryTime))
	}
	addText(e, s, "invocationId", m.InvocationID)
	if m.ReceiverIndividual != "" {
		addText(e, s, "receiverIndividual", m.ReceiverIndividual)
	}
	addText(e, s, "receiverOrganisation", m.ReceiverOrganisation)
	if m.SenderIndividual != "" {
		addText(e, s, "senderIndividual", m.SenderIndividual)
	}
	addText(e, s, "senderOrganisation", m.SenderOrganisation)
	addText(e, s, "serviceCategory", m.ServiceCategory)
	addText(e, s, "serviceInterface", m.ServiceInterface)
	for _, r := range m.RouteRecord {
		re := add(e, s, "routeRecord")
		addText(re, s, "sendIntermediateResponses", strconv.FormatBool(r.SendIntermediateResponses))
		r.Interaction.build(re, s, "interaction")
	}
	buildOtherMetadata(e, s, m.OtherTransportMetadata)
	return e
}

// buildOtherMetadata appends otherTransportMetadata entries named in
// namespace space (SealedMessage in MessageMetadataType, TransportResponse in
// TransportResponseMetadataType); their children are always in the
// SealedMessage namespace, where OtherTransportMetadataEntryType is defined.
func buildOtherMetadata(e *etree.Element, space string, entries []OtherTransportMetadataEntry) {
	for _, o := range entries {
		oe := add(e, space, "otherTransportMetadata")
		addText(oe, ns.SealedMessage, "metadataType", o.MetadataType)
		addText(oe, ns.SealedMessage, "metadataValue", o.MetadataValue)
	}
}

// ParseMessageMetadata parses a MessageMetadataType element (its own name is
// not checked: the container decides it).
func ParseMessageMetadata(el *etree.Element) (MessageMetadata, error) {
	const sm = ns.SealedMessage
	var m MessageMetadata
	s := newSeq(el, "metadata")
	m.CreationTime = s.dateTime(sm, "creationTime")
	m.ExpiryTime = s.optDateTime(sm, "expiryTime")
	m.InvocationID = collapse(s.str(sm, "invocationId"))
	if s.err == nil && m.InvocationID == "" {
		s.fail(badlyFormed("smsg:invocationId", "empty value"))
	}
	m.ReceiverIndividual = s.optURI(sm, "receiverIndividual")
	m.ReceiverOrganisation = s.uri(sm, "receiverOrganisation")
	m.SenderIndividual = s.optURI(sm, "senderIndividual")
	m.SenderOrganisation = s.uri(sm, "senderOrganisation")
	m.ServiceCategory = s.uri(sm, "serviceCategory")
	m.ServiceInterface = s.uri(sm, "serviceInterface")
	for _, re := range s.many(sm, "routeRecord") {
		r, err := parseRouteRecord(re)
		s.fail(err)
		m.RouteRecord = append(m.RouteRecord, r)
	}
	m.OtherTransportMetadata = parseOtherMetadata(s, sm)
	return m, s.done()
}

func parseRouteRecord(el *etree.Element) (RouteRecordEntry, error) {
	var r RouteRecordEntry
	s := newSeq(el, "smsg:routeRecord")
	r.SendIntermediateResponses = s.boolean(ns.SealedMessage, "sendIntermediateResponses")
	if ie := s.one(ns.SealedMessage, "interaction"); ie != nil {
		i, err := ParseInteraction(ie)
		s.fail(err)
		r.Interaction = i
	}
	return r, s.done()
}

// parseOtherMetadata reads the trailing otherTransportMetadata entries whose
// element name is in namespace space.
func parseOtherMetadata(s *seq, space string) []OtherTransportMetadataEntry {
	var out []OtherTransportMetadataEntry
	for _, oe := range s.many(space, "otherTransportMetadata") {
		os := newSeq(oe, "otherTransportMetadata")
		o := OtherTransportMetadataEntry{
			MetadataType:  os.uri(ns.SealedMessage, "metadataType"),
			MetadataValue: os.str(ns.SealedMessage, "metadataValue"),
		}
		s.fail(os.done())
		out = append(out, o)
	}
	return out
}
