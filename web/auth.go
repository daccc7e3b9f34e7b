package web

import (
	"errors"
	"net/http"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"github.com/opensmd/portal/internal/auth"
	"github.com/opensmd/portal/internal/store"
	"github.com/opensmd/portal/views/pages"
)

func (h *Handler) showHome(c echo.Context) error {
	if _, ok := currentUser(c); ok {
		return c.Redirect(http.StatusSeeOther, "/dashboard")
	}
	n, err := h.store.CountOrganisations(c.Request().Context())
	if err != nil {
		return err
	}
	if n == 0 {
		return h.render(c, http.StatusOK, pages.SetupPending(pages.SetupPendingProps{DemoAvailable: h.loadDemo != nil}))
	}
	return c.Redirect(http.StatusSeeOther, "/login")
}

func (h *Handler) showLogin(c echo.Context) error {
	if _, ok := currentUser(c); ok {
		return c.Redirect(http.StatusSeeOther, "/dashboard")
	}
	return h.render(c, http.StatusOK, pages.Login(pages.LoginProps{}))
}

func (h *Handler) login(c echo.Context) error {
	email, password := c.FormValue("email"), c.FormValue("password")
	u, err := h.auth.Authenticate(c.Request().Context(), email, password, c.RealIP())
	if err != nil {
		return h.loginFailed(c, email, err)
	}
	org, err := h.store.Organisation(c.Request().Context(), u.OrganisationID)
	if err != nil {
		return err
	}
	if !auth.NeedsMFA(u, org) {
		return h.startSession(c, u, "/dashboard")
	}
	return h.startPending(c, u)
}

// startPending leaves u half-signed-in (password proven, second factor
// outstanding) and sends them to the TOTP step, or to enrolment.
func (h *Handler) startPending(c echo.Context, u store.User) error {
	s := h.cookie(c)
	if err := h.revokeCookieSession(c, s); err != nil {
		return err
	}
	delete(s.Values, keySessionToken)
	s.Values[keyPendingUser] = u.ID
	s.Values[keyPendingUntil] = h.now().Add(pendingTTL).Unix()
	if err := h.saveCookie(c, s); err != nil {
		return err
	}
	if u.MFAEnabled() {
		return c.Redirect(http.StatusSeeOther, "/login/totp")
	}
	return c.Redirect(http.StatusSeeOther, "/account/mfa/enrol")
}

// loginFailed re-renders the form with a message people can act on.
func (h *Handler) loginFailed(c echo.Context, email string, err error) error {
	var locked *auth.LockedError
	switch {
	case errors.Is(err, auth.ErrInvalidCredentials):
		return h.render(c, http.StatusUnauthorized, pages.Login(pages.LoginProps{Email: email, Error: err.Error()}))
	case errors.Is(err, auth.ErrThrottled), errors.As(err, &locked):
		return h.render(c, http.StatusTooManyRequests, pages.Login(pages.LoginProps{Email: email, Error: err.Error()}))
	}
	return err
}

// startSession signs u in and redirects to next.
func (h *Handler) startSession(c echo.Context, u store.User, next string) error {
	if err := h.issueSession(c, u); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, next)
}

// issueSession rotates the session: a new server-side session and token on
// every sign-in, the previous session of this browser revoked and the
// half-signed-in state dropped.
func (h *Handler) issueSession(c echo.Context, u store.User) error {
	ctx := c.Request().Context()
	s := h.cookie(c)
	if err := h.revokeCookieSession(c, s); err != nil {
		return err
	}
	token, err := h.auth.StartSession(ctx, u, c.RealIP(), c.Request().UserAgent())
	if err != nil {
		return err
	}
	s.Values = map[any]any{keySessionToken: token}
	return h.saveCookie(c, s)
}

// revokeCookieSession ends the server-side session the cookie names, if any,
// so a token dropped from the cookie cannot be replayed.
func (h *Handler) revokeCookieSession(c echo.Context, s *sessions.Session) error {
	token, ok := s.Values[keySessionToken].(string)
	if !ok || token == "" {
		return nil
	}
	u, _ := currentUser(c)
	return h.auth.EndSession(c.Request().Context(), token, u, c.RealIP())
}

func (h *Handler) showTOTP(c echo.Context) error {
	return h.render(c, http.StatusOK, pages.TOTP(pages.TOTPProps{}))
}

func (h *Handler) verifyTOTP(c echo.Context) error {
	u, ok := pendingUser(c)
	if !ok {
		return c.Redirect(http.StatusSeeOther, "/login")
	}
	err := h.auth.VerifyTOTP(c.Request().Context(), u, c.FormValue("code"), c.RealIP())
	var locked *auth.LockedError
	switch {
	case err == nil:
		return h.startSession(c, u, "/dashboard")
	case errors.Is(err, auth.ErrBadCode):
		return h.render(c, http.StatusUnauthorized, pages.TOTP(pages.TOTPProps{Error: err.Error()}))
	case errors.As(err, &locked):
		return h.render(c, http.StatusTooManyRequests, pages.TOTP(pages.TOTPProps{Error: err.Error()}))
	}
	return err
}

func (h *Handler) logout(c echo.Context) error {
	s := h.cookie(c)
	if err := h.revokeCookieSession(c, s); err != nil {
		return err
	}
	s.Values = map[any]any{}
	s.AddFlash("success|You have signed out.")
	if err := h.saveCookie(c, s); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/login")
}

// enrolee is the user enrolling: the signed-in user, or the half-signed-in
// administrator who must enrol before a first session.
func enrolee(c echo.Context) (store.User, bool) {
	if u, ok := currentUser(c); ok {
		return u, false
	}
	u, _ := pendingUser(c)
	return u, true
}

func (h *Handler) showEnrol(c echo.Context) error {
	u, pending := enrolee(c)
	if u.MFAEnabled() {
		if pending {
			return c.Redirect(http.StatusSeeOther, "/login/totp")
		}
		return c.Redirect(http.StatusSeeOther, "/account/mfa")
	}
	e, err := h.auth.BeginEnrolment(c.Request().Context(), u)
	if err != nil {
		return err
	}
	required := pending || auth.NeedsMFA(u, currentOrg(c))
	return h.render(c, http.StatusOK, pages.Enrol(pages.EnrolProps{QRImage: e.QRImage, Secret: e.Secret, Required: required}))
}

func (h *Handler) confirmEnrol(c echo.Context) error {
	u, pending := enrolee(c)
	ctx := c.Request().Context()
	fresh, err := h.store.UserByID(ctx, u.ID) // the pending secret was written after the session loaded
	if err != nil {
		return err
	}
	if fresh.MFAEnabled() {
		// Confirming is only for a pending secret; an enabled one is never
		// re-confirmed (that would let a just-used code mint recovery codes).
		return c.Redirect(http.StatusSeeOther, "/account/mfa")
	}
	codes, err := h.auth.ConfirmEnrolment(ctx, fresh, c.FormValue("code"), c.RealIP())
	if errors.Is(err, auth.ErrBadCode) {
		return h.reshowEnrol(c, fresh, pending)
	}
	if err != nil {
		return err
	}
	if pending {
		if err := h.issueSession(c, fresh); err != nil {
			return err
		}
	}
	return h.render(c, http.StatusOK, pages.RecoveryCodes(pages.RecoveryCodesProps{Codes: codes}))
}

// reshowEnrol shows the same secret again after a wrong code, so the user
// need not rescan.
func (h *Handler) reshowEnrol(c echo.Context, u store.User, pending bool) error {
	secret, ok := h.auth.PendingTOTPSecret(u)
	if !ok {
		return c.Redirect(http.StatusSeeOther, "/account/mfa/enrol")
	}
	e, err := auth.EnrolmentFor(secret, u.Email)
	if err != nil {
		return err
	}
	return h.render(c, http.StatusUnprocessableEntity, pages.Enrol(pages.EnrolProps{QRImage: e.QRImage, Secret: e.Secret,
		Required: pending, Error: auth.ErrBadCode.Error()}))
}

func (h *Handler) showMFA(c echo.Context) error {
	u, _ := currentUser(c)
	return h.render(c, http.StatusOK, pages.MFAStatus(pages.MFAStatusProps{Enabled: u.MFAEnabled()}))
}
