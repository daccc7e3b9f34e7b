package pipeline

import (
	"context"
	"errors"
	"slices"

	"github.com/beevik/etree"

	"github.com/opensmd/portal/internal/smd"
	"github.com/opensmd/portal/internal/smd/fault"
	"github.com/opensmd/portal/internal/smd/soap"
	"github.com/opensmd/portal/internal/smd/wire"
	"github.com/opensmd/portal/internal/store"
)

// maxListLimit bounds one SMR list or TRR retrieve page.
const maxListLimit = 500

// The SMR and TRR endpoints serve organisations whose clinical software
// polls: their client certificate must name the organisation asked about
// (a URI subjectAltName), and the organisation must be hosted here.

// authorise returns the hosted organisation orgURI if the TLS client may
// act for it; unknown is the fault for an organisation not hosted here.
func (p *Pipeline) authorise(ctx context.Context, orgURI string, unknown error) (store.Organisation, error) {
	if !slices.Contains(peerOrgs(ctx), orgURI) {
		return store.Organisation{}, fault.New(fault.NotAuthorised,
			"The client certificate does not name this organisation.")
	}
	org, err := p.hostedOrg(ctx, orgURI)
	var de wire.DeliverError
	if errors.As(err, &de) {
		return org, unknown
	}
	return org, err
}

func clampLimit(n int32) int {
	if n <= 0 || n > maxListLimit {
		return maxListLimit
	}
	return int(n)
}

// handleSMRList lists messages held for the organisation.
func (p *Pipeline) handleSMRList(ctx context.Context, env *soap.Envelope) (*etree.Element, error) {
	req, err := wire.ParseSMRList(env.Body)
	if err != nil {
		return nil, err
	}
	org, err := p.authorise(ctx, req.ReceiverOrganisation, wire.SMRListError{
		ErrorCode: wire.UnknownReceiverOrganisation, Message: "The organisation is not served by this provider."})
	if err != nil {
		return nil, err
	}
	held, total, err := p.st.HeldMessages(ctx, org.ID, req.AllAvailable, clampLimit(req.Limit))
	if err != nil {
		return nil, err
	}
	resp := wire.SMRListResponse{TotalNumberAvailable: int32(total)}
	for _, m := range held {
		sm, err := p.heldMessage(ctx, m.ID)
		if err != nil {
			return nil, err
		}
		resp.RetrievalRecords = append(resp.RetrievalRecords, wire.RetrievalRecord{
			MessageSize: int32(m.PayloadSize), Metadata: sm.Metadata})
	}
	return resp.Element(), nil
}

func (p *Pipeline) heldMessage(ctx context.Context, id string) (wire.SealedMessage, error) {
	m, err := p.st.Message(ctx, id)
	if err != nil {
		return wire.SealedMessage{}, err
	}
	return smd.Unmarshal(m.Sealed)
}

// handleSMRRetrieve returns the sealed messages asked for and marks them
// retrieved.
func (p *Pipeline) handleSMRRetrieve(ctx context.Context, env *soap.Envelope) (*etree.Element, error) {
	req, err := wire.ParseSMRRetrieve(env.Body)
	if err != nil {
		return nil, err
	}
	org, err := p.authorise(ctx, req.ReceiverOrganisation, wire.SMRRetrieveError{
		ErrorCode: wire.UnknownReceiverOrganisation, Message: "The organisation is not served by this provider."})
	if err != nil {
		return nil, err
	}
	var resp wire.SMRRetrieveResponse
	var ids []string
	for _, inv := range req.InvocationIDs {
		m, err := p.st.InboundMessage(ctx, org.ID, inv)
		if errors.Is(err, store.ErrNotFound) || err == nil && m.Status != store.StatusHeld && m.Status != store.StatusRetrieved {
			return nil, wire.SMRRetrieveError{ErrorCode: wire.UnknownMessage, InvocationID: inv,
				Message: "No message with this invocationId is held for the organisation."}
		}
		if err != nil {
			return nil, err
		}
		sm, err := smd.Unmarshal(m.Sealed)
		if err != nil {
			return nil, err
		}
		resp.Messages = append(resp.Messages, sm)
		ids = append(ids, m.ID)
	}
	err = p.st.WithTx(ctx, func(tx *store.Store) error {
		for _, id := range ids {
			// Every retrieval is audited, not only the first: each hands
			// the sealed message out again.
			if _, err := tx.Transition(ctx, id, []string{store.StatusHeld}, store.StatusRetrieved,
				"Retrieved by the organisation's clinical software"); err != nil {
				return err
			}
			if err := tx.Audit(ctx, store.AuditEvent{OrganisationID: org.ID, Action: "message.retrieved",
				Detail: map[string]string{"message_id": id, "by": "SMR"}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return resp.Element(), nil
}

// handleTRRRetrieve returns transport responses received for the
// organisation's messages; listed ones count as retrieved.
func (p *Pipeline) handleTRRRetrieve(ctx context.Context, env *soap.Envelope) (*etree.Element, error) {
	req, err := wire.ParseTRRRetrieve(env.Body)
	if err != nil {
		return nil, err
	}
	org, err := p.authorise(ctx, req.Organisation, wire.TRRRetrieveError{
		ErrorCode: wire.UnknownOrganisation, Message: "The organisation is not served by this provider."})
	if err != nil {
		return nil, err
	}
	rows, total, err := p.st.RetrievableResponses(ctx, org.ID, req.AllAvailable, clampLimit(req.Limit))
	if err != nil {
		return nil, err
	}
	resp := wire.TRRRetrieveResponse{TotalNumberAvailable: int32(total)}
	for _, r := range rows {
		t, err := unmarshalResponse(r.XML)
		if err != nil {
			return nil, err
		}
		resp.Responses = append(resp.Responses, t)
	}
	return resp.Element(), nil
}

// handleTRRRemove removes retrieved transport responses (any, with force).
// Every responseId is checked before any is removed.
func (p *Pipeline) handleTRRRemove(ctx context.Context, env *soap.Envelope) (*etree.Element, error) {
	req, err := wire.ParseTRRRemove(env.Body)
	if err != nil {
		return nil, err
	}
	org, err := p.authorise(ctx, req.Organisation, wire.TRRRemoveError{
		ErrorCode: wire.UnknownOrganisation, Message: "The organisation is not served by this provider."})
	if err != nil {
		return nil, err
	}
	var ids []string
	var resp wire.TRRRemoveResponse
	for _, rid := range req.ResponseIDs {
		r, err := p.st.ReceivedResponseByResponseID(ctx, org.ID, rid)
		if errors.Is(err, store.ErrNotFound) {
			return nil, wire.TRRRemoveError{ErrorCode: wire.UnknownResponse, ResponseID: rid,
				Message: "No transport response with this responseId is held for the organisation."}
		}
		if err != nil {
			return nil, err
		}
		if r.RetrievedAt == nil && !req.Force {
			return nil, wire.TRRRemoveError{ErrorCode: wire.HasNotBeenRetrieved, ResponseID: rid,
				Message: "Retrieve this transport response before removing it, or set force."}
		}
		ids = append(ids, r.ID)
		resp.Results = append(resp.Results, wire.RemoveResult{ResponseID: rid, Status: wire.RemoveStatusOK})
	}
	err = p.st.WithTx(ctx, func(tx *store.Store) error {
		for _, id := range ids {
			if err := tx.RemoveResponse(ctx, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return resp.Element(), nil
}
