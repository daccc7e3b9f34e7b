// Package web is the portal's HTTP layer: one echo instance, one route
// table (routes.go), middleware, and handlers that bind, validate, call one
// service method and render a templ page.
package web

import (
	"context"
	"log/slog"
	"net/netip"
	"time"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/opensmd/portal/internal/auth"
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
}

// Handler holds the dependencies of every HTTP handler.
type Handler struct {
	log        *slog.Logger
	store      *store.Store
	auth       *auth.Service
	master     []byte // seals organisation private keys (internal/provider)
	cookies    *sessions.CookieStore
	cookieName string
	secure     bool
	ready      func(context.Context) error
	now        func() time.Time
	metrics    *httpMetrics
}

// New builds the echo server with middleware and every route.
func New(d Deps) *echo.Echo {
	if d.Now == nil {
		d.Now = time.Now
	}
	h := &Handler{
		log:        d.Logger,
		store:      d.Store,
		auth:       d.Auth,
		master:     d.Secret,
		cookies:    newCookieStore(d.Secret, d.Secure),
		cookieName: cookieName(d.Secure),
		secure:     d.Secure,
		ready:      d.Ready,
		now:        d.Now,
		metrics:    newHTTPMetrics(d.Registry),
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
