package pipeline

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/beevik/etree"
	"github.com/google/uuid"

	"github.com/opensmd/portal/internal/smd/fault"
	"github.com/opensmd/portal/internal/smd/pki"
	"github.com/opensmd/portal/internal/smd/soap"
	"github.com/opensmd/portal/internal/smd/wire"
	"github.com/opensmd/portal/internal/store"
)

// handleTRD serves TRD deliver: transport responses about messages our
// organisations sent. The routeRecord that told the receiver where to send
// them is unsigned, so a response counts only if
//
//   - it names an outbound message of ours (senderOrganisation and
//     invocationId) that was sealed and sent to an endpoint;
//   - it arrived over mutual TLS from a client certified for the host of
//     that endpoint: the provider the directory or ELS named;
//   - its receiverOrganisation is the message's receiver;
//   - a Success carries the DigestValue of the signature we made.
//
// A batch is taken whole or refused whole: a refused batch stores nothing,
// is logged and answered with a fault.
func (p *Pipeline) handleTRD(ctx context.Context, env *soap.Envelope) (*etree.Element, error) {
	d, err := wire.ParseTRDDeliver(env.Body)
	if err != nil {
		return nil, err
	}
	peer := peerCert(ctx)
	type checked struct {
		m  store.Message
		tr wire.TransportResponse
	}
	var batch []checked
	for _, tr := range d.Responses {
		m, err := p.checkResponse(ctx, peer, tr)
		if err != nil {
			p.m.Responses.WithLabelValues("received", "refused").Inc()
			p.log.Warn("Transport response refused", "invocation_id", tr.Metadata.InvocationID,
				"source", tr.Metadata.SourceOrganisation, "peer", subjectOf(peer), "reason", err.Error())
			return nil, err
		}
		batch = append(batch, checked{m, tr})
	}
	err = p.st.WithTx(ctx, func(tx *store.Store) error {
		for _, c := range batch {
			if err := p.recordResponse(ctx, tx, c.m, c.tr); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return wire.TRDDeliverResponse{Status: wire.StatusOK}.Element(), nil
}

// checkResponse applies handleTRD's rules to one response and returns the
// message it is about.
func (p *Pipeline) checkResponse(ctx context.Context, peer *x509.Certificate, tr wire.TransportResponse) (store.Message, error) {
	md := tr.Metadata
	m, err := p.st.OutboundMessage(ctx, md.SenderOrganisation, md.InvocationID)
	if errors.Is(err, store.ErrNotFound) {
		if _, herr := p.hostedOrg(ctx, md.SenderOrganisation); herr != nil {
			return m, wire.TRDDeliverError{ErrorCode: wire.UnknownSenderOrganisation,
				Message: "The sender organisation is not served by this provider."}
		}
		return m, fault.New(fault.BadParam, "No message with this invocationId was sent by the sender organisation.")
	}
	if err != nil {
		return m, err
	}
	if m.EndpointURL == "" {
		return m, fault.New(fault.BadParam, "This message has not been sent yet.")
	}
	if err := peerServes(peer, m.EndpointURL); err != nil {
		return m, fault.Wrap(fault.NotAuthorised,
			"Transport responses for this message are accepted only from the provider serving its receiver.", err)
	}
	if md.ReceiverOrganisation != m.ReceiverOrgURI {
		return m, fault.New(fault.BadParam, "receiverOrganisation does not match the message.")
	}
	r := tr.DeliveryResponse
	if r.ResponseClass == wire.ClassSuccess && !bytes.Equal(r.DigestValue, m.DigestValue) {
		return m, fault.New(fault.BadParam, "digestValue does not match the signature of the message.")
	}
	return m, nil
}

// peerServes checks that the TLS client certificate is valid for the host
// of endpoint (the chain itself was verified in the handshake).
func peerServes(peer *x509.Certificate, endpoint string) error {
	if peer == nil {
		return errors.New("no client certificate")
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return err
	}
	return peer.VerifyHostname(u.Hostname())
}

// recordResponse stores a checked response and moves the message: a final
// Success to delivered, a final Error or Warning to failed; others only
// add to the timeline. A response seen before changes nothing.
func (p *Pipeline) recordResponse(ctx context.Context, tx *store.Store, m store.Message, tr wire.TransportResponse) error {
	xml, err := marshalResponse(tr)
	if err != nil {
		return err
	}
	r := tr.DeliveryResponse
	inserted, err := tx.InsertResponse(ctx, store.TransportResponse{
		ID: uuid.NewString(), MessageID: m.ID, OrganisationID: m.OrganisationID, Direction: store.ResponseReceived,
		ResponseID: tr.Metadata.ResponseID, SourceOrgURI: tr.Metadata.SourceOrganisation,
		Class: string(r.ResponseClass), Code: r.ResponseCode, Message: r.Message, DigestValue: r.DigestValue,
		Final: tr.Final, ResponseTime: tr.Metadata.TransportResponseTime, XML: xml,
	})
	if err != nil || !inserted {
		return err
	}
	p.m.Responses.WithLabelValues("received", string(r.ResponseClass)).Inc()
	from := []string{store.StatusQueued, store.StatusSent}
	switch {
	case tr.Final && r.ResponseClass == wire.ClassSuccess:
		moved, err := tx.Transition(ctx, m.ID, from, store.StatusDelivered, "Delivered: the receiver confirmed it")
		if moved {
			p.m.Stage.WithLabelValues("end_to_end").Observe(time.Since(m.CreatedAt).Seconds())
		}
		return err
	case tr.Final:
		_, err := tx.Transition(ctx, m.ID, from, store.StatusFailed,
			fmt.Sprintf("The receiver could not accept it: %s", r.Message))
		return err
	default:
		return tx.AddMessageEvent(ctx, m.ID, "progress", r.Message)
	}
}

// handler-side TLS peer identity.

type peerKey struct{}

func withPeer(ctx context.Context, cert *x509.Certificate) context.Context {
	return context.WithValue(ctx, peerKey{}, cert)
}

// peerCert is the verified TLS client certificate of the request, or nil.
func peerCert(ctx context.Context) *x509.Certificate {
	c, _ := ctx.Value(peerKey{}).(*x509.Certificate)
	return c
}

func peerSubject(ctx context.Context) string { return subjectOf(peerCert(ctx)) }

func subjectOf(c *x509.Certificate) string {
	if c == nil {
		return ""
	}
	return c.Subject.String()
}

// peerOrgs lists the organisation URIs the client certificate names.
func peerOrgs(ctx context.Context) []string {
	c := peerCert(ctx)
	if c == nil {
		return nil
	}
	return pki.OrgURIs(c)
}
