package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrLastAdmin refuses a change that would leave an organisation without an
// active administrator.
var ErrLastAdmin = errors.New("store: the organisation's last active administrator")

// UserAccount is a user with what the users page shows besides the account
// itself.
type UserAccount struct {
	User
	LastSignInAt *time.Time
}

func scanUserAccount(row pgx.Row) (UserAccount, error) {
	var a UserAccount
	u := &a.User
	err := row.Scan(&u.ID, &u.OrganisationID, &u.Email, &u.DisplayName, &u.Role, &u.PasswordHash,
		&u.TOTPSecretEnc, &u.TOTPEnabledAt, &u.TOTPLastStep, &u.Active, &u.FailedLogins, &u.LockedUntil,
		&u.HPII, &u.ProviderNumber, &u.Specialty, &u.CreatedAt, &a.LastSignInAt)
	return a, err
}

// OrgUserAccounts lists organisation orgID's users with their last
// sign-in.
func (s *Store) OrgUserAccounts(ctx context.Context, orgID string) ([]UserAccount, error) {
	q := `SELECT ` + userColumns + `, last_sign_in_at FROM users WHERE organisation_id = $1 ORDER BY display_name, email`
	rows, err := s.db.Query(ctx, q, orgID)
	if err != nil {
		return nil, normalise(err, "list users")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (UserAccount, error) { return scanUserAccount(r) })
	return out, normalise(err, "list users")
}

// OrgUserAccount loads user id of organisation orgID; another
// organisation's user is ErrNotFound.
func (s *Store) OrgUserAccount(ctx context.Context, orgID, id string) (UserAccount, error) {
	if err := checkID(id, "load user"); err != nil {
		return UserAccount{}, err
	}
	q := `SELECT ` + userColumns + `, last_sign_in_at FROM users WHERE organisation_id = $1 AND id = $2`
	a, err := scanUserAccount(s.db.QueryRow(ctx, q, orgID, id))
	return a, normalise(err, "load user")
}

// OrgUserByEmail loads organisation orgID's user by e-mail
// (case-insensitive).
func (s *Store) OrgUserByEmail(ctx context.Context, orgID, email string) (User, error) {
	q := `SELECT ` + userColumns + ` FROM users WHERE organisation_id = $1 AND lower(email) = lower($2)`
	u, err := scanUser(s.db.QueryRow(ctx, q, orgID, email))
	return u, normalise(err, "load user by email")
}

// RecordSignIn notes when user id last started a session.
func (s *Store) RecordSignIn(ctx context.Context, id string, at time.Time) error {
	_, err := s.db.Exec(ctx, `UPDATE users SET last_sign_in_at = $2 WHERE id = $1`, id, at)
	return normalise(err, "record sign-in")
}

// lockOrgAdmins serialises changes to an organisation's administrators (so
// two admins cannot demote each other at once and leave none) and returns
// how many active administrators it has besides userID.
func (s *Store) lockOrgAdmins(ctx context.Context, orgID, userID string) (int, error) {
	var id string
	if err := s.db.QueryRow(ctx, `SELECT id FROM organisations WHERE id = $1 FOR UPDATE`, orgID).Scan(&id); err != nil {
		return 0, normalise(err, "lock organisation")
	}
	var n int
	err := s.db.QueryRow(ctx, `SELECT count(*) FROM users
		WHERE organisation_id = $1 AND id <> $2 AND role = 'admin' AND active`, orgID, userID).Scan(&n)
	return n, normalise(err, "count administrators")
}

// SetUserRole changes the role of organisation orgID's user id and returns
// the previous role. Demoting the last active administrator is
// ErrLastAdmin. Run it inside WithTx: the check holds a lock until commit.
func (s *Store) SetUserRole(ctx context.Context, orgID, id, role string) (string, error) {
	var old string
	err := s.WithTx(ctx, func(tx *Store) error {
		u, err := tx.OrgUser(ctx, orgID, id)
		if err != nil {
			return err
		}
		old = u.Role
		if u.Role == RoleAdmin && role != RoleAdmin && u.Active {
			n, err := tx.lockOrgAdmins(ctx, orgID, id)
			if err != nil {
				return err
			}
			if n == 0 {
				return ErrLastAdmin
			}
		}
		_, err = tx.db.Exec(ctx, `UPDATE users SET role = $3 WHERE organisation_id = $1 AND id = $2`, orgID, id, role)
		return normalise(err, "set role")
	})
	return old, err
}

// SetUserActive deactivates or reactivates organisation orgID's user id.
// Deactivation revokes all the user's sessions in the same transaction and
// refuses (ErrLastAdmin) to leave the organisation without an active
// administrator.
func (s *Store) SetUserActive(ctx context.Context, orgID, id string, active bool) error {
	return s.WithTx(ctx, func(tx *Store) error {
		u, err := tx.OrgUser(ctx, orgID, id)
		if err != nil {
			return err
		}
		if !active && u.Role == RoleAdmin && u.Active {
			n, err := tx.lockOrgAdmins(ctx, orgID, id)
			if err != nil {
				return err
			}
			if n == 0 {
				return ErrLastAdmin
			}
		}
		if _, err := tx.db.Exec(ctx, `UPDATE users SET active = $3, failed_logins = 0, locked_until = NULL
			WHERE organisation_id = $1 AND id = $2`, orgID, id, active); err != nil {
			return normalise(err, "set active")
		}
		if !active {
			_, err = tx.RevokeUserSessions(ctx, orgID, id)
		}
		return err
	})
}

// ResetUserMFA clears the TOTP factor and recovery codes of organisation
// orgID's user id, who must enrol again.
func (s *Store) ResetUserMFA(ctx context.Context, orgID, id string) error {
	if err := checkID(id, "reset mfa"); err != nil {
		return err
	}
	tag, err := s.db.Exec(ctx, `UPDATE users SET totp_secret_enc = NULL, totp_enabled_at = NULL, totp_last_step = 0
		WHERE organisation_id = $1 AND id = $2`, orgID, id)
	if err != nil {
		return normalise(err, "reset mfa")
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("reset mfa: %w", ErrNotFound)
	}
	_, err = s.db.Exec(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, id)
	return normalise(err, "clear recovery codes")
}

// SessionInfo is a live session as users and administrators see it. ID is
// the token hash, for telling the current session apart; pages name
// sessions by Ref.
type SessionInfo struct {
	ID         string
	Ref        string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	IP         string
	UserAgent  string
}

// UserSessions lists the live (not revoked, not expired at now) sessions
// of organisation orgID's user userID, newest first.
func (s *Store) UserSessions(ctx context.Context, orgID, userID string, now time.Time) ([]SessionInfo, error) {
	if err := checkID(userID, "list sessions"); err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT s.id, s.ref, s.created_at, s.last_seen_at, s.expires_at, s.ip, s.user_agent
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE u.organisation_id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL AND s.expires_at > $3
		ORDER BY s.created_at DESC`, orgID, userID, now)
	if err != nil {
		return nil, normalise(err, "list sessions")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (SessionInfo, error) {
		var si SessionInfo
		err := r.Scan(&si.ID, &si.Ref, &si.CreatedAt, &si.LastSeenAt, &si.ExpiresAt, &si.IP, &si.UserAgent)
		return si, err
	})
	return out, normalise(err, "list sessions")
}

// RevokeUserSession revokes the session ref of organisation orgID's user
// userID; ErrNotFound when no such live session exists.
func (s *Store) RevokeUserSession(ctx context.Context, orgID, userID, ref string) error {
	if err := checkID(userID, "revoke session"); err != nil {
		return err
	}
	if err := checkID(ref, "revoke session"); err != nil {
		return err
	}
	tag, err := s.db.Exec(ctx, `UPDATE sessions s SET revoked_at = now() FROM users u
		WHERE u.id = s.user_id AND u.organisation_id = $1 AND s.user_id = $2 AND s.ref = $3
		AND s.revoked_at IS NULL`, orgID, userID, ref)
	if err != nil {
		return normalise(err, "revoke session")
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("revoke session: %w", ErrNotFound)
	}
	return nil
}

// RevokeUserSessions revokes every session of organisation orgID's user
// userID except the sessions whose IDs are listed in keep, and returns how
// many it revoked.
func (s *Store) RevokeUserSessions(ctx context.Context, orgID, userID string, keep ...string) (int, error) {
	if err := checkID(userID, "revoke sessions"); err != nil {
		return 0, err
	}
	if keep == nil {
		keep = []string{}
	}
	tag, err := s.db.Exec(ctx, `UPDATE sessions s SET revoked_at = now() FROM users u
		WHERE u.id = s.user_id AND u.organisation_id = $1 AND s.user_id = $2
		AND s.revoked_at IS NULL AND NOT (s.id = ANY ($3))`, orgID, userID, keep)
	if err != nil {
		return 0, normalise(err, "revoke sessions")
	}
	return int(tag.RowsAffected()), nil
}

// OrgSettings is what an organisation's administrators edit about it.
type OrgSettings struct {
	Name         string
	DeliveryMode string
	Profile
	RequireTOTP bool
}

// UpdateOrgSettings writes organisation orgID's settings and returns the
// organisation before and after.
func (s *Store) UpdateOrgSettings(ctx context.Context, orgID string, n OrgSettings) (before, after Organisation, err error) {
	err = s.WithTx(ctx, func(tx *Store) error {
		before, err = scanOrganisation(tx.db.QueryRow(ctx, `SELECT `+organisationColumns+` FROM organisations WHERE id = $1 FOR UPDATE`, orgID))
		if err != nil {
			return normalise(err, "load organisation")
		}
		cats := n.AcceptedCategories
		if cats == nil {
			cats = []string{}
		}
		after, err = scanOrganisation(tx.db.QueryRow(ctx, `UPDATE organisations SET name = $2, delivery_mode = $3,
			address_line = $4, suburb = $5, state = $6, postcode = $7, phone = $8,
			receiving_application = $9, receiving_facility = $10, accepted_categories = $11, require_totp = $12
			WHERE id = $1 RETURNING `+organisationColumns, orgID, n.Name, n.DeliveryMode, n.AddressLine, n.Suburb,
			n.State, n.Postcode, n.Phone, n.ReceivingApplication, n.ReceivingFacility, cats, n.RequireTOTP))
		return normalise(err, "update organisation")
	})
	return before, after, err
}
