// Package admin holds the administration actions the web pages and the
// command line share: invitations, user role and status changes, second
// factor resets, session revocation and organisation settings. Each action
// writes its audit event in the same transaction as the change.
package admin

import (
	"context"
	"errors"
	"time"

	"github.com/opensmd/portal/internal/store"
)

// Errors shown to people; their text is safe to display.
var (
	ErrLastAdmin = errors.New("This is the organisation's last active administrator. Make another user an administrator first.")
	ErrSelf      = errors.New("You cannot do this to your own account here.")
)

// Actor is who performs an action: a signed-in administrator (UserID, IP)
// or the command line (both empty).
type Actor struct {
	UserID string
	IP     string
}

func (a Actor) detail(d map[string]string) map[string]string {
	if d == nil {
		d = map[string]string{}
	}
	if a.UserID == "" {
		d["via"] = "cli"
	}
	return d
}

// Service performs administration actions on a store.
type Service struct {
	store *store.Store
	now   func() time.Time
}

// New returns a Service; now nil means time.Now.
func New(st *store.Store, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: st, now: now}
}

// Roles lists the roles an administrator can give, most privileged first.
var Roles = []string{store.RoleAdmin, store.RoleClinician, store.RoleReception}

// RoleLabel is how a role is shown to people.
func RoleLabel(role string) string {
	switch role {
	case store.RoleAdmin:
		return "Administrator"
	case store.RoleClinician:
		return "Clinician"
	case store.RoleReception:
		return "Reception"
	}
	return role
}

func validRole(r string) bool {
	for _, v := range Roles {
		if v == r {
			return true
		}
	}
	return false
}

func audit(ctx context.Context, tx *store.Store, orgID string, a Actor, action string, d map[string]string) error {
	return tx.Audit(ctx, store.AuditEvent{OrganisationID: orgID, UserID: a.UserID, Action: action, IP: a.IP, Detail: a.detail(d)})
}

func lastAdmin(err error) error {
	if errors.Is(err, store.ErrLastAdmin) {
		return ErrLastAdmin
	}
	return err
}
