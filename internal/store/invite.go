package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Invite states, as InviteStatus derives them.
const (
	InvitePending   = "pending"
	InviteAccepted  = "accepted"
	InviteCancelled = "cancelled"
	InviteExpired   = "expired"
)

// Invite is an administrator's invitation to join an organisation. The
// link's token is never stored, only its hash.
type Invite struct {
	ID             string
	OrganisationID string
	Email          string
	DisplayName    string
	Role           string
	InvitedBy      string // "" when invited from the command line
	CreatedAt      time.Time
	ExpiresAt      time.Time
	AcceptedAt     *time.Time
	CancelledAt    *time.Time
	UserID         string // the account it created, once accepted
}

// Status is the invitation's state at now.
func (i Invite) Status(now time.Time) string {
	switch {
	case i.AcceptedAt != nil:
		return InviteAccepted
	case i.CancelledAt != nil:
		return InviteCancelled
	case !now.Before(i.ExpiresAt):
		return InviteExpired
	}
	return InvitePending
}

const inviteColumns = `id, organisation_id, email, display_name, role, coalesce(invited_by::text, ''),
	created_at, expires_at, accepted_at, cancelled_at, coalesce(user_id::text, '')`

func scanInvite(row pgx.Row) (Invite, error) {
	var i Invite
	err := row.Scan(&i.ID, &i.OrganisationID, &i.Email, &i.DisplayName, &i.Role, &i.InvitedBy,
		&i.CreatedAt, &i.ExpiresAt, &i.AcceptedAt, &i.CancelledAt, &i.UserID)
	return i, err
}

// NewInvite holds what an administrator enters, plus the token hash.
type NewInvite struct {
	OrganisationID string
	TokenHash      string
	Email          string
	DisplayName    string
	Role           string
	InvitedBy      string // "" from the command line
	CreatedAt      time.Time
	ExpiresAt      time.Time
}

// CreateInvite stores an invitation. It returns ErrConflict when the e-mail
// address already has an account or a pending invitation, portal-wide
// (addresses are the sign-in name).
func (s *Store) CreateInvite(ctx context.Context, n NewInvite) (Invite, error) {
	var taken bool
	err := s.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE lower(email) = lower($1))
		OR EXISTS (SELECT 1 FROM invites WHERE lower(email) = lower($1)
			AND accepted_at IS NULL AND cancelled_at IS NULL AND expires_at > $2)`, n.Email, n.CreatedAt).Scan(&taken)
	if err != nil {
		return Invite{}, normalise(err, "check invite e-mail")
	}
	if taken {
		return Invite{}, fmt.Errorf("create invite: %w (e-mail)", ErrConflict)
	}
	q := `INSERT INTO invites (organisation_id, token_hash, email, display_name, role, invited_by, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, NULLIF($6, '')::uuid, $7, $8) RETURNING ` + inviteColumns
	i, err := scanInvite(s.db.QueryRow(ctx, q, n.OrganisationID, n.TokenHash, n.Email, n.DisplayName, n.Role,
		n.InvitedBy, n.CreatedAt, n.ExpiresAt))
	return i, normalise(err, "create invite")
}

// InviteByTokenHash finds an invitation in any state by its token hash.
// The token is the capability, so no organisation scope applies.
func (s *Store) InviteByTokenHash(ctx context.Context, hash string) (Invite, error) {
	i, err := scanInvite(s.db.QueryRow(ctx, `SELECT `+inviteColumns+` FROM invites WHERE token_hash = $1`, hash))
	return i, normalise(err, "load invite")
}

// ClaimInvite locks a usable invitation (not accepted, cancelled or expired
// at now) for acceptance in this transaction; ErrNotFound otherwise. A
// second, concurrent claim waits for the first and then finds it used.
func (s *Store) ClaimInvite(ctx context.Context, hash string, now time.Time) (Invite, error) {
	q := `SELECT ` + inviteColumns + ` FROM invites WHERE token_hash = $1
		AND accepted_at IS NULL AND cancelled_at IS NULL AND expires_at > $2 FOR UPDATE`
	i, err := scanInvite(s.db.QueryRow(ctx, q, hash, now))
	return i, normalise(err, "claim invite")
}

// CompleteInvite marks a claimed invitation accepted by the new account
// userID.
func (s *Store) CompleteInvite(ctx context.Context, id, userID string, at time.Time) error {
	tag, err := s.db.Exec(ctx, `UPDATE invites SET accepted_at = $3, user_id = $2
		WHERE id = $1 AND accepted_at IS NULL AND cancelled_at IS NULL`, id, userID, at)
	if err == nil && tag.RowsAffected() == 0 {
		return fmt.Errorf("complete invite: %w", ErrNotFound)
	}
	return normalise(err, "complete invite")
}

// CancelInvite cancels organisation orgID's pending invitation id; an
// unknown, other organisation's, used or already cancelled one is
// ErrNotFound.
func (s *Store) CancelInvite(ctx context.Context, orgID, id string, at time.Time) (Invite, error) {
	if err := checkID(id, "cancel invite"); err != nil {
		return Invite{}, err
	}
	q := `UPDATE invites SET cancelled_at = $3
		WHERE organisation_id = $1 AND id = $2 AND accepted_at IS NULL AND cancelled_at IS NULL
		RETURNING ` + inviteColumns
	i, err := scanInvite(s.db.QueryRow(ctx, q, orgID, id, at))
	return i, normalise(err, "cancel invite")
}

// OrgInvites lists organisation orgID's invitations that were neither
// accepted nor cancelled (pending or expired), newest first.
func (s *Store) OrgInvites(ctx context.Context, orgID string) ([]Invite, error) {
	rows, err := s.db.Query(ctx, `SELECT `+inviteColumns+` FROM invites
		WHERE organisation_id = $1 AND accepted_at IS NULL AND cancelled_at IS NULL
		ORDER BY created_at DESC`, orgID)
	if err != nil {
		return nil, normalise(err, "list invites")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Invite, error) { return scanInvite(r) })
	return out, normalise(err, "list invites")
}
