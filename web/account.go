package web

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/opensmd/portal/internal/admin"
	"github.com/opensmd/portal/internal/auth"
	"github.com/opensmd/portal/internal/store"
	"github.com/opensmd/portal/views/pages"
)

// currentSessionID is the stored ID of this browser's session, "" if none.
func (h *Handler) currentSessionID(c echo.Context) string {
	token, ok := h.cookie(c).Values[keySessionToken].(string)
	if !ok || token == "" {
		return ""
	}
	return auth.SessionID(token)
}

func (h *Handler) sessionRows(c echo.Context, sessions []store.SessionInfo) []pages.SessionRow {
	current := h.currentSessionID(c)
	rows := make([]pages.SessionRow, len(sessions))
	for i, s := range sessions {
		rows[i] = pages.SessionRow{Ref: s.Ref, Created: s.CreatedAt, LastSeen: s.LastSeenAt, IP: s.IP, UserAgent: s.UserAgent,
			Current: s.ID == current}
	}
	return rows
}

func (h *Handler) showAccountSessions(c echo.Context) error {
	u, _ := currentUser(c)
	sessions, err := h.store.UserSessions(c.Request().Context(), u.OrganisationID, u.ID, h.now())
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, pages.AccountSessions(pages.AccountSessionsProps{Sessions: h.sessionRows(c, sessions)}))
}

func (h *Handler) revokeAccountSession(c echo.Context) error {
	u, _ := currentUser(c)
	a := admin.Actor{UserID: u.ID, IP: c.RealIP()}
	if err := h.admin.RevokeSession(c.Request().Context(), a, u.OrganisationID, u.ID, c.Param("sid")); err != nil {
		return err
	}
	return h.flashTo(c, "/account/sessions", "success", "That session is signed out.")
}

func (h *Handler) logoutOtherSessions(c echo.Context) error {
	u, _ := currentUser(c)
	a := admin.Actor{UserID: u.ID, IP: c.RealIP()}
	if _, err := h.admin.RevokeSessions(c.Request().Context(), a, u.OrganisationID, u.ID, h.currentSessionID(c)); err != nil {
		return err
	}
	return h.flashTo(c, "/account/sessions", "success", "Every other session is signed out.")
}

// openInvite loads the invitation in the URL, rendering the reason when it
// can no longer be used.
func (h *Handler) openInvite(c echo.Context) (store.Invite, store.Organisation, bool, error) {
	ctx := c.Request().Context()
	inv, err := h.admin.OpenInvite(ctx, c.Param("token"))
	if err != nil {
		return inv, store.Organisation{}, false, h.inviteProblem(c, err)
	}
	org, err := h.store.Organisation(ctx, inv.OrganisationID)
	return inv, org, err == nil, err
}

// inviteProblem says plainly why an invitation link does not work (410:
// the link is gone for good), or passes on other errors.
func (h *Handler) inviteProblem(c echo.Context, err error) error {
	for _, e := range []error{admin.ErrInviteUsed, admin.ErrInviteExpired, admin.ErrInviteCancelled, admin.ErrInviteUnknown} {
		if errors.Is(err, e) {
			return h.render(c, http.StatusGone, pages.Error(pages.ErrorProps{Status: http.StatusGone,
				Title: "Invitation link not valid", Message: e.Error()}))
		}
	}
	return err
}

func (h *Handler) showAcceptInvite(c echo.Context) error {
	inv, org, ok, err := h.openInvite(c)
	if !ok {
		return err
	}
	return h.render(c, http.StatusOK, pages.InviteAccept(pages.InviteAcceptProps{Token: c.Param("token"), OrgName: org.Name,
		Email: inv.Email, Role: admin.RoleLabel(inv.Role), Name: inv.DisplayName}))
}

// acceptInvite creates the account, then signs the person in with a fresh
// session, or half-signs them in for TOTP enrolment when their role or
// organisation requires it.
func (h *Handler) acceptInvite(c echo.Context) error {
	inv, org, ok, err := h.openInvite(c)
	if !ok {
		return err
	}
	f := admin.AcceptForm{Name: c.FormValue("name"), Password: c.FormValue("password"), Confirm: c.FormValue("confirm")}
	if errs := f.Validate(inv, org.Name); len(errs) > 0 {
		return h.render(c, http.StatusUnprocessableEntity, pages.InviteAccept(pages.InviteAcceptProps{Token: c.Param("token"),
			OrgName: org.Name, Email: inv.Email, Role: admin.RoleLabel(inv.Role), Name: f.Name, Errors: errs}))
	}
	u, err := h.admin.AcceptInvite(c.Request().Context(), c.Param("token"), f, c.RealIP())
	if err != nil {
		return h.inviteProblem(c, err)
	}
	if auth.NeedsMFA(u, org) {
		return h.startPending(c, u)
	}
	if err := h.issueSession(c, u); err != nil {
		return err
	}
	return h.flashTo(c, "/dashboard", "success", "Welcome, "+u.DisplayName+". Your account is ready.")
}
