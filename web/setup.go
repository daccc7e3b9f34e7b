package web

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/opensmd/portal/internal/auth"
	"github.com/opensmd/portal/views/pages"
)

func (h *Handler) setupAllowed(c echo.Context, token string) error {
	ok, err := h.auth.SetupTokenValid(c.Request().Context(), token)
	if err != nil {
		return err
	}
	if !ok {
		return h.render(c, http.StatusForbidden, pages.Error(pages.ErrorProps{Status: http.StatusForbidden,
			Title: "Set-up link not valid", Message: auth.ErrSetupClosed.Error()}))
	}
	return nil
}

func (h *Handler) showSetup(c echo.Context) error {
	token := c.QueryParam("token")
	if err := h.setupAllowed(c, token); err != nil || c.Response().Committed {
		return err
	}
	return h.render(c, http.StatusOK, pages.Setup(pages.SetupProps{Token: token}))
}

func (h *Handler) createSetup(c echo.Context) error {
	token := c.FormValue("token")
	if err := h.setupAllowed(c, token); err != nil || c.Response().Committed {
		return err
	}
	f := auth.SetupForm{
		OrgName: c.FormValue("org_name"), HPIO: c.FormValue("hpio"), AdminName: c.FormValue("admin_name"),
		Email: c.FormValue("email"), Password: c.FormValue("password"), Confirm: c.FormValue("confirm"),
	}
	if errs := f.Validate(); len(errs) > 0 {
		return h.render(c, http.StatusUnprocessableEntity, pages.Setup(pages.SetupProps{Token: token, OrgName: f.OrgName,
			HPIO: f.HPIO, AdminName: f.AdminName, Email: f.Email, Errors: errs}))
	}
	_, err := h.auth.Setup(c.Request().Context(), token, f, c.RealIP())
	if errors.Is(err, auth.ErrSetupClosed) {
		return h.render(c, http.StatusForbidden, pages.Error(pages.ErrorProps{Status: http.StatusForbidden,
			Title: "Set-up link not valid", Message: err.Error()}))
	}
	if err != nil {
		return err
	}
	if err := h.flash(c, "success", "Your organisation is set up. Sign in to turn on two-step sign-in."); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/login")
}

// loadDemoNetwork loads the demo network into an empty portal.
func (h *Handler) loadDemoNetwork(c echo.Context) error {
	if h.loadDemo == nil {
		return echo.ErrNotFound
	}
	h.demoMu.Lock()
	defer h.demoMu.Unlock()
	ctx := c.Request().Context()
	n, err := h.store.CountOrganisations(ctx)
	if err != nil {
		return err
	}
	if n == 0 {
		if err := h.loadDemo(ctx); err != nil {
			return err
		}
		h.log.InfoContext(ctx, "Demo network loaded")
	}
	if err := h.flash(c, "success", "The demo network is loaded. Sign in as gp@greenfield.demo (the GP), physio@bayside.demo (the physiotherapist) or ortho@harbour.demo (the specialist) with the password demo-password-not-for-real-use."); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/login")
}
