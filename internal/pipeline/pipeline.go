// Package pipeline is the SMD send/receive pipeline of a provider: the
// SOAP endpoints other providers call (SMD deliver, TRD, SMR, TRR, ELS) and
// the durable workers that seal and deliver outbound messages, open and
// route inbound ones and deliver transport responses.
//
// Every state change is written in one transaction with the job that acts
// on it, so an accepted message is never lost; duplicates are refused by
// the database (messages_dedupe_key), so one is never shown twice.
package pipeline

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"

	"github.com/opensmd/portal/internal/jobs"
	"github.com/opensmd/portal/internal/provider"
	"github.com/opensmd/portal/internal/secretbox"
	"github.com/opensmd/portal/internal/smd/soap"
	"github.com/opensmd/portal/internal/store"
)

// payloadPurpose names the secretbox key that seals message payloads at
// rest.
const payloadPurpose = "message payloads"

// Config is what a provider needs to run the pipeline.
type Config struct {
	Store  *store.Store
	Master []byte // the master secret: organisation keys and payloads
	// Jobs inserts follow-on jobs in the caller's transaction. The River
	// client needs Workers first, so it may instead be set with SetJobs.
	Jobs jobs.Inserter
	Keys *provider.KeyCache
	// Resolver finds receivers' endpoints; nil means the local directory,
	// then the organisations hosted here (at EndpointURL), then the ELS at
	// ELSURL when that is set.
	Resolver provider.Resolver
	// ELSURL is an ELS 2010 Lookup endpoint for targets the directory
	// does not know (called over the same mutual TLS).
	ELSURL string
	// TLS is the provider's client identity and trust for outbound calls
	// (deliver, TRD); nil only for the web role, which sends nothing.
	TLS *tls.Config
	// EndpointURL is this provider's SMD listener URL: the TRD endpoint
	// put in routeRecords, and the wsa:To inbound requests must carry.
	EndpointURL string
	// ProviderURI identifies this provider (ELS serviceProvider).
	ProviderURI string
	// MaxBytes bounds an inbound SOAP request (default 50 MB).
	MaxBytes int64
	// DefaultExpiry is how long an outbound message may take to deliver
	// (default 48 h).
	DefaultExpiry time.Duration
	// RetryMax caps the backoff between delivery attempts (default 10 min).
	RetryMax time.Duration
	// CallTimeout bounds one call to another provider (default 60 s); keep
	// it below the job timeout.
	CallTimeout time.Duration
	Logger      *slog.Logger
	Metrics     *Metrics
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Delivered, when set, is called inside the transaction that delivers
	// an opened inbound message to the portal inbox, with its payload; an
	// error rolls the delivery back and the job is retried. The portal's
	// mailbox records what the message is and answers it here.
	Delivered DeliveredFunc
}

// DeliveredFunc is Config.Delivered.
type DeliveredFunc func(ctx context.Context, tx *store.Store, m store.Message, payload []byte) error

// Pipeline runs the SMD pipeline of one provider.
type Pipeline struct {
	cfg      Config
	st       *store.Store
	payloads *secretbox.Sealer
	// ident is the SMD client identity and endpoint URL; a portal that
	// loads the demo network gets one while running (SetIdentity).
	ident atomic.Pointer[identity]
	log   *slog.Logger
	m     *Metrics
}

// New checks cfg and returns a Pipeline.
func New(cfg Config) (*Pipeline, error) {
	if cfg.Store == nil || cfg.Keys == nil {
		return nil, errors.New("pipeline: Store and Keys are required")
	}
	if len(cfg.Master) == 0 {
		return nil, errors.New("pipeline: no master secret")
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = 50 << 20
	}
	if cfg.DefaultExpiry <= 0 {
		cfg.DefaultExpiry = 48 * time.Hour
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = 60 * time.Second
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = 10 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	sealer, err := secretbox.NewSealer(secretbox.DeriveKey(cfg.Master, payloadPurpose))
	if err != nil {
		return nil, err
	}
	p := &Pipeline{cfg: cfg, st: cfg.Store, payloads: sealer, log: cfg.Logger, m: cfg.Metrics}
	p.SetIdentity(cfg.TLS, cfg.EndpointURL)
	if p.cfg.Resolver == nil {
		chain := provider.Chain{provider.DirectoryResolver{Store: cfg.Store}, hostedResolver{p}}
		if c := p.client(); cfg.ELSURL != "" && c != nil {
			chain = append(chain, provider.ELSResolver{Client: c, URL: cfg.ELSURL})
		}
		p.cfg.Resolver = chain
	}
	return p, nil
}

// identity is who this provider is when it calls others.
type identity struct {
	client      *soap.Client // nil: no TLS client identity (web-only process)
	endpointURL string
}

// SetIdentity sets the TLS client identity (nil: none) and the SMD
// endpoint URL of this provider. Set before the SMD listener is built: its
// handler checks wsa:To against the URL of the time.
func (p *Pipeline) SetIdentity(tc *tls.Config, endpointURL string) {
	id := &identity{endpointURL: endpointURL}
	if tc != nil {
		id.client = &soap.Client{HTTPClient: newHTTPClient(tc, p.cfg.CallTimeout), MaxResponseBytes: 1 << 20}
	}
	p.ident.Store(id)
}

// ReloadKeys makes the next use of organisation keys and trust anchors
// read them from the store (after this process added some).
func (p *Pipeline) ReloadKeys() { p.cfg.Keys.Reset() }

func (p *Pipeline) client() *soap.Client { return p.ident.Load().client }
func (p *Pipeline) endpointURL() string  { return p.ident.Load().endpointURL }

// newHTTPClient is the mutual-TLS client for provider-to-provider calls:
// connections are kept alive and reused, and every call has a deadline.
func newHTTPClient(tc *tls.Config, timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			TLSClientConfig:     tc.Clone(),
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout: 10 * time.Second,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     90 * time.Second,
			ForceAttemptHTTP2:   true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// ClientTLS is the TLS configuration of outbound provider calls: the
// provider certificate as client identity, servers checked against the
// trust anchors, TLS 1.2 or later.
func ClientTLS(cert tls.Certificate, anchors *x509.CertPool) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: anchors, MinVersion: tls.VersionTLS12}
}

// SetJobs sets the job inserter (the River client built with Workers).
// Call it before serving.
func (p *Pipeline) SetJobs(j jobs.Inserter) { p.cfg.Jobs = j }

// SetDelivered sets Config.Delivered (the mailbox is built after the
// pipeline it submits to). Call it before the workers start.
func (p *Pipeline) SetDelivered(f DeliveredFunc) { p.cfg.Delivered = f }

// Workers registers every pipeline worker: the one place River learns
// what it can run.
func (p *Pipeline) Workers() *river.Workers {
	w := river.NewWorkers()
	river.AddWorker(w, &sendWorker{p: p})
	river.AddWorker(w, &receiveWorker{p: p})
	river.AddWorker(w, &respondWorker{p: p})
	return w
}

func (p *Pipeline) now() time.Time { return p.cfg.Now() }

// sealPayload encrypts a message payload for storage, bound to its row.
func (p *Pipeline) sealPayload(messageID string, b []byte) []byte {
	return p.payloads.Seal(b, []byte("messages/"+messageID))
}

// OpenPayload decrypts a stored message payload.
func (p *Pipeline) OpenPayload(m store.Message) ([]byte, error) {
	if m.PayloadEnc == nil {
		return nil, errors.New("message has no stored payload")
	}
	return p.payloads.Open(m.PayloadEnc, []byte("messages/"+m.ID))
}

// keyring returns the current hosted-organisation keys.
func (p *Pipeline) keyring(ctx context.Context) (*provider.Keyring, error) {
	return p.cfg.Keys.Get(ctx)
}
