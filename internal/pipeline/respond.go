package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/opensmd/portal/internal/jobs"
	"github.com/opensmd/portal/internal/smd/fault"
	"github.com/opensmd/portal/internal/smd/ns"
	"github.com/opensmd/portal/internal/smd/safexml"
	"github.com/opensmd/portal/internal/smd/soap"
	"github.com/opensmd/portal/internal/smd/wire"
	"github.com/opensmd/portal/internal/store"
)

// responseBatch is the most transport responses sent in one TRD deliver.
const responseBatch = 100

// marshalResponse serialises a transport response for storage.
func marshalResponse(t wire.TransportResponse) ([]byte, error) {
	return safexml.Canonicalize(t.AppendTo(nil, ns.SvcTRD, "response"))
}

func unmarshalResponse(b []byte) (wire.TransportResponse, error) {
	doc, err := safexml.Parse(b)
	if err != nil {
		return wire.TransportResponse{}, err
	}
	if doc.Root() == nil {
		return wire.TransportResponse{}, fault.New(fault.BadlyFormedMsg, "empty transport response")
	}
	return wire.ParseTransportResponse(doc.Root())
}

// respondWorker delivers pending transport responses to one TRD endpoint
// (jobs.Respond). Each run claims up to responseBatch pending responses
// for the endpoint with SKIP LOCKED, so responses queued meanwhile ride
// along and concurrent runs never send the same one; a run that finds
// none (already sent with an earlier batch) has nothing to do.
type respondWorker struct {
	river.WorkerDefaults[jobs.Respond]
	p *Pipeline
}

func (w *respondWorker) Work(ctx context.Context, job *river.Job[jobs.Respond]) error {
	p := w.p
	if p.client() == nil {
		return errors.New("this process has no SMD client identity (PORTAL_SMD_TLS_CERT)")
	}
	return p.st.WithTx(ctx, func(tx *store.Store) error {
		rows, err := tx.ClaimPendingResponses(ctx, job.Args.EndpointURL, responseBatch)
		if err != nil || len(rows) == 0 {
			return err
		}
		ids := make([]string, len(rows))
		var batch wire.TRDDeliver
		for i, r := range rows {
			ids[i] = r.ID
			t, err := unmarshalResponse(r.XML)
			if err != nil {
				return fmt.Errorf("stored transport response %s: %w", r.ID, err)
			}
			batch.Responses = append(batch.Responses, t)
		}
		start := time.Now()
		env, err := p.client().Call(ctx, job.Args.EndpointURL, soap.TRDDeliver, batch.Element())
		p.m.observe("respond", start)
		if err == nil {
			_, err = wire.ParseTRDDeliverResponse(env.Body)
		}
		switch {
		case err == nil:
			p.m.Responses.WithLabelValues("sent", "delivered").Add(float64(len(rows)))
			return tx.SetResponseState(ctx, ids, store.ResponseDone, "")
		case soap.IsTransient(err) && job.Attempt < job.MaxAttempts:
			p.m.Responses.WithLabelValues("sent", "retry").Add(float64(len(rows)))
			return err // rolls back the claim; River retries
		}
		// Refused, or retries exhausted: give up visibly.
		p.m.Responses.WithLabelValues("sent", "failed").Add(float64(len(rows)))
		p.log.Warn("Transport responses not delivered", "endpoint", job.Args.EndpointURL, "count", len(rows),
			"error", safeReason(err))
		if err := tx.SetResponseState(ctx, ids, store.ResponseFailed, safeReason(err)); err != nil {
			return err
		}
		for _, r := range rows {
			orgID, msgID := r.OrganisationID, r.MessageID
			if err := tx.AddDeadLetter(ctx, store.DeadLetter{OrganisationID: &orgID, MessageID: &msgID,
				Kind: "transport-response", Reason: "Transport response to " + r.EndpointURL +
					" not delivered: " + safeReason(err)}); err != nil {
				return err
			}
		}
		return nil
	})
}

// NextRetry backs off from 1 s to Config.RetryMax with jitter.
func (w *respondWorker) NextRetry(job *river.Job[jobs.Respond]) time.Time {
	return backoff(w.p.now(), job.Attempt, w.p.cfg.RetryMax, time.Time{})
}
