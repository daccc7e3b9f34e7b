package admin

import (
	"context"
	"errors"
	"strconv"

	"github.com/opensmd/portal/internal/store"
)

// ErrBadRole is returned for a role that does not exist.
var ErrBadRole = errors.New("Choose one of the roles: administrator, clinician or reception.")

// ChangeRole gives organisation orgID's user id a new role. It refuses to
// demote the last active administrator. It returns the updated user.
func (s *Service) ChangeRole(ctx context.Context, a Actor, orgID, id, role string) (store.User, error) {
	if !validRole(role) {
		return store.User{}, ErrBadRole
	}
	var u store.User
	err := s.store.WithTx(ctx, func(tx *store.Store) error {
		old, err := tx.SetUserRole(ctx, orgID, id, role)
		if err != nil {
			return lastAdmin(err)
		}
		if u, err = tx.OrgUser(ctx, orgID, id); err != nil {
			return err
		}
		if old == role {
			return nil
		}
		return audit(ctx, tx, orgID, a, "user.role_changed", map[string]string{"user_id": id, "email": u.Email, "role": old + " → " + role})
	})
	return u, err
}

// SetActive deactivates (revoking every session at once) or reactivates
// organisation orgID's user id. Deactivating the last active administrator
// is refused.
func (s *Service) SetActive(ctx context.Context, a Actor, orgID, id string, active bool) (store.User, error) {
	var u store.User
	err := s.store.WithTx(ctx, func(tx *store.Store) error {
		before, err := tx.OrgUser(ctx, orgID, id)
		if err != nil {
			return err
		}
		if err := tx.SetUserActive(ctx, orgID, id, active); err != nil {
			return lastAdmin(err)
		}
		if u, err = tx.OrgUser(ctx, orgID, id); err != nil {
			return err
		}
		if before.Active == active {
			return nil
		}
		action := "user.reactivated"
		if !active {
			action = "user.deactivated"
		}
		return audit(ctx, tx, orgID, a, action, map[string]string{"user_id": id, "email": u.Email})
	})
	return u, err
}

// ResetMFA clears organisation orgID's user id's second factor and recovery
// codes and signs them out everywhere: they must enrol again at their next
// sign-in.
func (s *Service) ResetMFA(ctx context.Context, a Actor, orgID, id string) (store.User, error) {
	var u store.User
	err := s.store.WithTx(ctx, func(tx *store.Store) error {
		if err := tx.ResetUserMFA(ctx, orgID, id); err != nil {
			return err
		}
		n, err := tx.RevokeUserSessions(ctx, orgID, id)
		if err != nil {
			return err
		}
		if u, err = tx.OrgUser(ctx, orgID, id); err != nil {
			return err
		}
		return audit(ctx, tx, orgID, a, "user.mfa_reset", map[string]string{"user_id": id, "email": u.Email,
			"sessions_revoked": strconv.Itoa(n)})
	})
	return u, err
}

// RevokeSession ends one session (by its reference) of organisation orgID's
// user userID.
func (s *Service) RevokeSession(ctx context.Context, a Actor, orgID, userID, ref string) error {
	return s.store.WithTx(ctx, func(tx *store.Store) error {
		if err := tx.RevokeUserSession(ctx, orgID, userID, ref); err != nil {
			return err
		}
		return audit(ctx, tx, orgID, a, "session.revoked", map[string]string{"user_id": userID, "session": ref})
	})
}

// RevokeSessions ends every session of organisation orgID's user userID
// except those whose IDs are in keep (the caller's own, when a user signs
// out their other sessions). It returns how many ended.
func (s *Service) RevokeSessions(ctx context.Context, a Actor, orgID, userID string, keep ...string) (int, error) {
	var n int
	err := s.store.WithTx(ctx, func(tx *store.Store) error {
		if _, err := tx.OrgUser(ctx, orgID, userID); err != nil {
			return err
		}
		var err error
		if n, err = tx.RevokeUserSessions(ctx, orgID, userID, keep...); err != nil {
			return err
		}
		return audit(ctx, tx, orgID, a, "session.revoked_all", map[string]string{"user_id": userID, "count": strconv.Itoa(n)})
	})
	return n, err
}
