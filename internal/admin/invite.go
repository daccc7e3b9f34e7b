package admin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/opensmd/portal/internal/auth"
	"github.com/opensmd/portal/internal/store"
)

// InviteTTL is how long an invitation link stays usable.
const InviteTTL = 72 * time.Hour

// Why an invitation link no longer works; safe to show.
var (
	ErrInviteUsed      = errors.New("This invitation has already been used. If it was you, sign in with your e-mail address and password; otherwise ask your administrator for a new invitation.")
	ErrInviteExpired   = errors.New("This invitation has expired. Ask your administrator to invite you again.")
	ErrInviteCancelled = errors.New("This invitation was cancelled by your administrator. Ask them if you should have access.")
	ErrInviteUnknown   = errors.New("This invitation link is not valid. Check that you copied the whole link, or ask your administrator for a new one.")
)

// InviteForm is what an administrator enters to invite someone.
type InviteForm struct {
	Email, Name, Role string
}

// Validate trims the form and returns field → message for every problem.
func (f *InviteForm) Validate() map[string]string {
	errs := map[string]string{}
	f.Email = strings.TrimSpace(f.Email)
	f.Name = strings.TrimSpace(f.Name)
	if !auth.ValidEmail(f.Email) {
		errs["Email"] = "Enter an e-mail address such as name@example.org."
	}
	if f.Name == "" {
		errs["Name"] = "Enter the person's name as colleagues know it."
	} else if len(f.Name) > 200 {
		errs["Name"] = "Use at most 200 characters."
	}
	if !validRole(f.Role) {
		errs["Role"] = ErrBadRole.Error()
	}
	return errs
}

// Invite records an invitation to organisation orgID and returns it with
// the link's token, which is shown once and never stored. An address that
// already has an account or a pending invitation gets a field error.
func (s *Service) Invite(ctx context.Context, a Actor, orgID string, f InviteForm) (string, store.Invite, map[string]string, error) {
	if errs := f.Validate(); len(errs) > 0 {
		return "", store.Invite{}, errs, nil
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", store.Invite{}, nil, err
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	now := s.now()
	var inv store.Invite
	err := s.store.WithTx(ctx, func(tx *store.Store) error {
		var err error
		inv, err = tx.CreateInvite(ctx, store.NewInvite{OrganisationID: orgID, TokenHash: tokenHash(token), Email: f.Email,
			DisplayName: f.Name, Role: f.Role, InvitedBy: a.UserID, CreatedAt: now, ExpiresAt: now.Add(InviteTTL)})
		if err != nil {
			return err
		}
		return audit(ctx, tx, orgID, a, "user.invited", map[string]string{"invite_id": inv.ID, "email": inv.Email, "role": inv.Role})
	})
	if errors.Is(err, store.ErrConflict) {
		return "", store.Invite{}, map[string]string{"Email": "This address already has an account or a pending invitation."}, nil
	}
	return token, inv, nil, err
}

// CancelInvite cancels organisation orgID's pending invitation id.
func (s *Service) CancelInvite(ctx context.Context, a Actor, orgID, id string) (store.Invite, error) {
	var inv store.Invite
	err := s.store.WithTx(ctx, func(tx *store.Store) error {
		var err error
		if inv, err = tx.CancelInvite(ctx, orgID, id, s.now()); err != nil {
			return err
		}
		return audit(ctx, tx, orgID, a, "invite.cancelled", map[string]string{"invite_id": inv.ID, "email": inv.Email})
	})
	return inv, err
}

// OpenInvite returns the usable invitation behind token, or the reason it
// cannot be used (ErrInviteUsed, ErrInviteExpired, ErrInviteCancelled,
// ErrInviteUnknown).
func (s *Service) OpenInvite(ctx context.Context, token string) (store.Invite, error) {
	inv, err := s.store.InviteByTokenHash(ctx, tokenHash(token))
	if errors.Is(err, store.ErrNotFound) {
		return store.Invite{}, ErrInviteUnknown
	}
	if err != nil {
		return store.Invite{}, err
	}
	if err := inviteState(inv, s.now()); err != nil {
		return store.Invite{}, err
	}
	return inv, nil
}

func inviteState(inv store.Invite, now time.Time) error {
	switch inv.Status(now) {
	case store.InviteAccepted:
		return ErrInviteUsed
	case store.InviteCancelled:
		return ErrInviteCancelled
	case store.InviteExpired:
		return ErrInviteExpired
	}
	return nil
}

// AcceptForm is what the invited person enters.
type AcceptForm struct {
	Name, Password, Confirm string
}

// Validate trims the form and returns field → message for every problem.
// The password follows NIST SP 800-63B: length and the blocklist, no
// composition rules.
func (f *AcceptForm) Validate(inv store.Invite, orgName string) map[string]string {
	errs := map[string]string{}
	f.Name = strings.TrimSpace(f.Name)
	if f.Name == "" {
		errs["Name"] = "Enter your name as colleagues know it."
	} else if len(f.Name) > 200 {
		errs["Name"] = "Use at most 200 characters."
	}
	if msg := auth.PasswordProblem(f.Password, inv.Email, f.Name, orgName); msg != "" {
		errs["Password"] = msg
	} else if f.Password != f.Confirm {
		errs["Confirm"] = "The two passwords do not match."
	}
	return errs
}

// AcceptInvite creates the invited account and consumes the invitation in
// one transaction. Two concurrent acceptances of one link create one
// account; the other gets ErrInviteUsed.
func (s *Service) AcceptInvite(ctx context.Context, token string, f AcceptForm, ip string) (store.User, error) {
	hash, err := auth.HashPassword(f.Password)
	if err != nil {
		return store.User{}, err
	}
	now := s.now()
	var u store.User
	err = s.store.WithTx(ctx, func(tx *store.Store) error {
		inv, err := tx.ClaimInvite(ctx, tokenHash(token), now)
		if err != nil {
			return err
		}
		u, err = tx.CreateUser(ctx, store.NewUser{OrganisationID: inv.OrganisationID, Email: inv.Email, DisplayName: f.Name,
			Role: inv.Role, PasswordHash: hash})
		if err != nil {
			return err
		}
		if err := tx.CompleteInvite(ctx, inv.ID, u.ID, now); err != nil {
			return err
		}
		return tx.Audit(ctx, store.AuditEvent{OrganisationID: inv.OrganisationID, UserID: u.ID, Action: "invite.accepted", IP: ip,
			Detail: map[string]string{"invite_id": inv.ID, "email": inv.Email, "role": inv.Role}})
	})
	if errors.Is(err, store.ErrNotFound) {
		// Say why: used, cancelled or expired in the meantime.
		if _, why := s.OpenInvite(ctx, token); why != nil {
			return store.User{}, why
		}
	}
	if errors.Is(err, store.ErrConflict) {
		return store.User{}, ErrInviteUsed // the address got an account meanwhile
	}
	return u, err
}

// InviteLink is the path of the acceptance page for token.
func InviteLink(token string) string { return "/invite/" + token }

func tokenHash(token string) string {
	sum := sha256.Sum256([]byte("invite:" + token))
	return hex.EncodeToString(sum[:])
}
