package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/opensmd/portal/internal/store"
	"github.com/opensmd/portal/views/pages"
)

func (h *Handler) showDashboard(c echo.Context) error {
	u, _ := currentUser(c)
	org := currentOrg(c)
	p := pages.DashboardProps{OrgName: org.Name, HPIO: org.HPIO, Role: u.Role, MFA: u.MFAEnabled()}
	if h.mail != nil {
		var err error
		if p.SentFailed, p.SentOverdue, err = h.mail.SentAttention(c.Request().Context(), org.ID); err != nil {
			return err
		}
		if p.RepliesFailed, err = h.store.CountReplyFailed(c.Request().Context(), org.ID); err != nil {
			return err
		}
	}
	if u.Role == store.RoleAdmin {
		var err error
		if p.Notices, err = h.notices(c.Request().Context(), org.ID); err != nil {
			return err
		}
	}
	return h.render(c, http.StatusOK, pages.Dashboard(p))
}

func (h *Handler) healthz(c echo.Context) error {
	return c.String(http.StatusOK, "ok\n")
}

// readyz answers 200 only when the database answers and its schema is
// current, so a load balancer never routes to a half-started process.
func (h *Handler) readyz(c echo.Context) error {
	if err := h.ready(c.Request().Context()); err != nil {
		h.log.WarnContext(c.Request().Context(), "Not ready", "error", err)
		return c.String(http.StatusServiceUnavailable, "not ready\n")
	}
	return c.String(http.StatusOK, "ready\n")
}
