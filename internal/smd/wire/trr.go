package wire

import (
	"strconv"

	"github.com/beevik/etree"

	"github.com/opensmd/portal/internal/smd/ns"
)

// TRRRetrieve is the trr:retrieve request body of Transport Response
// Retrieval (smd-TransportResponseRetrieval-Interface-2010.wsdl;
// SMD.md §1.7).
type TRRRetrieve struct {
	Organisation string
	AllAvailable bool
	Limit        int32
}

// Element builds the trr:retrieve element.
func (r TRRRetrieve) Element() *etree.Element {
	e := newRoot(ns.SvcTRR, "retrieve")
	addText(e, ns.SvcTRR, "organisation", r.Organisation)
	addText(e, ns.SvcTRR, "allAvailable", strconv.FormatBool(r.AllAvailable))
	addText(e, ns.SvcTRR, "limit", strconv.FormatInt(int64(r.Limit), 10))
	return declareUsed(e)
}

// ParseTRRRetrieve parses a trr:retrieve element.
func ParseTRRRetrieve(el *etree.Element) (TRRRetrieve, error) {
	var r TRRRetrieve
	if err := checkName(el, ns.SvcTRR, "retrieve"); err != nil {
		return r, err
	}
	s := newSeq(el, "trr:retrieve")
	r.Organisation = s.uri(ns.SvcTRR, "organisation")
	r.AllAvailable = s.boolean(ns.SvcTRR, "allAvailable")
	r.Limit = s.int32(ns.SvcTRR, "limit")
	return r, s.done()
}

// TRRRetrieveResponse is the trr:retrieveResponse body
// (list: TransportResponseListType).
type TRRRetrieveResponse struct {
	TotalNumberAvailable int32
	Responses            []TransportResponse
}

// Element builds the trr:retrieveResponse element.
func (r TRRRetrieveResponse) Element() *etree.Element {
	e := newRoot(ns.SvcTRR, "retrieveResponse")
	l := add(e, ns.SvcTRR, "list")
	addText(l, ns.SvcTRR, "totalNumberAvailable", strconv.FormatInt(int64(r.TotalNumberAvailable), 10))
	for _, tr := range r.Responses {
		tr.build(l, ns.SvcTRR, "response")
	}
	return declareUsed(e)
}

// ParseTRRRetrieveResponse parses a trr:retrieveResponse element.
func ParseTRRRetrieveResponse(el *etree.Element) (TRRRetrieveResponse, error) {
	var r TRRRetrieveResponse
	if err := checkName(el, ns.SvcTRR, "retrieveResponse"); err != nil {
		return r, err
	}
	s := newSeq(el, "trr:retrieveResponse")
	le := s.one(ns.SvcTRR, "list")
	if le == nil {
		return r, s.done()
	}
	ls := newSeq(le, "trr:list")
	r.TotalNumberAvailable = ls.int32(ns.SvcTRR, "totalNumberAvailable")
	for _, re := range ls.many(ns.SvcTRR, "response") {
		tr, err := ParseTransportResponse(re)
		ls.fail(err)
		r.Responses = append(r.Responses, tr)
	}
	s.fail(ls.done())
	return r, s.done()
}

// TRRRetrieveError is the trr:retrieveError fault detail.
type TRRRetrieveError struct {
	// ErrorCode is UnknownOrganisation.
	ErrorCode ErrorCode
	Message   string
}

// Error implements the error interface.
func (e TRRRetrieveError) Error() string {
	return "retrieveError " + string(e.ErrorCode) + ": " + e.Message
}

// FaultName returns "retrieveError".
func (e TRRRetrieveError) FaultName() string { return "retrieveError" }

// Element builds the trr:retrieveError element.
func (e TRRRetrieveError) Element() *etree.Element {
	return codeMessage{ns.SvcTRR, "retrieveError", e.ErrorCode, e.Message}.element()
}

// ParseTRRRetrieveError parses a trr:retrieveError element.
func ParseTRRRetrieveError(el *etree.Element) (TRRRetrieveError, error) {
	p, err := parseCodeMessage(el, ns.SvcTRR, "retrieveError", UnknownOrganisation)
	return TRRRetrieveError{ErrorCode: p.code, Message: p.message}, err
}

// TRRRemove is the trr:remove request body: it marks responses as
// retrieved (Force removes them even if not yet retrieved). ResponseIDs
// must not be empty.
type TRRRemove struct {
	Force        bool
	Organisation string
	ResponseIDs  []string
}

// Element builds the trr:remove element.
func (r TRRRemove) Element() *etree.Element {
	e := newRoot(ns.SvcTRR, "remove")
	addText(e, ns.SvcTRR, "force", strconv.FormatBool(r.Force))
	addText(e, ns.SvcTRR, "organisation", r.Organisation)
	for _, id := range r.ResponseIDs {
		addText(e, ns.SvcTRR, "responseId", id)
	}
	return declareUsed(e)
}

// ParseTRRRemove parses a trr:remove element.
func ParseTRRRemove(el *etree.Element) (TRRRemove, error) {
	var r TRRRemove
	if err := checkName(el, ns.SvcTRR, "remove"); err != nil {
		return r, err
	}
	s := newSeq(el, "trr:remove")
	r.Force = s.boolean(ns.SvcTRR, "force")
	r.Organisation = s.uri(ns.SvcTRR, "organisation")
	r.ResponseIDs = s.uris(ns.SvcTRR, "responseId", 1)
	return r, s.done()
}

// RemoveStatusOK is the only RemoveStatusType value.
const RemoveStatusOK = "ok"

// RemoveResult is a trr:RemoveResultType.
type RemoveResult struct {
	ResponseID string
	// Status is RemoveStatusOK.
	Status string
}

// TRRRemoveResponse is the trr:removeResponse body. Results must not be
// empty.
type TRRRemoveResponse struct {
	Results []RemoveResult
}

// Element builds the trr:removeResponse element.
func (r TRRRemoveResponse) Element() *etree.Element {
	e := newRoot(ns.SvcTRR, "removeResponse")
	for _, res := range r.Results {
		re := add(e, ns.SvcTRR, "result")
		addText(re, ns.SvcTRR, "responseId", res.ResponseID)
		addText(re, ns.SvcTRR, "status", res.Status)
	}
	return declareUsed(e)
}

// ParseTRRRemoveResponse parses a trr:removeResponse element.
func ParseTRRRemoveResponse(el *etree.Element) (TRRRemoveResponse, error) {
	var r TRRRemoveResponse
	if err := checkName(el, ns.SvcTRR, "removeResponse"); err != nil {
		return r, err
	}
	s := newSeq(el, "trr:removeResponse")
	for _, re := range s.atLeastOne(ns.SvcTRR, "result") {
		rs := newSeq(re, "trr:result")
		res := RemoveResult{
			ResponseID: rs.uri(ns.SvcTRR, "responseId"),
			Status:     rs.enum(ns.SvcTRR, "status", RemoveStatusOK),
		}
		s.fail(rs.done())
		r.Results = append(r.Results, res)
	}
	return r, s.done()
}

// TRRRemoveError is the trr:removeError fault detail.
type TRRRemoveError struct {
	// ErrorCode is UnknownResponse, UnknownOrganisation or
	// HasNotBeenRetrieved.
	ErrorCode  ErrorCode
	Message    string
	ResponseID string
}

// Error implements the error interface.
func (e TRRRemoveError) Error() string {
	return "removeError " + string(e.ErrorCode) + ": " + e.Message
}

// FaultName returns "removeError".
func (e TRRRemoveError) FaultName() string { return "removeError" }

// Element builds the trr:removeError element.
func (e TRRRemoveError) Element() *etree.Element {
	el := codeMessage{ns.SvcTRR, "removeError", e.ErrorCode, e.Message}.build()
	addText(el, ns.SvcTRR, "responseId", e.ResponseID)
	return declareUsed(el)
}

// ParseTRRRemoveError parses a trr:removeError element.
func ParseTRRRemoveError(el *etree.Element) (TRRRemoveError, error) {
	p, s, err := openCodeMessage(el, ns.SvcTRR, "removeError", UnknownResponse, UnknownOrganisation, HasNotBeenRetrieved)
	if err != nil {
		return TRRRemoveError{}, err
	}
	e := TRRRemoveError{ErrorCode: p.code, Message: p.message}
	e.ResponseID = s.uri(ns.SvcTRR, "responseId")
	return e, s.done()
}
