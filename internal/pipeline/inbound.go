package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/opensmd/portal/internal/hl7"
	"github.com/opensmd/portal/internal/jobs"
	"github.com/opensmd/portal/internal/provider"
	"github.com/opensmd/portal/internal/smd"
	"github.com/opensmd/portal/internal/smd/fault"
	"github.com/opensmd/portal/internal/smd/ns"
	"github.com/opensmd/portal/internal/smd/soap"
	"github.com/opensmd/portal/internal/smd/wire"
	"github.com/opensmd/portal/internal/store"
)

// qualifierHPII prefixes an HPI-I in receiverIndividual.
const qualifierHPII = "http://ns.electronichealth.net.au/id/hi/hpii/1.0/"

// handleDeliver serves SMD deliver. The request's envelope, WS-Addressing
// and schema were checked by soap.Handler and wire; here the message must
// be for an organisation hosted here and not expired. It is stored with
// its processing job in one transaction before "ok" is answered, and a
// second copy of (senderOrganisation, invocationId) is answered
// "duplicate" and not stored.
func (p *Pipeline) handleDeliver(ctx context.Context, env *soap.Envelope) (*etree.Element, error) {
	d, err := wire.ParseSMDDeliver(env.Body)
	if err != nil {
		p.m.Received.WithLabelValues("refused").Inc()
		return nil, err
	}
	meta := d.Message.Metadata
	if err := meta.ValidateForSMD(); err != nil {
		p.m.Received.WithLabelValues("refused").Inc()
		return nil, err
	}
	if err := checkRouteRecord(meta.RouteRecord); err != nil {
		p.m.Received.WithLabelValues("refused").Inc()
		return nil, err
	}
	now := p.now()
	if err := smd.CheckExpiry(meta, now); err != nil {
		p.m.Received.WithLabelValues("refused").Inc()
		return nil, err
	}
	org, err := p.hostedOrg(ctx, meta.ReceiverOrganisation)
	if err != nil {
		p.m.Received.WithLabelValues("refused").Inc()
		return nil, err
	}
	sealed, err := smd.Marshal(d.Message)
	if err != nil {
		return nil, fault.Wrap(fault.BadlyFormedMsg, "the sealed message cannot be serialised", err)
	}
	expires := meta.ExpiryTime
	if expires.IsZero() {
		expires = now.Add(p.cfg.DefaultExpiry) // keeps the duplicate key at least this long
	}
	m := store.Message{
		ID: uuid.NewString(), OrganisationID: org.ID, Direction: store.Inbound, InvocationID: meta.InvocationID,
		SenderOrgURI: meta.SenderOrganisation, ReceiverOrgURI: meta.ReceiverOrganisation,
		SenderIndividual: meta.SenderIndividual, ReceiverIndividual: meta.ReceiverIndividual,
		ServiceCategory: meta.ServiceCategory, Status: store.StatusReceived,
		StatusDetail: "Received from the sender's provider", Sealed: sealed, Peer: peerSubject(ctx),
		ExpiresAt: expires,
	}
	var inserted bool
	err = p.st.WithTx(ctx, func(tx *store.Store) error {
		var err error
		if inserted, err = tx.InsertMessage(ctx, m); err != nil || !inserted {
			return err
		}
		if _, err := p.cfg.Jobs.InsertTx(ctx, tx.Tx(), jobs.Receive{MessageID: m.ID}, nil); err != nil {
			return err
		}
		return p.queueResponses(ctx, tx, m, meta, intermediate(wire.ClassInformation, wire.ResponseCodeAccepted,
			"Accepted by the receiver's provider for delivery"))
	})
	if err != nil {
		return nil, err // serviceTemporaryUnavailable: the sender retries
	}
	status := wire.StatusOK
	if !inserted {
		status = wire.StatusDuplicate
	}
	p.m.Received.WithLabelValues(map[bool]string{true: "accepted", false: "duplicate"}[inserted]).Inc()
	return wire.SMDDeliverResponse{Status: status}.Element(), nil
}

// maxRouteRecord bounds the routeRecord entries of a message we accept:
// each one is a TRD endpoint we will call.
const maxRouteRecord = 10

// checkRouteRecord refuses routeRecords we would not call: more than
// maxRouteRecord entries, or an endpoint that is not https (responses
// carry metadata, and the routeRecord is unsigned).
func checkRouteRecord(rr []wire.RouteRecordEntry) error {
	if len(rr) > maxRouteRecord {
		return fault.New(fault.BadParam, fmt.Sprintf("routeRecord has %d entries; at most %d are accepted", len(rr), maxRouteRecord))
	}
	for _, r := range rr {
		u, err := url.Parse(r.Interaction.ServiceEndpoint)
		if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
			return fault.New(fault.BadParam, "routeRecord serviceEndpoint must be an https:// URL")
		}
	}
	return nil
}

// hostedOrg returns the organisation orgURI names if it is hosted here,
// else the deliverError an unknown receiver gets.
func (p *Pipeline) hostedOrg(ctx context.Context, orgURI string) (store.Organisation, error) {
	unknown := wire.DeliverError{Service: ns.SvcSMD, DeliveryResponse: wire.DeliveryResponse{
		ResponseClass: wire.ClassError, ResponseCode: wire.ResponseCodeUnknownReceiver,
		Message: "The receiver organisation is not served by this provider.",
	}}
	hpio, err := provider.HPIOFromURI(orgURI)
	if err != nil {
		return store.Organisation{}, unknown
	}
	org, err := p.st.OrganisationByHPIO(ctx, hpio)
	if errors.Is(err, store.ErrNotFound) {
		return store.Organisation{}, unknown
	}
	return org, err
}

// receiveWorker opens, verifies and routes a received message (jobs.Receive).
type receiveWorker struct {
	river.WorkerDefaults[jobs.Receive]
	p *Pipeline
}

func (w *receiveWorker) Work(ctx context.Context, job *river.Job[jobs.Receive]) error {
	p := w.p
	m, done, err := p.stepMessage(ctx, job.Args.MessageID, store.StatusReceived)
	if done || err != nil {
		return err // done: processed by an earlier run
	}
	sm, err := smd.Unmarshal(m.Sealed)
	if err != nil {
		return p.rejectInbound(ctx, m, wire.MessageMetadata{}, wire.ResponseCodePayloadRejected,
			"The stored message cannot be parsed: "+safeReason(err))
	}
	meta := sm.Metadata
	org, err := p.st.Organisation(ctx, m.OrganisationID)
	if err != nil {
		return err
	}
	if org.DeliveryMode == store.DeliveryRetrieve {
		// The organisation's own software opens it (SMR) and sends the
		// final transport response; we tell the sender where it is.
		return p.st.WithTx(ctx, func(tx *store.Store) error {
			moved, err := tx.Transition(ctx, m.ID, []string{store.StatusReceived}, store.StatusHeld,
				"Held for retrieval by the organisation's clinical software")
			if err != nil || !moved {
				return err
			}
			p.m.Processed.WithLabelValues("held").Inc()
			if err := tx.Audit(ctx, store.AuditEvent{OrganisationID: org.ID, Action: "message.received",
				Detail: map[string]string{"message_id": m.ID, "from": m.SenderOrgURI, "category": m.ServiceCategory, "delivery": "held"}}); err != nil {
				return err
			}
			return p.queueResponses(ctx, tx, m, meta, intermediate(wire.ClassInformation, wire.ResponseCodeAccepted,
				"Held by the receiver's provider for retrieval"))
		})
	}
	start := time.Now()
	kr, err := p.keyring(ctx)
	if err != nil {
		return err
	}
	opened, err := smd.Open(sm, smd.OpenOptions{Keys: kr.KeyPairs(org.ID), Trust: kr.Trust()})
	if c, _ := fault.CodeOf(err); c == fault.BadEncryption || c == fault.CertificateSkiMissing {
		// Perhaps encrypted for a key added since the keyring was loaded
		// (portal org add in another process): reload once and retry.
		p.cfg.Keys.Invalidate()
		if kr, err2 := p.keyring(ctx); err2 == nil {
			opened, err = smd.Open(sm, smd.OpenOptions{Keys: kr.KeyPairs(org.ID), Trust: kr.Trust()})
		}
	}
	p.m.observe("open", start)
	if err != nil {
		code, reason := openFailure(err)
		return p.rejectInbound(ctx, m, meta, code, reason)
	}
	payloadType := sniff(opened.Payload)
	var recipient *string
	if payloadType == "application/hl7-v2" {
		msg, err := hl7.Parse(opened.Payload)
		if err != nil {
			return p.rejectInbound(ctx, m, meta, wire.ResponseCodePayloadRejected,
				"The HL7 v2 message is malformed: "+strings.TrimPrefix(err.Error(), "hl7: "))
		}
		recipient = p.routeHL7(ctx, org.ID, msg)
	}
	if r := p.routeIndividual(ctx, org.ID, meta.ReceiverIndividual); r != nil {
		recipient = r
	}
	where := "the organisation's inbox"
	if recipient != nil {
		where = "the practitioner's inbox"
	}
	return p.st.WithTx(ctx, func(tx *store.Store) error {
		if err := tx.SetOpened(ctx, m.ID, store.Opened{
			PayloadEnc: p.sealPayload(m.ID, opened.Payload), PayloadSize: len(opened.Payload),
			PayloadType: payloadType, DigestValue: opened.DigestValue, RecipientUserID: recipient,
		}); err != nil {
			return err
		}
		moved, err := tx.Transition(ctx, m.ID, []string{store.StatusReceived}, store.StatusDelivered, "Delivered to "+where)
		if err != nil || !moved {
			return err
		}
		if p.cfg.Delivered != nil {
			m.RecipientUserID, m.PayloadType = recipient, payloadType
			if err := p.cfg.Delivered(ctx, tx, m, opened.Payload); err != nil {
				return fmt.Errorf("record delivered message: %w", err)
			}
		}
		p.m.Processed.WithLabelValues("delivered").Inc()
		return p.queueResponses(ctx, tx, m, meta, response{class: wire.ClassSuccess, code: wire.ResponseCodeSuccess,
			message: "Delivered to the receiver", digest: opened.DigestValue, final: true})
	})
}

// rejectInbound fails m with a final Error transport response to the
// sender and a dead letter for the operator, in one transaction.
func (p *Pipeline) rejectInbound(ctx context.Context, m store.Message, meta wire.MessageMetadata, code, reason string) error {
	p.m.Processed.WithLabelValues("failed").Inc()
	p.log.Warn("Received message rejected", "message_id", m.ID, "invocation_id", m.InvocationID, "code", code)
	return p.st.WithTx(ctx, func(tx *store.Store) error {
		moved, err := tx.Transition(ctx, m.ID, []string{store.StatusReceived}, store.StatusFailed, reason)
		if err != nil || !moved {
			return err
		}
		orgID, msgID := m.OrganisationID, m.ID
		if err := tx.AddDeadLetter(ctx, store.DeadLetter{OrganisationID: &orgID, MessageID: &msgID,
			Kind: "inbound", Reason: reason}); err != nil {
			return err
		}
		if meta.InvocationID == "" {
			return nil // no routeRecord to answer to
		}
		return p.queueResponses(ctx, tx, m, meta, response{class: wire.ClassError, code: code, message: reason, final: true})
	})
}

// openFailure maps an smd.Open error to a transport response code and a
// message the sender can act on (no internal detail).
func openFailure(err error) (code, reason string) {
	c, _ := fault.CodeOf(err)
	msg := err.Error()
	var fe *fault.Error
	if errors.As(err, &fe) {
		msg = fe.Message
	}
	switch c {
	case fault.BadEncryption, fault.BadAlgorithmDataEncryption, fault.BadAlgorithmKeyEncryption, fault.CertificateSkiMissing:
		return wire.ResponseCodeDecryptionFailed, "The payload could not be decrypted with the receiver's keys: " + msg
	case fault.BadSignature, fault.BadAlgorithmSignature, fault.BadAlgorithmDigest, fault.BadAlgorithmC14N, fault.BadSigEncOrder:
		return wire.ResponseCodeSignatureInvalid, "The payload signature is invalid: " + msg
	case fault.NotAuthorised, fault.BadCertificateTransmitted, fault.CertificateKeyUsage, fault.CertificateUnidentified, fault.NotAuthenticated:
		return wire.ResponseCodeCertificateRejected, "The signing certificate was rejected: " + msg
	default:
		return wire.ResponseCodePayloadRejected, "The payload was rejected: " + msg
	}
}

// sniff names the payload's media type from its first bytes.
func sniff(b []byte) string {
	switch {
	case hl7.Looks(b):
		return "application/hl7-v2"
	case bytes.HasPrefix(b, []byte("%PDF-")):
		return "application/pdf"
	case bytes.HasPrefix(b, []byte("PK\x03\x04")):
		return "application/zip"
	case bytes.HasPrefix(bytes.TrimLeft(b, " \t\r\n"), []byte("<")):
		return "application/xml"
	default:
		return "application/octet-stream"
	}
}

// routeIndividual finds the practitioner receiverIndividual (an HPI-I URI)
// names, or nil.
func (p *Pipeline) routeIndividual(ctx context.Context, orgID, uri string) *string {
	hpii, ok := strings.CutPrefix(uri, qualifierHPII)
	if !ok {
		return nil
	}
	return p.userByHPII(ctx, orgID, hpii)
}

// routeHL7 finds the practitioner an HL7 message is addressed to: the
// referred-to provider (PRD with role RT) or an HPI-I in MSH-6.
func (p *Pipeline) routeHL7(ctx context.Context, orgID string, msg *hl7.Message) *string {
	var candidates []string
	for _, prd := range msg.All("PRD") {
		if msg.Components(prd.Field(1))[0] != "RT" {
			continue
		}
		for _, rep := range strings.Split(prd.Field(7), "~") {
			candidates = append(candidates, msg.Components(rep)[0])
		}
	}
	candidates = append(candidates, msg.Components(msg.MSH().Field(6))[0])
	for _, c := range candidates {
		if len(c) == 16 && strings.HasPrefix(c, "800361") {
			if id := p.userByHPII(ctx, orgID, c); id != nil {
				return id
			}
		}
	}
	return nil
}

func (p *Pipeline) userByHPII(ctx context.Context, orgID, hpii string) *string {
	id, err := p.st.UserIDByHPII(ctx, orgID, hpii)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			p.log.Warn("Routing lookup failed", "error", err)
		}
		return nil
	}
	return &id
}

// response is a transport response to queue.
type response struct {
	class   wire.ResponseClass
	code    string
	message string
	digest  []byte
	final   bool
}

func intermediate(class wire.ResponseClass, code, message string) response {
	return response{class: class, code: code, message: message}
}

// queueResponses stores r for each routeRecord endpoint that wants it
// (final: all; intermediate: those with sendIntermediateResponses) and
// enqueues their delivery, in tx.
func (p *Pipeline) queueResponses(ctx context.Context, tx *store.Store, m store.Message, meta wire.MessageMetadata, r response) error {
	source := m.ReceiverOrgURI
	if !r.final {
		source = p.providerURI() // an intermediary's progress report
	}
	var tr *wire.TransportResponse
	var xml []byte
	for _, rr := range meta.RouteRecord {
		if !r.final && !rr.SendIntermediateResponses {
			continue
		}
		if tr == nil {
			t := wire.NewTransportResponse(meta, source, r.class, r.code, r.message, r.digest, r.final, p.now(),
				wire.NewInvocationID(nil))
			tr = &t
			var err error
			if xml, err = marshalResponse(t); err != nil {
				return err
			}
		}
		row := store.TransportResponse{
			ID: uuid.NewString(), MessageID: m.ID, OrganisationID: m.OrganisationID, Direction: store.ResponseSent,
			ResponseID: tr.Metadata.ResponseID, SourceOrgURI: source, Class: string(r.class), Code: r.code,
			Message: r.message, DigestValue: r.digest, Final: r.final, ResponseTime: tr.Metadata.TransportResponseTime,
			XML: xml, EndpointURL: rr.Interaction.ServiceEndpoint, State: store.ResponsePending,
		}
		inserted, err := tx.InsertResponse(ctx, row)
		if err != nil {
			return err
		}
		if !inserted {
			continue // the same endpoint twice in the routeRecord
		}
		if _, err := p.cfg.Jobs.InsertTx(ctx, tx.Tx(), jobs.Respond{EndpointURL: row.EndpointURL, ResponseID: row.ID}, nil); err != nil {
			return fmt.Errorf("enqueue transport response: %w", err)
		}
	}
	return nil
}
