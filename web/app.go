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
	return h.render(c, http.StatusOK, pages.Dashboard(pages.DashboardProps{OrgName: org.Name, HPIO: org.HPIO, Role: u.Role, MFA: u.MFAEnabled()}))
}

func userRow(u store.User) pages.UserRow {
	return pages.UserRow{ID: u.ID, Name: u.DisplayName, Email: u.Email, Role: u.Role, MFA: u.MFAEnabled(), Active: u.Active}
}

func (h *Handler) listUsers(c echo.Context) error {
	users, err := h.store.OrgUsers(c.Request().Context(), currentOrg(c).ID)
	if err != nil {
		return err
	}
	rows := make([]pages.UserRow, len(users))
	for i, u := range users {
		rows[i] = userRow(u)
	}
	return h.render(c, http.StatusOK, pages.Users(pages.UsersProps{Users: rows}))
}

// showUser is scoped to the admin's organisation: another organisation's
// user is "not found", never "forbidden", so IDs reveal nothing.
func (h *Handler) showUser(c echo.Context) error {
	u, err := h.store.OrgUser(c.Request().Context(), currentOrg(c).ID, c.Param("id"))
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, pages.User(pages.UserProps{User: userRow(u), Created: u.CreatedAt}))
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
