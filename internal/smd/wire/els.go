package wire

import (
	"strconv"

	"github.com/beevik/etree"

	"github.com/opensmd/portal/internal/smd/ns"
)

// ELSListInteractions is the lkp:listInteractions request body of the ELS
// Lookup interface (TR 5823-2010, els-LookupInterface-2010.wsdl;
// SMD.md §2.1).
type ELSListInteractions struct {
	Request InteractionRequest
}

// Element builds the listInteractions element.
func (l ELSListInteractions) Element() *etree.Element {
	e := newRoot(ns.SvcELS, "listInteractions")
	l.Request.build(e, ns.SvcELS, "interactionRequest")
	return declareUsed(e)
}

// ParseELSListInteractions parses a listInteractions element.
func ParseELSListInteractions(el *etree.Element) (ELSListInteractions, error) {
	var l ELSListInteractions
	if err := checkName(el, ns.SvcELS, "listInteractions"); err != nil {
		return l, err
	}
	s := newSeq(el, "lkp:listInteractions")
	if re := s.one(ns.SvcELS, "interactionRequest"); re != nil {
		r, err := ParseInteractionRequest(re)
		s.fail(err)
		l.Request = r
	}
	return l, s.done()
}

// ELSListInteractionsResponse is the listInteractionsResponse body.
type ELSListInteractionsResponse struct {
	Interactions []Interaction
}

// Element builds the listInteractionsResponse element.
func (r ELSListInteractionsResponse) Element() *etree.Element {
	e := newRoot(ns.SvcELS, "listInteractionsResponse")
	for _, i := range r.Interactions {
		i.build(e, ns.SvcELS, "interaction")
	}
	return declareUsed(e)
}

// ParseELSListInteractionsResponse parses a listInteractionsResponse element.
func ParseELSListInteractionsResponse(el *etree.Element) (ELSListInteractionsResponse, error) {
	var r ELSListInteractionsResponse
	if err := checkName(el, ns.SvcELS, "listInteractionsResponse"); err != nil {
		return r, err
	}
	s := newSeq(el, "lkp:listInteractionsResponse")
	for _, ie := range s.many(ns.SvcELS, "interaction") {
		i, err := ParseInteraction(ie)
		s.fail(err)
		r.Interactions = append(r.Interactions, i)
	}
	return r, s.done()
}

// ELSValidateInteraction is the validateInteraction request body.
type ELSValidateInteraction struct {
	Interaction Interaction
}

// Element builds the validateInteraction element.
func (v ELSValidateInteraction) Element() *etree.Element {
	e := newRoot(ns.SvcELS, "validateInteraction")
	v.Interaction.build(e, ns.SvcELS, "interaction")
	return declareUsed(e)
}

// ParseELSValidateInteraction parses a validateInteraction element.
func ParseELSValidateInteraction(el *etree.Element) (ELSValidateInteraction, error) {
	var v ELSValidateInteraction
	if err := checkName(el, ns.SvcELS, "validateInteraction"); err != nil {
		return v, err
	}
	s := newSeq(el, "lkp:validateInteraction")
	if ie := s.one(ns.SvcELS, "interaction"); ie != nil {
		i, err := ParseInteraction(ie)
		s.fail(err)
		v.Interaction = i
	}
	return v, s.done()
}

// ELSValidateInteractionResponse is the validateInteractionResponse body.
type ELSValidateInteractionResponse struct {
	IsValid bool
}

// Element builds the validateInteractionResponse element.
func (r ELSValidateInteractionResponse) Element() *etree.Element {
	return statusElement(ns.SvcELS, "validateInteractionResponse", "isValid", strconv.FormatBool(r.IsValid))
}

// ParseELSValidateInteractionResponse parses a validateInteractionResponse
// element.
func ParseELSValidateInteractionResponse(el *etree.Element) (ELSValidateInteractionResponse, error) {
	var r ELSValidateInteractionResponse
	if err := checkName(el, ns.SvcELS, "validateInteractionResponse"); err != nil {
		return r, err
	}
	s := newSeq(el, "lkp:validateInteractionResponse")
	r.IsValid = s.boolean(ns.SvcELS, "isValid")
	return r, s.done()
}

// ELSLookupError is the lookupError fault detail (errorCode only; the ELS
// LookupErrorType has no message).
type ELSLookupError struct {
	// ErrorCode is UnknownTargetID.
	ErrorCode ErrorCode
}

// Error implements the error interface.
func (e ELSLookupError) Error() string { return "lookupError " + string(e.ErrorCode) }

// FaultName returns "lookupError".
func (e ELSLookupError) FaultName() string { return "lookupError" }

// Element builds the lookupError element.
func (e ELSLookupError) Element() *etree.Element {
	return statusElement(ns.SvcELS, "lookupError", "errorCode", string(e.ErrorCode))
}

// ParseELSLookupError parses a lookupError element.
func ParseELSLookupError(el *etree.Element) (ELSLookupError, error) {
	v, err := parseStatus(el, ns.SvcELS, "lookupError", "errorCode", string(UnknownTargetID))
	return ELSLookupError{ErrorCode: ErrorCode(v)}, err
}
