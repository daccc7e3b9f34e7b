package web

import (
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/opensmd/portal/internal/provider"
	"github.com/opensmd/portal/internal/store"
	"github.com/opensmd/portal/static"
	"github.com/opensmd/portal/views/chrome"
)

// csp allows only our own scripts and styles; data: images carry the TOTP
// QR code.
const csp = "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; " +
	"object-src 'none'; frame-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"

func (h *Handler) middleware(e *echo.Echo, reg *prometheus.Registry) {
	e.Use(middleware.RequestIDWithConfig(middleware.RequestIDConfig{Generator: func() string { return rand.Text()[:16] }}))
	e.Use(h.logRequests)
	e.Use(middleware.Recover())
	e.Use(h.metrics.middleware)
	e.Use(middleware.SecureWithConfig(middleware.SecureConfig{
		XSSProtection:         "0",
		ContentTypeNosniff:    "nosniff",
		XFrameOptions:         "DENY",
		HSTSMaxAge:            hstsAge(h.secure),
		ContentSecurityPolicy: csp,
		ReferrerPolicy:        "same-origin",
	}))
	e.Use(middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{Limit: "2M",
		Skipper: func(c echo.Context) bool { return composeUpload(c.Path()) }}))
	e.Use(middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{Limit: composeBodyLimit,
		Skipper: func(c echo.Context) bool { return !composeUpload(c.Path()) }}))
	e.Use(middleware.CSRFWithConfig(middleware.CSRFConfig{
		TokenLookup:    "form:_csrf,header:X-CSRF-Token",
		CookieName:     "_csrf",
		CookiePath:     "/",
		CookieHTTPOnly: true,
		CookieSecure:   h.secure,
		CookieSameSite: http.SameSiteStrictMode,
		ErrorHandler: func(err error, c echo.Context) error {
			return fmt.Errorf("%w: %w", errCSRF, err)
		},
		Skipper: func(c echo.Context) bool {
			p := c.Path()
			// The FHIR API is GET-only and cookie-less: no token to hand out.
			return p == "/healthz" || p == "/readyz" || p == "/metrics" || p == "/static/*" || strings.HasPrefix(p, "/fhir/")
		},
	}))
	e.Use(h.loadSession)
	e.Use(h.expiryBanner)
}

const ctxBanners ctxKey = "banners"

// expiryBanner warns administrators on every page when their
// organisation's active certificate expires within six weeks (urgent
// within one), and records the matching notification the first time.
// Only whole GET pages are checked: they are what shows a banner (htmx
// fragments and background polls are not).
func (h *Handler) expiryBanner(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		u, ok := currentUser(c)
		if !ok || u.Role != store.RoleAdmin || c.Request().Method != http.MethodGet || c.Request().Header.Get("HX-Request") == "true" {
			return next(c)
		}
		ctx := c.Request().Context()
		e, err := provider.OrgExpiry(ctx, h.store, currentOrg(c).ID, h.now())
		if err != nil {
			// A banner is not worth failing the page for.
			h.log.WarnContext(ctx, "Certificate expiry check failed", "error", err)
			return next(c)
		}
		if e != nil {
			c.Set(string(ctxBanners), []chrome.Banner{{Level: e.Level, Text: e.Text(),
				Link: "/admin/certificates", LinkText: "Manage certificates"}})
		}
		return next(c)
	}
}

func banners(c echo.Context) []chrome.Banner {
	b, _ := c.Get(string(ctxBanners)).([]chrome.Banner)
	return b
}

func hstsAge(secure bool) int {
	if secure {
		return 63072000
	}
	return 0
}

// ipExtractor trusts X-Forwarded-For only from configured proxies, so
// throttling and audit IPs cannot be spoofed by clients.
func ipExtractor(trusted []netip.Prefix) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range trusted {
		_, ipnet, err := net.ParseCIDR(p.String())
		if err == nil {
			opts = append(opts, echo.TrustIPRange(ipnet))
		}
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// logRequests writes one JSON line per request: never bodies, query strings
// or identities beyond the user ID.
func (h *Handler) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		status := c.Response().Status
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		attrs := []slog.Attr{
			slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)),
			slog.String("method", c.Request().Method),
			slog.String("route", c.Path()),
			slog.Int("status", status),
			slog.Duration("duration", time.Since(start)),
			slog.String("ip", c.RealIP()),
		}
		if u, ok := currentUser(c); ok {
			attrs = append(attrs, slog.String("user_id", u.ID))
		}
		h.log.LogAttrs(c.Request().Context(), level, "HTTP request", attrs...)
		return nil
	}
}

type httpMetrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	handler  http.Handler
}

func newHTTPMetrics(reg *prometheus.Registry) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portal_http_requests_total", Help: "HTTP requests by route, method and status code.",
		}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "portal_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "method"}),
	}
	reg.MustRegister(m.requests, m.latency)
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
	return m
}

// middleware labels by route template, never the raw path, to keep
// cardinality bounded and identifiers out of metrics.
func (m *httpMetrics) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		m.requests.WithLabelValues(route, c.Request().Method, strconv.Itoa(c.Response().Status)).Inc()
		m.latency.WithLabelValues(route, c.Request().Method).Observe(time.Since(start).Seconds())
		return nil
	}
}

func staticHandler() http.Handler { return static.Handler() }

func hasRole(roles []string, role string) bool { return slices.Contains(roles, role) }
