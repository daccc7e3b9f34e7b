// Package web is the portal's HTTP layer: one echo instance, one route
// table (routes.go), middleware, and handlers that bind, validate, call one
// service method and render a templ page.
package web

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/opensmd/portal/internal/admin"
	"github.com/opensmd/portal/internal/auth"
	"github.com/opensmd/portal/internal/fhirserve"
	"github.com/opensmd/portal/internal/jobs"
	"github.com/opensmd/portal/internal/mailbox"
	"github.com/opensmd/portal/internal/store"
)

// Deps are what the web layer needs from the rest of the process.
type Deps struct {
	Logger *slog.Logger
	Store  *store.Store
	Auth   *auth.Service
	// Secret is the master secret; cookie keys are derived from it.
	Secret []byte
	// Secure marks cookies Secure and sends HSTS (the portal or its proxy
	// serves HTTPS).
	Secure         bool
	TrustedProxies []netip.Prefix
	Registry       *prometheus.Registry
	// Ready reports whether the database answers and the schema is current.
	Ready func(context.Context) error
	Now   func() time.Time
	// Mailbox composes, lists and answers clinical messages.
	Mailbox *mailbox.Service
	// LoadDemo loads the demo network into an empty portal and starts its
	// SMD endpoint; nil when this portal cannot (SMD is configured).
	LoadDemo func(context.Context) error
	// Publisher and BaseURL serve the /fhir/ directory: nil publishes
	// no endpoints; an empty BaseURL takes the request's host.
	Publisher Publisher
	BaseURL   string
	// FHIRRemotes are other providers' FHIR directory base URLs that name
	// searches also ask; RemoteTimeout bounds each (default 3 s) and
	// RemoteClient makes the requests (default: no redirects followed).
	FHIRRemotes   []string
	RemoteTimeout time.Duration
	RemoteClient  *http.Client
	// Jobs queues audit.verify for "Verify now" (the insert-only client
	// is enough); nil hides the button.
	Jobs jobs.Inserter
}

// Handler holds the dependencies of every HTTP handler.
type Handler struct {
	log        *slog.Logger
	store      *store.Store
	auth       *auth.Service
	admin      *admin.Service
	master     []byte // seals organisation private keys (internal/provider)
	cookies    *sessions.CookieStore
	cookieName string
	secure     bool
	ready      func(context.Context) error
	now        func() time.Time
	metrics    *httpMetrics
	mail       *mailbox.Service
	loadDemo   func(context.Context) error
	// demoMu serialises demo loading: a double-clicked button loads once.
	demoMu    sync.Mutex
	publisher Publisher
	fhir      *fhirserve.Server
	baseURL   string
	// remotes, remoteTimeout, remoteHTTP: other directories searched.
	remotes       []remote
	remoteTimeout time.Duration
	remoteHTTP    *http.Client
	jobs          jobs.Inserter
}

// New builds the echo server with middleware and every route.
func New(d Deps) *echo.Echo {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Publisher == nil {
		d.Publisher = noPublisher{}
	}
	if d.RemoteTimeout <= 0 {
		d.RemoteTimeout = defaultRemoteTimeout
	}
	if d.RemoteClient == nil {
		d.RemoteClient = remoteClient()
	}
	h := &Handler{
		log:           d.Logger,
		store:         d.Store,
		auth:          d.Auth,
		admin:         admin.New(d.Store, d.Now),
		master:        d.Secret,
		cookies:       newCookieStore(d.Secret, d.Secure),
		cookieName:    cookieName(d.Secure),
		secure:        d.Secure,
		ready:         d.Ready,
		now:           d.Now,
		metrics:       newHTTPMetrics(d.Registry),
		mail:          d.Mailbox,
		loadDemo:      d.LoadDemo,
		publisher:     d.Publisher,
		fhir:          &fhirserve.Server{Store: d.Store, Publisher: d.Publisher},
		baseURL:       d.BaseURL,
		remotes:       newRemotes(d.FHIRRemotes),
		remoteTimeout: d.RemoteTimeout,
		remoteHTTP:    d.RemoteClient,
		jobs:          d.Jobs,
	}
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.IPExtractor = ipExtractor(d.TrustedProxies)
	e.HTTPErrorHandler = h.handleError
	h.middleware(e, d.Registry)
	h.Register(e)
	return e
}
