package wire

import (
	"strconv"

	"github.com/beevik/etree"

	"github.com/opensmd/portal/internal/smd/ns"
)

// SMRList is the smr:list request body of Sealed Message Retrieval
// (smd-SealedMessageRetrieval-Interface-2010.wsdl; SMD.md §1.7).
type SMRList struct {
	ReceiverOrganisation string
	AllAvailable         bool
	Limit                int32
}

// Element builds the smr:list element.
func (l SMRList) Element() *etree.Element {
	e := newRoot(ns.SvcSMR, "list")
	addText(e, ns.SvcSMR, "receiverOrganisation", l.ReceiverOrganisation)
	addText(e, ns.SvcSMR, "allAvailable", strconv.FormatBool(l.AllAvailable))
	addText(e, ns.SvcSMR, "limit", strconv.FormatInt(int64(l.Limit), 10))
	return declareUsed(e)
}

// ParseSMRList parses an smr:list element.
func ParseSMRList(el *etree.Element) (SMRList, error) {
	var l SMRList
	if err := checkName(el, ns.SvcSMR, "list"); err != nil {
		return l, err
	}
	s := newSeq(el, "smr:list")
	l.ReceiverOrganisation = s.uri(ns.SvcSMR, "receiverOrganisation")
	l.AllAvailable = s.boolean(ns.SvcSMR, "allAvailable")
	l.Limit = s.int32(ns.SvcSMR, "limit")
	return l, s.done()
}

// RetrievalRecord is an smr:RetrievalRecordEntryType: the size and metadata
// of one message waiting at the intermediary.
type RetrievalRecord struct {
	MessageSize int32
	Metadata    MessageMetadata
}

// SMRListResponse is the smr:listResponse body (list: MessageListType).
type SMRListResponse struct {
	TotalNumberAvailable int32
	RetrievalRecords     []RetrievalRecord
}

// Element builds the smr:listResponse element.
func (r SMRListResponse) Element() *etree.Element {
	e := newRoot(ns.SvcSMR, "listResponse")
	l := add(e, ns.SvcSMR, "list")
	addText(l, ns.SvcSMR, "totalNumberAvailable", strconv.FormatInt(int64(r.TotalNumberAvailable), 10))
	for _, rr := range r.RetrievalRecords {
		re := add(l, ns.SvcSMR, "retrievalRecord")
		addText(re, ns.SvcSMR, "messageSize", strconv.FormatInt(int64(rr.MessageSize), 10))
		rr.Metadata.build(re, ns.SvcSMR, "metadata")
	}
	return declareUsed(e)
}

// ParseSMRListResponse parses an smr:listResponse element.
func ParseSMRListResponse(el *etree.Element) (SMRListResponse, error) {
	var r SMRListResponse
	if err := checkName(el, ns.SvcSMR, "listResponse"); err != nil {
		return r, err
	}
	s := newSeq(el, "smr:listResponse")
	le := s.one(ns.SvcSMR, "list")
	if le == nil {
		return r, s.done()
	}
	ls := newSeq(le, "smr:list")
	r.TotalNumberAvailable = ls.int32(ns.SvcSMR, "totalNumberAvailable")
	for _, re := range ls.many(ns.SvcSMR, "retrievalRecord") {
		rs := newSeq(re, "smr:retrievalRecord")
		rr := RetrievalRecord{MessageSize: rs.int32(ns.SvcSMR, "messageSize")}
		if me := rs.one(ns.SvcSMR, "metadata"); me != nil {
			m, err := ParseMessageMetadata(me)
			rs.fail(err)
			rr.Metadata = m
		}
		ls.fail(rs.done())
		r.RetrievalRecords = append(r.RetrievalRecords, rr)
	}
	s.fail(ls.done())
	return r, s.done()
}

// SMRListError is the smr:listError fault detail.
type SMRListError struct {
	// ErrorCode is UnknownReceiverOrganisation.
	ErrorCode ErrorCode
	Message   string
}

// Error implements the error interface.
func (e SMRListError) Error() string { return "listError " + string(e.ErrorCode) + ": " + e.Message }

// FaultName returns "listError".
func (e SMRListError) FaultName() string { return "listError" }

// Element builds the smr:listError element.
func (e SMRListError) Element() *etree.Element {
	return codeMessage{ns.SvcSMR, "listError", e.ErrorCode, e.Message}.element()
}

// ParseSMRListError parses an smr:listError element.
func ParseSMRListError(el *etree.Element) (SMRListError, error) {
	p, err := parseCodeMessage(el, ns.SvcSMR, "listError", UnknownReceiverOrganisation)
	return SMRListError{ErrorCode: p.code, Message: p.message}, err
}

// SMRRetrieve is the smr:retrieve request body.
type SMRRetrieve struct {
	ReceiverOrganisation string
	InvocationIDs        []string
}

// Element builds the smr:retrieve element.
func (r SMRRetrieve) Element() *etree.Element {
	e := newRoot(ns.SvcSMR, "retrieve")
	addText(e, ns.SvcSMR, "receiverOrganisation", r.ReceiverOrganisation)
	for _, id := range r.InvocationIDs {
		addText(e, ns.SvcSMR, "invocationId", id)
	}
	return declareUsed(e)
}

// ParseSMRRetrieve parses an smr:retrieve element.
func ParseSMRRetrieve(el *etree.Element) (SMRRetrieve, error) {
	var r SMRRetrieve
	if err := checkName(el, ns.SvcSMR, "retrieve"); err != nil {
		return r, err
	}
	s := newSeq(el, "smr:retrieve")
	r.ReceiverOrganisation = s.uri(ns.SvcSMR, "receiverOrganisation")
	// invocationId is xsd:string here; collapse anyway, as metadata does.
	r.InvocationIDs = s.uris(ns.SvcSMR, "invocationId", 0)
	return r, s.done()
}

// SMRRetrieveResponse is the smr:retrieveResponse body.
type SMRRetrieveResponse struct {
	Messages []SealedMessage
}

// Element builds the smr:retrieveResponse element.
func (r SMRRetrieveResponse) Element() *etree.Element {
	e := newRoot(ns.SvcSMR, "retrieveResponse")
	for _, m := range r.Messages {
		m.build(e, ns.SvcSMR, "message")
	}
	return declareUsed(e)
}

// ParseSMRRetrieveResponse parses an smr:retrieveResponse element.
func ParseSMRRetrieveResponse(el *etree.Element) (SMRRetrieveResponse, error) {
	var r SMRRetrieveResponse
	if err := checkName(el, ns.SvcSMR, "retrieveResponse"); err != nil {
		return r, err
	}
	s := newSeq(el, "smr:retrieveResponse")
	for _, me := range s.many(ns.SvcSMR, "message") {
		m, err := ParseSealedMessage(me)
		s.fail(err)
		r.Messages = append(r.Messages, m)
	}
	return r, s.done()
}

// SMRRetrieveError is the smr:retrieveError fault detail.
type SMRRetrieveError struct {
	// ErrorCode is UnknownMessage, UnknownReceiverOrganisation or
	// HasBeenRemoved.
	ErrorCode    ErrorCode
	Message      string
	InvocationID string
}

// Error implements the error interface.
func (e SMRRetrieveError) Error() string {
	return "retrieveError " + string(e.ErrorCode) + ": " + e.Message
}

// FaultName returns "retrieveError".
func (e SMRRetrieveError) FaultName() string { return "retrieveError" }

// Element builds the smr:retrieveError element.
func (e SMRRetrieveError) Element() *etree.Element {
	el := codeMessage{ns.SvcSMR, "retrieveError", e.ErrorCode, e.Message}.build()
	addText(el, ns.SvcSMR, "invocationId", e.InvocationID)
	return declareUsed(el)
}

// ParseSMRRetrieveError parses an smr:retrieveError element.
func ParseSMRRetrieveError(el *etree.Element) (SMRRetrieveError, error) {
	p, s, err := openCodeMessage(el, ns.SvcSMR, "retrieveError", UnknownMessage, UnknownReceiverOrganisation, HasBeenRemoved)
	if err != nil {
		return SMRRetrieveError{}, err
	}
	e := SMRRetrieveError{ErrorCode: p.code, Message: p.message}
	e.InvocationID = s.uri(ns.SvcSMR, "invocationId")
	return e, s.done()
}
