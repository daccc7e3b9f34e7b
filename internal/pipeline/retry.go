package pipeline

import (
	"context"
	"errors"

	"github.com/opensmd/portal/internal/jobs"
	"github.com/opensmd/portal/internal/smd/wire"
	"github.com/opensmd/portal/internal/store"
)

// ErrNotFailed refuses to retry a message that has not failed: one still
// on its way, or delivered.
var ErrNotFailed = errors.New("only a message that failed can be sent again")

// RetryTx queues organisation orgID's failed outbound message id for
// delivery again, within the caller's transaction tx, with a new send job
// and a fresh expiry (Config.DefaultExpiry).
//
// The retry gets a new invocationId and is sealed afresh: a receiver that
// stored the first attempt before failing it keys duplicates on the
// invocationId (SMD.md §1.11) and would answer "duplicate" without
// delivering, and the directory may meanwhile name a new endpoint or
// certificate. Transport responses about the first attempt then match
// nothing and are refused.
func (p *Pipeline) RetryTx(ctx context.Context, tx *store.Store, orgID, id string) error {
	expires := p.now().Add(p.cfg.DefaultExpiry)
	moved, err := tx.RequeueFailed(ctx, orgID, id, wire.NewInvocationID(nil), expires, "Retry requested: queued for delivery again")
	if err != nil {
		return err
	}
	if !moved {
		m, err := tx.OrgMessage(ctx, orgID, id)
		if err != nil {
			return err
		}
		if m.Direction != store.Outbound {
			return store.ErrNotFound
		}
		return ErrNotFailed
	}
	_, err = p.cfg.Jobs.InsertTx(ctx, tx.Tx(), jobs.Send{MessageID: id, ExpiresAt: expires}, nil)
	return err
}
