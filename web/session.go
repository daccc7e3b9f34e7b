package web

import (
	"errors"
	"net/http"
	"time"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"github.com/opensmd/portal/internal/auth"
	"github.com/opensmd/portal/internal/secretbox"
	"github.com/opensmd/portal/internal/store"
	"github.com/opensmd/portal/views/chrome"
)

// pendingTTL bounds the gap between the password and the second factor.
const pendingTTL = 5 * time.Minute

// Cookie values. The cookie is authenticated and encrypted; it holds only a
// session token (the server-side row decides validity), the half-signed-in
// state and flash messages.
const (
	keySessionToken = "sid"
	keyPendingUser  = "pending_uid"
	keyPendingUntil = "pending_until"
)

func newCookieStore(secret []byte, secure bool) *sessions.CookieStore {
	cs := sessions.NewCookieStore(secretbox.DeriveKey(secret, "cookie hash"), secretbox.DeriveKey(secret, "cookie block"))
	cs.Options = &sessions.Options{
		Path:     "/",
		HttpOnly: true,
		Secure:   secure,
		SameSite: http.SameSiteStrictMode,
		MaxAge:   0, // a browser-session cookie; the server enforces timeouts
	}
	cs.MaxAge(0)
	return cs
}

// cookieName uses the __Host- prefix over HTTPS, which browsers only accept
// for Secure, host-only, Path=/ cookies.
func cookieName(secure bool) string {
	if secure {
		return "__Host-portal"
	}
	return "portal"
}

func (h *Handler) cookie(c echo.Context) *sessions.Session {
	// A cookie that fails authentication decodes to a fresh session.
	s, _ := h.cookies.Get(c.Request(), h.cookieName)
	return s
}

func (h *Handler) saveCookie(c echo.Context, s *sessions.Session) error {
	return s.Save(c.Request(), c.Response())
}

type ctxKey string

const (
	ctxUser    ctxKey = "user"
	ctxOrg     ctxKey = "org"
	ctxPending ctxKey = "pending"
)

// loadSession resolves the cookie into the signed-in user (or the pending,
// half-signed-in user) before any handler runs.
func (h *Handler) loadSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if p := c.Path(); p == "/healthz" || p == "/readyz" || p == "/metrics" || p == "/static/*" {
			return next(c)
		}
		s := h.cookie(c)
		ctx := c.Request().Context()
		if token, ok := s.Values[keySessionToken].(string); ok && token != "" {
			_, u, err := h.auth.Resume(ctx, token, !isPoll(c))
			switch {
			case errors.Is(err, auth.ErrSessionExpired):
				delete(s.Values, keySessionToken)
				s.AddFlash("info|" + auth.ErrSessionExpired.Error())
				if err := h.saveCookie(c, s); err != nil {
					return err
				}
			case err != nil:
				return err
			default:
				org, err := h.store.Organisation(ctx, u.OrganisationID)
				if err != nil {
					return err
				}
				c.Set(string(ctxUser), u)
				c.Set(string(ctxOrg), org)
			}
		}
		if uid, ok := s.Values[keyPendingUser].(string); ok && uid != "" {
			until, _ := s.Values[keyPendingUntil].(int64)
			if h.now().Unix() < until {
				u, err := h.store.UserByID(ctx, uid)
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
				if err == nil && u.Active {
					c.Set(string(ctxPending), u)
				}
			}
		}
		return next(c)
	}
}

// guard enforces a route's access level.
func (h *Handler) guard(a Access) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			switch a {
			case Public:
				return next(c)
			case Pending:
				if _, ok := currentUser(c); ok {
					return next(c)
				}
				if _, ok := pendingUser(c); ok {
					return next(c)
				}
				return h.toLogin(c)
			}
			u, ok := currentUser(c)
			if !ok {
				return h.toLogin(c)
			}
			if !u.MFAEnabled() && auth.NeedsMFA(u, currentOrg(c)) {
				// The organisation began requiring TOTP, or an administrator
				// reset this user's: enrol before anything else.
				return c.Redirect(http.StatusSeeOther, "/account/mfa/enrol")
			}
			if !hasRole(allowedRoles(a), u.Role) || (a == OperatorOnly && !currentOrg(c).Operator) {
				return echo.NewHTTPError(http.StatusForbidden)
			}
			return next(c)
		}
	}
}

// isPoll reports a page's background refresh (components.LiveBody, the
// sent timeline): it does not count as the user's activity. Forging the
// header only shortens one's own session.
func isPoll(c echo.Context) bool { return c.Request().Header.Get("X-Poll") == "1" }

// toLogin sends a browser to the sign-in page; other clients get 401. An
// htmx request is told to load the sign-in page as a whole page, not to
// swap it into the part it was refreshing.
func (h *Handler) toLogin(c echo.Context) error {
	if c.Request().Header.Get("HX-Request") == "true" {
		c.Response().Header().Set("HX-Redirect", "/login")
		return echo.NewHTTPError(http.StatusUnauthorized)
	}
	if c.Request().Method == http.MethodGet {
		return c.Redirect(http.StatusSeeOther, "/login")
	}
	return echo.NewHTTPError(http.StatusUnauthorized)
}

func currentUser(c echo.Context) (store.User, bool) {
	u, ok := c.Get(string(ctxUser)).(store.User)
	return u, ok
}

func currentOrg(c echo.Context) store.Organisation {
	o, _ := c.Get(string(ctxOrg)).(store.Organisation)
	return o
}

func pendingUser(c echo.Context) (store.User, bool) {
	u, ok := c.Get(string(ctxPending)).(store.User)
	return u, ok
}

// flash queues a message for the next page.
func (h *Handler) flash(c echo.Context, kind, text string) error {
	s := h.cookie(c)
	s.AddFlash(kind + "|" + text)
	return h.saveCookie(c, s)
}

// chromeFor gathers the layout values of this request, consuming flashes.
func (h *Handler) chromeFor(c echo.Context) chrome.Chrome {
	ch := chrome.Chrome{
		RequestID: c.Response().Header().Get(echo.HeaderXRequestID),
		Path:      c.Request().URL.Path,
	}
	if tok, ok := c.Get("csrf").(string); ok {
		ch.CSRFToken = tok
	}
	if u, ok := currentUser(c); ok {
		ch.UserName, ch.Role, ch.OrgName = u.DisplayName, u.Role, currentOrg(c).Name
		ch.Unread = h.unread(c)
	}
	s := h.cookie(c)
	if flashes := s.Flashes(); len(flashes) > 0 {
		for _, f := range flashes {
			if str, ok := f.(string); ok {
				kind, text := splitFlash(str)
				ch.Flashes = append(ch.Flashes, chrome.Flash{Kind: kind, Text: text})
			}
		}
		if err := h.saveCookie(c, s); err != nil {
			// The page still renders; the flashes may show once more.
			h.log.WarnContext(c.Request().Context(), "Could not clear flash messages", "error", err)
		}
	}
	return ch
}

func splitFlash(s string) (string, string) {
	for i := 0; i < len(s); i++ {
		if s[i] == '|' {
			return s[:i], s[i+1:]
		}
	}
	return "info", s
}
