package loadnet

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opensmd/portal/internal/config"
	"github.com/opensmd/portal/internal/jobs"
	"github.com/opensmd/portal/internal/pgembed"
	"github.com/opensmd/portal/internal/pipeline"
	"github.com/opensmd/portal/internal/provider"
	"github.com/opensmd/portal/internal/store"
)

// database is this process's connection to a provider's database and the
// insert-only pipeline that submits messages through it.
type database struct {
	pool *pgxpool.Pool
	st   *store.Store
	pipe *pipeline.Pipeline
}

// DatabaseURL is a connection string for the provider's embedded
// PostgreSQL (unix socket only), which must be running.
func (p *Provider) DatabaseURL() (string, error) {
	r, ok, err := pgembed.FindRunning(filepath.Join(p.DataDir, "pg"), "")
	if err == nil && !ok {
		err = fmt.Errorf("PostgreSQL of provider %s is not running", p.Name)
	}
	return r.URL, err
}

// conn opens the database connection on first use. The pipeline is
// configured from the provider's own settings, as `portal send` would be.
func (p *Provider) conn(ctx context.Context) (*database, error) {
	p.dbMu.Lock()
	defer p.dbMu.Unlock()
	if p.db != nil {
		return p.db, nil
	}
	cfg, err := config.Load(getenv(p.environ()))
	if err != nil {
		return nil, err
	}
	secret, err := cfg.Secret()
	if err != nil {
		return nil, err
	}
	url, err := p.DatabaseURL()
	if err != nil {
		return nil, err
	}
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	pcfg.MaxConns = 8
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err == nil {
		err = pool.Ping(ctx)
	}
	if err != nil {
		if pool != nil {
			pool.Close()
		}
		return nil, fmt.Errorf("connect to the database of provider %s: %w", p.Name, err)
	}
	st := store.New(pool)
	pipe, err := pipeline.New(pipeline.Config{
		Store: st, Master: secret, Keys: provider.NewKeyCache(st, secret, 0),
		EndpointURL: cfg.SMD.URL, ProviderURI: cfg.SMD.ProviderURI, MaxBytes: cfg.SMD.MaxBytes,
		DefaultExpiry: cfg.SMD.Expiry, RetryMax: cfg.SMD.RetryMax,
	})
	if err == nil {
		var client *jobs.Client
		if client, err = jobs.New(pool, jobs.Options{}); err == nil {
			pipe.SetJobs(client) // insert-only: the provider's workers do the work
		}
	}
	if err != nil {
		pool.Close()
		return nil, err
	}
	p.db = &database{pool: pool, st: st, pipe: pipe}
	return p.db, nil
}

func (p *Provider) closeDB() {
	p.dbMu.Lock()
	defer p.dbMu.Unlock()
	if p.db != nil {
		p.db.pool.Close()
		p.db = nil
	}
}

// getenv looks names up in a KEY=VALUE list; the last setting wins.
func getenv(env []string) func(string) string {
	return func(name string) string {
		v := ""
		for _, kv := range env {
			if k, val, ok := strings.Cut(kv, "="); ok && k == name {
				v = val
			}
		}
		return v
	}
}

// Store is the provider's store, for assertions beyond Messages.
func (p *Provider) Store(ctx context.Context) (*store.Store, error) {
	db, err := p.conn(ctx)
	if err != nil {
		return nil, err
	}
	return db.st, nil
}

// Send queues o at the provider exactly as `portal send` does: validated,
// stored as a queued outbound message and its delivery job enqueued in
// one transaction. The provider's workers deliver it.
func (p *Provider) Send(ctx context.Context, o pipeline.Outbound) (store.Message, error) {
	db, err := p.conn(ctx)
	if err != nil {
		return store.Message{}, err
	}
	return db.pipe.Submit(ctx, o)
}

// Message is a message with its status timeline (oldest event first).
type Message struct {
	store.Message
	Timeline []store.MessageEvent
}

// Messages lists every message, sent and received, of the organisation
// orgURI hosted here, newest first, without payloads.
func (p *Provider) Messages(ctx context.Context, orgURI string) ([]Message, error) {
	db, err := p.conn(ctx)
	if err != nil {
		return nil, err
	}
	hpio, err := provider.HPIOFromURI(orgURI)
	if err != nil {
		return nil, err
	}
	org, err := db.st.OrganisationByHPIO(ctx, hpio)
	if err != nil {
		return nil, fmt.Errorf("organisation %s at provider %s: %w", orgURI, p.Name, err)
	}
	msgs, events, err := db.st.OrgMessages(ctx, org.ID, math.MaxInt32)
	if err != nil {
		return nil, err
	}
	out := make([]Message, len(msgs))
	for i, m := range msgs {
		out[i] = Message{Message: m, Timeline: events[m.ID]}
	}
	return out, nil
}

// Responses lists the transport responses of message id, oldest first.
func (p *Provider) Responses(ctx context.Context, messageID string) ([]store.TransportResponse, error) {
	db, err := p.conn(ctx)
	if err != nil {
		return nil, err
	}
	return db.st.MessageResponses(ctx, messageID)
}

// PendingJobs is the number of pipeline jobs waiting, scheduled or
// running at the provider: zero means it has nothing left to do.
func (p *Provider) PendingJobs(ctx context.Context) (int, error) {
	db, err := p.conn(ctx)
	if err != nil {
		return 0, err
	}
	counts, err := db.st.JobCounts(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, c := range counts {
		n += c
	}
	return n, nil
}
