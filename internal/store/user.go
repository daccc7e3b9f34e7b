package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Roles of portal users.
const (
	RoleAdmin     = "admin"
	RoleClinician = "clinician"
	RoleReception = "reception"
)

// User is a portal account; it always belongs to one organisation.
type User struct {
	ID             string
	OrganisationID string
	Email          string
	DisplayName    string
	Role           string
	PasswordHash   string
	TOTPSecretEnc  []byte
	TOTPEnabledAt  *time.Time
	TOTPLastStep   int64
	Active         bool
	FailedLogins   int
	LockedUntil    *time.Time
	HPII           string // practitioner identifier; "" when not a practitioner
	ProviderNumber string // Medicare provider number
	Specialty      string
	CreatedAt      time.Time
}

// MFAEnabled reports whether the user has a confirmed TOTP factor.
func (u User) MFAEnabled() bool { return u.TOTPEnabledAt != nil }

const userColumns = `id, organisation_id, email, display_name, role, password_hash,
	totp_secret_enc, totp_enabled_at, totp_last_step, active, failed_logins, locked_until,
	coalesce(hpii, ''), provider_number, specialty, created_at`

func scanUser(row pgx.Row) (User, error) {
	var u User
	err := row.Scan(&u.ID, &u.OrganisationID, &u.Email, &u.DisplayName, &u.Role, &u.PasswordHash,
		&u.TOTPSecretEnc, &u.TOTPEnabledAt, &u.TOTPLastStep, &u.Active, &u.FailedLogins, &u.LockedUntil,
		&u.HPII, &u.ProviderNumber, &u.Specialty, &u.CreatedAt)
	return u, err
}

// NewUser holds the fields needed to create a user.
type NewUser struct {
	OrganisationID string
	Email          string
	DisplayName    string
	Role           string
	PasswordHash   string
}

// CreateUser inserts a user; a duplicate e-mail returns ErrConflict.
func (s *Store) CreateUser(ctx context.Context, n NewUser) (User, error) {
	q := `INSERT INTO users (organisation_id, email, display_name, role, password_hash)
		VALUES ($1, $2, $3, $4, $5) RETURNING ` + userColumns
	u, err := scanUser(s.db.QueryRow(ctx, q, n.OrganisationID, n.Email, n.DisplayName, n.Role, n.PasswordHash))
	return u, normalise(err, "create user")
}

// UserByEmail finds a user by e-mail (case-insensitive) for login, across
// organisations: e-mail addresses are unique portal-wide.
func (s *Store) UserByEmail(ctx context.Context, email string) (User, error) {
	q := `SELECT ` + userColumns + ` FROM users WHERE lower(email) = lower($1)`
	u, err := scanUser(s.db.QueryRow(ctx, q, email))
	return u, normalise(err, "load user by email")
}

// UserByID loads a user by ID for the session middleware (the session
// already fixes the organisation).
func (s *Store) UserByID(ctx context.Context, id string) (User, error) {
	q := `SELECT ` + userColumns + ` FROM users WHERE id = $1`
	u, err := scanUser(s.db.QueryRow(ctx, q, id))
	return u, normalise(err, "load user")
}

// OrgUser loads a user of organisation orgID; a user of another
// organisation is ErrNotFound, never a permission hint.
func (s *Store) OrgUser(ctx context.Context, orgID, id string) (User, error) {
	if err := checkID(id, "load user"); err != nil {
		return User{}, err
	}
	q := `SELECT ` + userColumns + ` FROM users WHERE organisation_id = $1 AND id = $2`
	u, err := scanUser(s.db.QueryRow(ctx, q, orgID, id))
	return u, normalise(err, "load user")
}

// OrgUsers lists the users of one organisation.
func (s *Store) OrgUsers(ctx context.Context, orgID string) ([]User, error) {
	q := `SELECT ` + userColumns + ` FROM users WHERE organisation_id = $1 ORDER BY display_name, email`
	rows, err := s.db.Query(ctx, q, orgID)
	if err != nil {
		return nil, normalise(err, "list users")
	}
	users, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (User, error) { return scanUser(r) })
	return users, normalise(err, "list users")
}

// RecordLoginFailure counts a failed password for the user and locks the
// account until lockUntil once max failures are reached. It returns the
// updated user.
func (s *Store) RecordLoginFailure(ctx context.Context, id string, max int, lockUntil time.Time) (User, error) {
	q := `UPDATE users SET failed_logins = failed_logins + 1,
		locked_until = CASE WHEN failed_logins + 1 >= $2 THEN $3 ELSE locked_until END,
		updated_at = now()
		WHERE id = $1 RETURNING ` + userColumns
	u, err := scanUser(s.db.QueryRow(ctx, q, id, max, lockUntil))
	return u, normalise(err, "record login failure")
}

// ResetLoginFailures clears the failure counter and any lockout.
func (s *Store) ResetLoginFailures(ctx context.Context, id string) error {
	_, err := s.db.Exec(ctx, `UPDATE users SET failed_logins = 0, locked_until = NULL, updated_at = now() WHERE id = $1`, id)
	return normalise(err, "reset login failures")
}

// SetPendingTOTP stores an encrypted, not yet confirmed TOTP secret.
func (s *Store) SetPendingTOTP(ctx context.Context, id string, secretEnc []byte) error {
	_, err := s.db.Exec(ctx, `UPDATE users SET totp_secret_enc = $2, totp_enabled_at = NULL, totp_last_step = 0, updated_at = now() WHERE id = $1`, id, secretEnc)
	return normalise(err, "set pending totp")
}

// EnableTOTP confirms the pending secret and replaces the recovery codes.
func (s *Store) EnableTOTP(ctx context.Context, id string, step int64, codeHashes []string) error {
	if _, err := s.db.Exec(ctx, `UPDATE users SET totp_enabled_at = now(), totp_last_step = $2, updated_at = now() WHERE id = $1`, id, step); err != nil {
		return normalise(err, "enable totp")
	}
	if _, err := s.db.Exec(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, id); err != nil {
		return normalise(err, "clear recovery codes")
	}
	for _, h := range codeHashes {
		if _, err := s.db.Exec(ctx, `INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)`, id, h); err != nil {
			return normalise(err, "store recovery code")
		}
	}
	return nil
}

// AdvanceTOTPStep records the time step of an accepted code; it fails
// (ErrConflict) when the step is not newer, which refuses a replayed code.
func (s *Store) AdvanceTOTPStep(ctx context.Context, id string, step int64) error {
	tag, err := s.db.Exec(ctx, `UPDATE users SET totp_last_step = $2 WHERE id = $1 AND totp_last_step < $2`, id, step)
	if err != nil {
		return normalise(err, "advance totp step")
	}
	if tag.RowsAffected() == 0 {
		return ErrConflict
	}
	return nil
}

// UseRecoveryCode consumes one unused recovery code; ErrNotFound if none
// matches.
func (s *Store) UseRecoveryCode(ctx context.Context, userID, codeHash string) error {
	tag, err := s.db.Exec(ctx, `UPDATE recovery_codes SET used_at = now()
		WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL`, userID, codeHash)
	if err != nil {
		return normalise(err, "use recovery code")
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// UserIDByHPII returns the ID of organisation orgID's active user whose
// HPI-I is hpii (16 digits), for routing a received message.
func (s *Store) UserIDByHPII(ctx context.Context, orgID, hpii string) (string, error) {
	if err := checkID(orgID, "find user by HPI-I"); err != nil {
		return "", err
	}
	var id string
	err := s.db.QueryRow(ctx, `SELECT id FROM users WHERE organisation_id = $1 AND hpii = $2 AND active`,
		orgID, hpii).Scan(&id)
	return id, normalise(err, "find user by HPI-I")
}

// SetUserHPII sets (or, with "", clears) user id's HPI-I.
func (s *Store) SetUserHPII(ctx context.Context, orgID, id, hpii string) error {
	if err := checkID(id, "set HPI-I"); err != nil {
		return err
	}
	var v *string
	if hpii != "" {
		v = &hpii
	}
	tag, err := s.db.Exec(ctx, `UPDATE users SET hpii = $3 WHERE organisation_id = $1 AND id = $2`, orgID, id, v)
	if err == nil && tag.RowsAffected() == 0 {
		return fmt.Errorf("set HPI-I: %w", ErrNotFound)
	}
	return normalise(err, "set HPI-I")
}
