package web

import (
	"net/http"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/opensmd/portal/views/pages"
)

func (h *Handler) showDashboard(c echo.Context) error {
	u, _ := currentUser(c)
	org := currentOrg(c)
	return h.render(c, http.StatusOK, pages.Dashboard(pages.DashboardProps{OrgName: org.Name, HPIO: org.HPIO, Role: u.Role, MFA: u.MFAEnabled()}))
}

func (h *Handler) listAudit(c echo.Context) error {
	events, err := h.store.OrgAuditEvents(c.Request().Context(), currentOrg(c).ID, 200)
	if err != nil {
		return err
	}
	rows := make([]pages.AuditRow, len(events))
	for i, e := range events {
		rows[i] = pages.AuditRow{At: e.At, Action: e.Action, User: e.UserName, IP: e.IP, Detail: formatDetail(e.Detail)}
	}
	return h.render(c, http.StatusOK, pages.Audit(rows))
}

func formatDetail(d map[string]string) string {
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + d[k]
	}
	return strings.Join(parts, "; ")
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
