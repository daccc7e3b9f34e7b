package pipeline_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/opensmd/portal/internal/pipeline"
	"github.com/opensmd/portal/internal/store"
)

// A message that failed (its receiver's endpoint was dead until it
// expired) is retried once the directory names a live endpoint: one new
// send job, a new invocationId, sealed afresh and delivered once. Only a
// failed message of the caller's organisation can be retried.
func TestRetryTx(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	ctx := t.Context()
	orgID := h.a.org(gpURI).ID
	h.a.addDirectory(t, physioURI, deadEndpoint(t, "127.0.0.2"), h.f.physio)
	m := h.a.submit(t, pipeline.Outbound{From: gpURI, To: physioURI, Payload: []byte("try again"), Expiry: time.Second})
	waitStatus(t, h.a.st, orgID, m.InvocationID, store.StatusFailed, wait)
	sendJobs := func() int {
		return h.a.count(t, `SELECT count(*) FROM river_job WHERE kind = 'smd.send' AND args->>'message_id' = $1`, m.ID)
	}
	before := sendJobs()

	// The directory now names B's live endpoint.
	h.a.addDirectory(t, physioURI, h.b.url, h.f.physio)
	retry := func(org, id string) error {
		return h.a.st.WithTx(ctx, func(tx *store.Store) error { return h.a.p.RetryTx(ctx, tx, org, id) })
	}
	if err := retry(h.a.org(org39URI).ID, m.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("retry by another organisation: %v, want not found", err)
	}
	if err := retry(orgID, m.ID); err != nil {
		t.Fatal(err)
	}
	if got := sendJobs(); got != before+1 {
		t.Errorf("%d send jobs after the retry, want %d", got, before+1)
	}
	again := h.a.message(t, m.ID)
	if again.InvocationID == m.InvocationID || !again.ExpiresAt.After(m.ExpiresAt) {
		t.Errorf("retry kept invocationId %q / expiry %s", again.InvocationID, again.ExpiresAt)
	}
	got, ev := waitStatus(t, h.a.st, orgID, again.InvocationID, store.StatusDelivered, wait)
	if got.EndpointURL != h.b.url {
		t.Errorf("delivered to %q, want %q", got.EndpointURL, h.b.url)
	}
	st := statuses(ev)
	i := slices.Index(st, store.StatusRetry)
	if i < 0 || slices.Index(st, store.StatusFailed) > i || !slices.Contains(st[i:], store.StatusSent) {
		t.Errorf("timeline:%s", timeline(ev))
	}
	if n := h.b.inboundRows(t); n != 1 {
		t.Errorf("B stored %d inbound messages, want 1", n)
	}
	if err := retry(orgID, m.ID); !errors.Is(err, pipeline.ErrNotFailed) {
		t.Errorf("retry of a delivered message: %v, want ErrNotFailed", err)
	}
	if got := sendJobs(); got != before+1 {
		t.Errorf("%d send jobs after a refused retry, want %d", got, before+1)
	}
}
