// Package jobs defines the durable jobs of the SMD pipeline and builds the
// River client that runs them. Jobs live in PostgreSQL (river_job), are
// inserted in the same transaction as the state change they act on, and
// are worked by internal/pipeline, which registers every worker in one
// place (pipeline.Workers).
package jobs

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
)

// Queues: one per direction, so a backlog of one never starves the others.
const (
	QueueOutbound  = "outbound"
	QueueInbound   = "inbound"
	QueueResponses = "responses"
	// QueueMaintenance holds housekeeping (audit verification), one at a
	// time, away from message delivery.
	QueueMaintenance = "maintenance"
)

// Client runs and inserts jobs.
type Client = river.Client[pgx.Tx]

// Inserter inserts jobs inside a caller's transaction (*Client does).
type Inserter interface {
	InsertTx(ctx context.Context, tx pgx.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// Send delivers an outbound message to the receiver's provider. It is
// retried, with the same sealed bytes and invocationId, until ExpiresAt.
type Send struct {
	MessageID string    `json:"message_id"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Kind implements river.JobArgs.
func (Send) Kind() string { return "smd.send" }

// InsertOpts implements river.JobArgsWithInsertOpts: the worker's retry
// policy ends at the message's expiry, not at a count.
func (Send) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueOutbound, MaxAttempts: 100000}
}

// Receive opens, verifies and routes a received sealed message.
type Receive struct {
	MessageID string `json:"message_id"`
}

// Kind implements river.JobArgs.
func (Receive) Kind() string { return "smd.receive" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (Receive) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueInbound, MaxAttempts: 25}
}

// Respond delivers the pending transport responses for one TRD endpoint,
// in batches; ResponseID names the response that caused the job.
type Respond struct {
	EndpointURL string `json:"endpoint_url"`
	ResponseID  string `json:"response_id"`
}

// Kind implements river.JobArgs.
func (Respond) Kind() string { return "smd.respond" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (Respond) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueResponses, MaxAttempts: 200}
}

// AuditVerify re-hashes the whole audit trail and records the result
// (internal/auditcheck). Source is "schedule" or "admin".
type AuditVerify struct {
	Source string `json:"source"`
}

// Kind implements river.JobArgs.
func (AuditVerify) Kind() string { return "audit.verify" }

// InsertOpts implements river.JobArgsWithInsertOpts: at most one waiting
// or running, so repeated "Verify now" clicks and the schedule do not pile
// up full-trail reads.
func (AuditVerify) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueMaintenance, MaxAttempts: 3, UniqueOpts: river.UniqueOpts{
		ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
			rivertype.JobStateRunning, rivertype.JobStateScheduled},
	}}
}

// Options configures New.
type Options struct {
	// Workers, if set, makes the client work jobs; nil gives an
	// insert-only client (the web and SMD listener roles).
	Workers *river.Workers
	// Concurrency is the number of jobs worked at once per queue
	// (default 16).
	Concurrency int
	// PollInterval bounds how long a job inserted by another process
	// waits when a notification is missed (default 1 s).
	PollInterval time.Duration
	// JobTimeout bounds one run of a job (default 90 s). A job left
	// running by a killed process is taken over after 1.5 × JobTimeout.
	JobTimeout time.Duration
	// AuditVerifyEvery, with Workers, schedules AuditVerify at this
	// interval and once at start-up; 0 never.
	AuditVerifyEvery time.Duration
	Logger           *slog.Logger
}

// New returns a River client over pool. Start it to work jobs; Stop it to
// finish the jobs in hand (graceful stop).
func New(pool *pgxpool.Pool, o Options) (*Client, error) {
	if o.JobTimeout <= 0 {
		o.JobTimeout = 90 * time.Second
	}
	cfg := &river.Config{
		Logger: o.Logger,
		// A worker killed mid-job leaves it "running"; another process
		// takes it over after this. Every worker is idempotent (sends by
		// invocationId, steps by status), so a takeover is safe.
		RescueStuckJobsAfter: o.JobTimeout + o.JobTimeout/2,
		JobTimeout:           o.JobTimeout,
		FetchPollInterval:    o.PollInterval,
	}
	if cfg.FetchPollInterval == 0 {
		cfg.FetchPollInterval = time.Second
	}
	if o.Workers != nil {
		n := o.Concurrency
		if n <= 0 {
			n = 16
		}
		cfg.Workers = o.Workers
		cfg.Queues = map[string]river.QueueConfig{
			QueueOutbound:    {MaxWorkers: n},
			QueueInbound:     {MaxWorkers: n},
			QueueResponses:   {MaxWorkers: n},
			QueueMaintenance: {MaxWorkers: 1},
		}
		if o.AuditVerifyEvery > 0 {
			cfg.PeriodicJobs = []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(o.AuditVerifyEvery),
				func() (river.JobArgs, *river.InsertOpts) { return AuditVerify{Source: "schedule"}, nil },
				&river.PeriodicJobOpts{ID: "audit.verify", RunOnStart: true})}
		}
	}
	return river.NewClient(riverpgxv5.New(pool), cfg)
}
