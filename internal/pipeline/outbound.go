package pipeline

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/opensmd/portal/internal/jobs"
	"github.com/opensmd/portal/internal/provider"
	"github.com/opensmd/portal/internal/smd"
	"github.com/opensmd/portal/internal/smd/ns"
	"github.com/opensmd/portal/internal/smd/soap"
	"github.com/opensmd/portal/internal/smd/wire"
	"github.com/opensmd/portal/internal/smd/xspp"
	"github.com/opensmd/portal/internal/store"
)

// Outbound is a message to send.
type Outbound struct {
	From     string // sender organisation URI (hosted here)
	To       string // receiver organisation URI
	Category string // serviceCategory URI
	Payload  []byte
	// PayloadType is a media type for the record (e.g. "application/hl7-v2").
	PayloadType        string
	SenderIndividual   string // optional HPI-I URI
	ReceiverIndividual string // optional HPI-I URI
	// Expiry is how long delivery may take; 0 means Config.DefaultExpiry.
	Expiry time.Duration
}

// Submit validates o, stores it as a queued outbound message and enqueues
// its delivery in the same transaction. Problems the sender can fix are
// returned at once, never left for the worker.
func (p *Pipeline) Submit(ctx context.Context, o Outbound) (store.Message, error) {
	var m store.Message
	err := p.st.WithTx(ctx, func(tx *store.Store) error {
		var err error
		m, err = p.SubmitTx(ctx, tx, o)
		return err
	})
	return m, err
}

// RefusedError is a message SubmitTx would not queue (the sender is not
// hosted or cannot sign, an address is malformed, the payload is empty or
// too large). Nothing was written, so the caller's transaction can go on.
type RefusedError struct{ Err error }

func (e *RefusedError) Error() string { return e.Err.Error() }
func (e *RefusedError) Unwrap() error { return e.Err }

// SubmitTx is Submit within the caller's transaction tx, so what the
// caller records about the message (its clinical document, an audit event)
// commits or rolls back with the message and its send job.
func (p *Pipeline) SubmitTx(ctx context.Context, tx *store.Store, o Outbound) (store.Message, error) {
	org, err := p.checkOutbound(ctx, tx, &o)
	if err != nil {
		return store.Message{}, &RefusedError{err}
	}
	expiry := o.Expiry
	if expiry <= 0 {
		expiry = p.cfg.DefaultExpiry
	}
	now := p.now()
	m := store.Message{
		ID: uuid.NewString(), OrganisationID: org.ID, Direction: store.Outbound,
		InvocationID: wire.NewInvocationID(nil), SenderOrgURI: o.From, ReceiverOrgURI: o.To,
		SenderIndividual: o.SenderIndividual, ReceiverIndividual: o.ReceiverIndividual,
		ServiceCategory: o.Category, Status: store.StatusQueued, StatusDetail: "Queued for delivery",
		PayloadSize: len(o.Payload), PayloadType: o.PayloadType, ExpiresAt: now.Add(expiry),
	}
	m.PayloadEnc = p.sealPayload(m.ID, o.Payload)
	if _, err := tx.InsertMessage(ctx, m); err != nil {
		return store.Message{}, fmt.Errorf("queue message: %w", err)
	}
	if _, err := p.cfg.Jobs.InsertTx(ctx, tx.Tx(), jobs.Send{MessageID: m.ID, ExpiresAt: m.ExpiresAt}, nil); err != nil {
		return store.Message{}, fmt.Errorf("queue message: %w", err)
	}
	m.CreatedAt = now
	return m, nil
}

// checkOutbound finds o's sender and checks that o can be sent, filling
// in its payload type; it writes nothing.
func (p *Pipeline) checkOutbound(ctx context.Context, tx *store.Store, o *Outbound) (store.Organisation, error) {
	hpio, err := provider.HPIOFromURI(o.From)
	if err != nil {
		return store.Organisation{}, fmt.Errorf("sender: %w", err)
	}
	// Through tx: a second pool connection per submit, while tx holds one,
	// could starve the pool under load (and would not see tx's writes).
	org, err := tx.OrganisationByHPIO(ctx, hpio)
	if errors.Is(err, store.ErrNotFound) {
		return org, fmt.Errorf("sender %s is not hosted by this provider (add it with portal org add)", o.From)
	}
	if err != nil {
		return org, err
	}
	kr, err := p.keyring(ctx)
	if err != nil {
		return org, err
	}
	if _, err := kr.Signer(org.ID, p.now()); err != nil {
		return org, fmt.Errorf("sender %s has no valid signing certificate: %w", o.From, err)
	}
	if err := checkURI("receiver", o.To); err != nil {
		return org, err
	}
	if err := checkURI("service category", o.Category); err != nil {
		return org, err
	}
	if len(o.Payload) == 0 {
		return org, errors.New("the payload is empty")
	}
	// base64 grows the payload by a third; leave room for the envelope.
	if limit := p.cfg.MaxBytes*7/10 - 64<<10; int64(len(o.Payload)) > limit {
		return org, fmt.Errorf("the payload is %d bytes; the limit is %d", len(o.Payload), limit)
	}
	if o.PayloadType == "" {
		o.PayloadType = sniff(o.Payload)
	}
	return org, nil
}

func checkURI(what, s string) error {
	if s == "" || strings.TrimSpace(s) != s || !strings.Contains(s, ":") || len(s) > 1000 {
		return fmt.Errorf("%s %q is not an absolute URI", what, s)
	}
	return nil
}

// sendWorker delivers one outbound message (jobs.Send).
type sendWorker struct {
	river.WorkerDefaults[jobs.Send]
	p *Pipeline
}

// errPermanent marks a failure that retrying cannot fix.
type errPermanent struct{ reason string }

func (e errPermanent) Error() string { return e.reason }

func (w *sendWorker) Work(ctx context.Context, job *river.Job[jobs.Send]) error {
	p := w.p
	m, done, err := p.stepMessage(ctx, job.Args.MessageID, store.StatusQueued)
	if done || err != nil {
		return err // done: sent by an earlier run; never send twice
	}
	if !p.now().Before(m.ExpiresAt) {
		return p.failOutbound(ctx, m, fmt.Sprintf("Not delivered before it expired at %s. Last problem: %s",
			m.ExpiresAt.UTC().Format(time.RFC3339), m.StatusDetail))
	}
	sm, err := p.sealed(ctx, &m)
	if err == nil {
		err = p.deliver(ctx, m, sm)
	}
	var perm errPermanent
	switch {
	case err == nil:
		return nil
	case errors.As(err, &perm):
		return p.failOutbound(ctx, m, perm.reason)
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		return err // stopping; River retries the job
	}
	p.m.Deliveries.WithLabelValues("retry").Inc()
	attempt := fmt.Sprintf("Delivery attempt %d failed: %s. Retrying until %s.", job.Attempt, safeReason(err),
		m.ExpiresAt.UTC().Format(time.RFC3339))
	if _, terr := p.st.Transition(ctx, m.ID, []string{store.StatusQueued}, store.StatusQueued, attempt); terr != nil {
		return terr
	}
	return err
}

// stepMessage loads message id for a worker step that acts only while it
// is in status. done is true when an earlier run has moved it on; a
// message that no longer exists cancels the job.
func (p *Pipeline) stepMessage(ctx context.Context, id, status string) (m store.Message, done bool, err error) {
	m, err = p.st.Message(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return m, true, river.JobCancel(err)
	case err != nil:
		return m, true, err
	}
	return m, m.Status != status, nil
}

// NextRetry backs off exponentially from 1 s to Config.RetryMax with ±20 %
// jitter, and never past the message's expiry (that run fails it).
func (w *sendWorker) NextRetry(job *river.Job[jobs.Send]) time.Time {
	return backoff(w.p.now(), job.Attempt, w.p.cfg.RetryMax, job.Args.ExpiresAt)
}

func backoff(now time.Time, attempt int, ceiling time.Duration, limit time.Time) time.Time {
	d := ceiling
	if attempt < 40 {
		d = min(time.Second<<max(attempt-1, 0), ceiling)
	}
	d = time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
	next := now.Add(d)
	if !limit.IsZero() && next.After(limit) {
		return limit
	}
	return next
}

// sealed returns m's SealedMessage, sealing and recording it on the first
// attempt: every retry then resends the same bytes and invocationId.
func (p *Pipeline) sealed(ctx context.Context, m *store.Message) (wire.SealedMessage, error) {
	if m.Sealed != nil {
		return smd.Unmarshal(m.Sealed)
	}
	start := time.Now()
	ep, err := p.cfg.Resolver.Resolve(ctx, m.ReceiverOrgURI, m.ServiceCategory)
	switch {
	case errors.Is(err, provider.ErrUnknownTarget):
		return wire.SealedMessage{}, errPermanent{fmt.Sprintf("The directory has no entry for %s.", m.ReceiverOrgURI)}
	case errors.Is(err, provider.ErrNoEndpoint):
		return wire.SealedMessage{}, errPermanent{fmt.Sprintf("%s cannot receive this type of message (%s) by secure messaging.",
			m.ReceiverOrgURI, m.ServiceCategory)}
	case errors.Is(err, provider.ErrBadCertRef):
		return wire.SealedMessage{}, errPermanent{fmt.Sprintf("The directory's encryption certificate for %s is unusable.", m.ReceiverOrgURI)}
	case err != nil:
		if soap.IsTransient(err) {
			return wire.SealedMessage{}, fmt.Errorf("endpoint lookup: %w", err)
		}
		return wire.SealedMessage{}, errPermanent{"Endpoint lookup failed: " + safeReason(err)}
	}
	kr, err := p.keyring(ctx)
	if err != nil {
		return wire.SealedMessage{}, err
	}
	signer, err := kr.Signer(m.OrganisationID, p.now())
	if err != nil {
		return wire.SealedMessage{}, errPermanent{"The sender has no valid signing certificate."}
	}
	payload, err := p.OpenPayload(*m)
	if err != nil {
		return wire.SealedMessage{}, errPermanent{"The stored payload cannot be read."}
	}
	meta := wire.MessageMetadata{
		CreationTime: m.CreatedAt.UTC().Truncate(time.Millisecond), ExpiryTime: m.ExpiresAt.UTC().Truncate(time.Millisecond),
		InvocationID: m.InvocationID, ReceiverIndividual: m.ReceiverIndividual, ReceiverOrganisation: m.ReceiverOrgURI,
		SenderIndividual: m.SenderIndividual, SenderOrganisation: m.SenderOrgURI,
		ServiceCategory: m.ServiceCategory, ServiceInterface: ns.IntfSMD,
		RouteRecord: []wire.RouteRecordEntry{{Interaction: wire.Interaction{
			Target: m.SenderOrgURI, ServiceCategory: ns.ServiceCategoryTRD, ServiceInterface: ns.IntfTRD,
			ServiceEndpoint: p.endpointURL(), ServiceProvider: p.providerURI(),
		}}},
	}
	sm, digest, err := smd.SealDigest(meta, smd.WrapBytes(payload), smd.SealOptions{
		Signers: []xspp.Signer{signer}, Recipients: []*x509.Certificate{ep.EncryptionCert}})
	if err != nil {
		return wire.SealedMessage{}, errPermanent{"Sealing failed: " + safeReason(err)}
	}
	b, err := smd.Marshal(sm)
	if err != nil {
		return wire.SealedMessage{}, errPermanent{"Sealing failed: " + safeReason(err)}
	}
	if err := p.st.SetSealed(ctx, m.ID, b, digest, ep.URL); err != nil {
		return wire.SealedMessage{}, err
	}
	m.Sealed, m.DigestValue, m.EndpointURL = b, digest, ep.URL
	p.m.observe("seal", start)
	return sm, nil
}

func (p *Pipeline) providerURI() string {
	if p.cfg.ProviderURI != "" {
		return p.cfg.ProviderURI
	}
	return p.endpointURL()
}

// deliver calls SMD deliver and records the outcome. Transient failures
// are returned for River to retry; refusals as errPermanent.
func (p *Pipeline) deliver(ctx context.Context, m store.Message, sm wire.SealedMessage) error {
	if p.client() == nil {
		return errPermanent{"This portal has no SMD identity to deliver with (PORTAL_SMD_TLS_CERT and PORTAL_SMD_TLS_KEY)."}
	}
	if _, err := p.st.CountAttempt(ctx, m.ID); err != nil {
		return err
	}
	start := time.Now()
	env, err := p.client().Call(ctx, m.EndpointURL, soap.SMDDeliver, wire.SMDDeliver{Message: sm}.Element())
	p.m.observe("deliver", start)
	if err != nil {
		if soap.IsTransient(err) {
			return err
		}
		var fe *soap.FaultError
		if errors.As(err, &fe) {
			var de wire.DeliverError
			if errors.As(fe.ServiceError, &de) {
				return errPermanent{"Refused by the receiver's provider: " + de.DeliveryResponse.Message}
			}
			if code, ok := fe.Code(); ok {
				return errPermanent{fmt.Sprintf("Refused by the receiver's provider (%s): %s", code, fe.Fault.Reason)}
			}
			return errPermanent{"Refused by the receiver's provider: " + fe.Fault.Reason}
		}
		var te *soap.TransportError
		if errors.As(err, &te) {
			// Certificate and protocol failures: retrying will not help.
			return errPermanent{"Delivery failed: " + safeReason(err)}
		}
		// A reply we could not read: the message may have been accepted,
		// and resending it is answered "duplicate" if so.
		return err
	}
	resp, err := wire.ParseSMDDeliverResponse(env.Body)
	if err != nil {
		// It may have been accepted: resending gets "duplicate" if so.
		return fmt.Errorf("unreadable deliver response: %w", err)
	}
	detail := "Accepted by the receiver's provider"
	outcome := "sent"
	if resp.Status == wire.StatusDuplicate {
		detail, outcome = "Accepted by the receiver's provider (it already had this message)", "duplicate"
	}
	p.m.Deliveries.WithLabelValues(outcome).Inc()
	moved, err := p.st.Transition(ctx, m.ID, []string{store.StatusQueued}, store.StatusSent, detail)
	if err == nil && !moved {
		// A final transport response overtook this reply: keep the
		// timeline complete without moving the status back.
		err = p.st.AddMessageEvent(ctx, m.ID, store.StatusSent, detail)
	}
	return err
}

// failOutbound marks m failed with reason; the job then ends.
func (p *Pipeline) failOutbound(ctx context.Context, m store.Message, reason string) error {
	p.m.Deliveries.WithLabelValues("failed").Inc()
	if _, err := p.st.Transition(ctx, m.ID, []string{store.StatusQueued}, store.StatusFailed, reason); err != nil {
		return err
	}
	p.log.Warn("Outbound message failed", "message_id", m.ID, "invocation_id", m.InvocationID, "reason", reason)
	return nil
}

// safeReason is an error's text for a person: no more than 300 bytes.
func safeReason(err error) string {
	s := err.Error()
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// hostedResolver resolves organisations hosted by this provider to its
// own endpoint and their current certificate, so a message between two of
// them runs the whole seal → deliver → open path over loopback without a
// directory entry.
type hostedResolver struct{ p *Pipeline }

func (h hostedResolver) Resolve(ctx context.Context, target, category string) (provider.Endpoint, error) {
	p := h.p
	notHere := fmt.Errorf("resolve %q: not hosted here: %w", target, provider.ErrUnknownTarget)
	if p.endpointURL() == "" {
		return provider.Endpoint{}, notHere
	}
	hpio, err := provider.HPIOFromURI(target)
	if err != nil {
		return provider.Endpoint{}, notHere
	}
	org, err := p.st.OrganisationByHPIO(ctx, hpio)
	if errors.Is(err, store.ErrNotFound) {
		return provider.Endpoint{}, notHere
	}
	if err != nil {
		return provider.Endpoint{}, err
	}
	kr, err := p.keyring(ctx)
	if err != nil {
		return provider.Endpoint{}, err
	}
	s, err := kr.Signer(org.ID, p.now())
	if err != nil {
		return provider.Endpoint{}, fmt.Errorf("resolve %q: %w", target, provider.ErrBadCertRef)
	}
	return provider.Endpoint{URL: p.endpointURL(), EncryptionCert: s.Cert, ServiceProvider: p.providerURI()}, nil
}
