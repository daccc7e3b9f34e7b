package web

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/opensmd/portal/internal/admin"
	"github.com/opensmd/portal/internal/store"
	"github.com/opensmd/portal/views/pages"
)

func accountRow(a store.UserAccount) pages.AccountRow {
	return pages.AccountRow{ID: a.ID, Name: a.DisplayName, Email: a.Email, Role: a.Role, RoleLabel: admin.RoleLabel(a.Role),
		MFA: a.MFAEnabled(), Active: a.Active, LastSignIn: a.LastSignInAt}
}

func roleOptions() []pages.RoleOption {
	out := make([]pages.RoleOption, len(admin.Roles))
	for i, r := range admin.Roles {
		out[i] = pages.RoleOption{Value: r, Label: admin.RoleLabel(r)}
	}
	return out
}

// actor is the signed-in administrator, for the audit trail.
func actor(c echo.Context) admin.Actor {
	u, _ := currentUser(c)
	return admin.Actor{UserID: u.ID, IP: c.RealIP()}
}

func (h *Handler) listUsers(c echo.Context) error {
	ctx := c.Request().Context()
	orgID := currentOrg(c).ID
	users, err := h.store.OrgUserAccounts(ctx, orgID)
	if err != nil {
		return err
	}
	invites, err := h.store.OrgInvites(ctx, orgID)
	if err != nil {
		return err
	}
	p := pages.AdminUsersProps{Users: make([]pages.AccountRow, len(users))}
	for i, u := range users {
		p.Users[i] = accountRow(u)
	}
	now := h.now()
	for _, inv := range invites {
		p.Invites = append(p.Invites, pages.InviteRow{ID: inv.ID, Name: inv.DisplayName, Email: inv.Email,
			RoleLabel: admin.RoleLabel(inv.Role), Expires: inv.ExpiresAt, Expired: inv.Status(now) == store.InviteExpired})
	}
	return h.render(c, http.StatusOK, pages.AdminUsers(p))
}

// showUser is scoped to the admin's organisation: another organisation's
// user is "not found", never "forbidden", so IDs reveal nothing.
func (h *Handler) showUser(c echo.Context) error {
	return h.renderUser(c, http.StatusOK, "")
}

func (h *Handler) renderUser(c echo.Context, status int, problem string) error {
	ctx := c.Request().Context()
	orgID := currentOrg(c).ID
	u, err := h.store.OrgUserAccount(ctx, orgID, c.Param("id"))
	if err != nil {
		return err
	}
	sessions, err := h.store.UserSessions(ctx, orgID, u.ID, h.now())
	if err != nil {
		return err
	}
	me, _ := currentUser(c)
	return h.render(c, status, pages.AdminUser(pages.AdminUserProps{User: accountRow(u), Created: u.CreatedAt, Self: me.ID == u.ID,
		Roles: roleOptions(), Sessions: h.sessionRows(c, sessions), Error: problem}))
}

func (h *Handler) showInvite(c echo.Context) error {
	return h.render(c, http.StatusOK, pages.InviteForm(pages.InviteFormProps{Role: store.RoleClinician, Roles: roleOptions()}))
}

func (h *Handler) createInvite(c echo.Context) error {
	f := admin.InviteForm{Email: c.FormValue("email"), Name: c.FormValue("name"), Role: c.FormValue("role")}
	token, inv, errs, err := h.admin.Invite(c.Request().Context(), actor(c), currentOrg(c).ID, f)
	if err != nil {
		return err
	}
	if len(errs) > 0 {
		return h.render(c, http.StatusUnprocessableEntity, pages.InviteForm(pages.InviteFormProps{Email: f.Email, Name: f.Name,
			Role: f.Role, Roles: roleOptions(), Errors: errs}))
	}
	return h.render(c, http.StatusOK, pages.InviteCreated(pages.InviteCreatedProps{Name: inv.DisplayName, Email: inv.Email,
		RoleLabel: admin.RoleLabel(inv.Role), Link: h.absoluteURL(c, admin.InviteLink(token)), Expires: inv.ExpiresAt}))
}

// absoluteURL makes path absolute on the host the administrator used.
func (h *Handler) absoluteURL(c echo.Context, path string) string {
	return c.Scheme() + "://" + c.Request().Host + path
}

func (h *Handler) cancelInvite(c echo.Context) error {
	inv, err := h.admin.CancelInvite(c.Request().Context(), actor(c), currentOrg(c).ID, c.Param("id"))
	if err != nil {
		return err
	}
	return h.flashTo(c, "/admin/users", "success", "The invitation for "+inv.Email+" is cancelled; its link no longer works.")
}

// flashTo queues a message and redirects to path.
func (h *Handler) flashTo(c echo.Context, path, kind, text string) error {
	if err := h.flash(c, kind, text); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, path)
}

// userAction runs an administration action on the user in the URL and
// returns to their page with a message; a refused action (the last
// administrator) re-renders the page with the reason.
func (h *Handler) userAction(c echo.Context, do func(orgID, id string) (string, error)) error {
	id := c.Param("id")
	msg, err := do(currentOrg(c).ID, id)
	if errors.Is(err, admin.ErrLastAdmin) || errors.Is(err, admin.ErrBadRole) {
		return h.renderUser(c, http.StatusConflict, err.Error())
	}
	if err != nil {
		return err
	}
	return h.flashTo(c, "/admin/users/"+id, "success", msg)
}

func (h *Handler) changeRole(c echo.Context) error {
	return h.userAction(c, func(orgID, id string) (string, error) {
		u, err := h.admin.ChangeRole(c.Request().Context(), actor(c), orgID, id, c.FormValue("role"))
		return u.DisplayName + " is now " + admin.RoleLabel(u.Role) + ".", err
	})
}

func (h *Handler) deactivateUser(c echo.Context) error {
	return h.userAction(c, func(orgID, id string) (string, error) {
		u, err := h.admin.SetActive(c.Request().Context(), actor(c), orgID, id, false)
		return u.DisplayName + " is deactivated and signed out everywhere.", err
	})
}

func (h *Handler) reactivateUser(c echo.Context) error {
	return h.userAction(c, func(orgID, id string) (string, error) {
		u, err := h.admin.SetActive(c.Request().Context(), actor(c), orgID, id, true)
		return u.DisplayName + " can sign in again.", err
	})
}

func (h *Handler) resetUserMFA(c echo.Context) error {
	return h.userAction(c, func(orgID, id string) (string, error) {
		u, err := h.admin.ResetMFA(c.Request().Context(), actor(c), orgID, id)
		return "Two-step sign-in for " + u.DisplayName + " is reset; they set it up again at their next sign-in.", err
	})
}

func (h *Handler) logoutUser(c echo.Context) error {
	return h.userAction(c, func(orgID, id string) (string, error) {
		_, err := h.admin.RevokeSessions(c.Request().Context(), actor(c), orgID, id)
		return "Every session of this user is signed out.", err
	})
}

func (h *Handler) revokeUserSession(c echo.Context) error {
	return h.userAction(c, func(orgID, id string) (string, error) {
		err := h.admin.RevokeSession(c.Request().Context(), actor(c), orgID, id, c.Param("sid"))
		return "The session is signed out.", err
	})
}
