// Package auditcheck verifies the audit trail's hash chain and records the
// result (store.AuditCheck), so pages show the latest result instead of
// re-reading the whole provider-wide trail. The River job audit.verify
// (jobs.AuditVerify) runs it periodically, at start-up and on an
// administrator's request; `portal audit verify` runs it directly.
package auditcheck

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/riverqueue/river"

	"github.com/opensmd/portal/internal/jobs"
	"github.com/opensmd/portal/internal/store"
)

// NoticeKind is the notification operator administrators get when a
// check first finds the chain broken.
const NoticeKind = "audit.chain_broken"

// Run verifies the whole trail, records the result with source and
// returns it. When the chain is found broken and the previous check was
// intact (or there was none), the operator organisations' administrators
// get a notification.
func Run(ctx context.Context, st *store.Store, source string) (store.AuditCheck, error) {
	prev, err := st.LatestAuditCheck(ctx)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.AuditCheck{}, err
	}
	hadPrev := err == nil
	start := time.Now()
	n, problem, err := st.VerifyAudit(ctx)
	if err != nil {
		return store.AuditCheck{}, err
	}
	var c store.AuditCheck
	err = st.WithTx(ctx, func(tx *store.Store) error {
		var err error
		c, err = tx.RecordAuditCheck(ctx, store.AuditCheck{Rows: int64(n), Problem: problem, Took: time.Since(start), Source: source})
		if err != nil || problem == nil || (hadPrev && !prev.OK) {
			return err
		}
		return notifyOperators(ctx, tx, c)
	})
	return c, err
}

// notifyOperators tells each operator organisation's administrators, once
// per broken row, where the chain broke.
func notifyOperators(ctx context.Context, tx *store.Store, c store.AuditCheck) error {
	ids, err := tx.OperatorOrganisationIDs(ctx)
	if err != nil {
		return err
	}
	text := fmt.Sprintf("The audit trail is NOT intact: event %d: %s (found %s by the %s check).",
		c.Problem.ID, c.Problem.Reason, c.At.UTC().Format("2 Jan 2006 15:04 MST"), c.Source)
	for _, id := range ids {
		if _, err := tx.AddNotificationOnce(ctx, store.Notification{OrganisationID: id, Kind: NoticeKind,
			Ref: strconv.FormatInt(c.Problem.ID, 10), Text: text, Link: "/admin/audit"}); err != nil {
			return err
		}
	}
	return nil
}

// Worker works jobs.AuditVerify.
type Worker struct {
	river.WorkerDefaults[jobs.AuditVerify]
	Store  *store.Store
	Logger *slog.Logger
}

// Timeout implements river.Worker: a long trail takes longer than a
// delivery call.
func (Worker) Timeout(*river.Job[jobs.AuditVerify]) time.Duration { return 10 * time.Minute }

// Work implements river.Worker.
func (w *Worker) Work(ctx context.Context, job *river.Job[jobs.AuditVerify]) error {
	source := job.Args.Source
	if source != store.AuditCheckAdmin {
		source = store.AuditCheckSchedule
	}
	c, err := Run(ctx, w.Store, source)
	if err != nil {
		return err
	}
	if w.Logger != nil {
		if c.OK {
			w.Logger.Info("audit trail verified", "rows", c.Rows, "took", c.Took, "source", c.Source)
		} else {
			w.Logger.Error("audit trail NOT intact", "event_id", c.Problem.ID, "reason", c.Problem.Reason, "source", c.Source)
		}
	}
	return nil
}

// AddWorker registers the audit.verify worker with w.
func AddWorker(w *river.Workers, st *store.Store, log *slog.Logger) {
	river.AddWorker(w, &Worker{Store: st, Logger: log})
}
