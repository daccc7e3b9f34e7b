package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/opensmd/portal/internal/hi"
	"github.com/opensmd/portal/internal/secretbox"
	"github.com/opensmd/portal/internal/store"
)

// Errors shown to people; their text is safe to display.
var (
	ErrInvalidCredentials = errors.New("The e-mail address or password is not right.")
	ErrBadCode            = errors.New("That code is not right or has already been used. Check your authenticator app and try again.")
	ErrThrottled          = errors.New("Too many failed sign-in attempts from your network. Wait 15 minutes and try again.")
	ErrSessionExpired     = errors.New("Your session has expired. Please sign in again.")
	ErrSetupClosed        = errors.New("This set-up link has already been used or has expired. If your organisation is set up, sign in; otherwise restart the portal to print a new link.")
)

// LockedError says until when an account is locked.
type LockedError struct{ Until time.Time }

func (e *LockedError) Error() string {
	mins := int(time.Until(e.Until).Round(time.Minute).Minutes())
	if mins < 1 {
		mins = 1
	}
	return fmt.Sprintf("This account is locked after too many failed attempts. Try again in %d minutes or ask your administrator.", mins)
}

// Policy holds the tunables of sign-in.
type Policy struct {
	MaxFailures     int
	LockoutDuration time.Duration
	IPMaxFailures   int
	IPWindow        time.Duration
	IdleTimeout     time.Duration
	AbsoluteTimeout time.Duration
}

// Service implements sign-in, second factors, sessions and first-run set-up.
type Service struct {
	store  *store.Store
	totp   *secretbox.Sealer
	policy Policy
	now    func() time.Time
}

// NewService returns a Service; masterSecret keys the TOTP secret sealer.
func NewService(st *store.Store, masterSecret []byte, p Policy, now func() time.Time) (*Service, error) {
	sealer, err := secretbox.NewSealer(secretbox.DeriveKey(masterSecret, "totp secrets"))
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return &Service{store: st, totp: sealer, policy: p, now: now}, nil
}

// NeedsMFA reports whether u must pass a second factor: administrators
// always, everyone in an organisation that requires it, anyone who has
// enrolled.
func NeedsMFA(u store.User, org store.Organisation) bool {
	return u.Role == store.RoleAdmin || org.RequireTOTP || u.MFAEnabled()
}

// Authenticate checks e-mail and password. On success the caller continues
// with VerifyTOTP / enrolment or StartSession, as NeedsMFA says.
func (s *Service) Authenticate(ctx context.Context, email, password, ip string) (store.User, error) {
	now := s.now()
	n, err := s.store.RecentLoginFailures(ctx, ip, now.Add(-s.policy.IPWindow))
	if err != nil {
		return store.User{}, err
	}
	if n >= s.policy.IPMaxFailures {
		return store.User{}, ErrThrottled
	}
	u, err := s.store.UserByEmail(ctx, strings.TrimSpace(email))
	if errors.Is(err, store.ErrNotFound) {
		_ = CheckPassword(dummyHash, password) // equal timing for unknown accounts
		return store.User{}, s.fail(ctx, store.User{}, ip, "unknown account", ErrInvalidCredentials)
	}
	if err != nil {
		return store.User{}, err
	}
	if u.LockedUntil != nil && u.LockedUntil.After(now) {
		return store.User{}, s.fail(ctx, u, ip, "account locked", &LockedError{Until: *u.LockedUntil})
	}
	if err := CheckPassword(u.PasswordHash, password); err != nil || !u.Active {
		return store.User{}, s.failCounted(ctx, u, ip, "wrong password or inactive")
	}
	return u, nil
}

// failCounted records a failed factor against the account, locking it once
// the limit is reached.
func (s *Service) failCounted(ctx context.Context, u store.User, ip, reason string) error {
	var result error = ErrInvalidCredentials
	err := s.store.WithTx(ctx, func(tx *store.Store) error {
		updated, err := tx.RecordLoginFailure(ctx, u.ID, s.policy.MaxFailures, s.now().Add(s.policy.LockoutDuration))
		if err != nil {
			return err
		}
		if updated.LockedUntil != nil && updated.LockedUntil.After(s.now()) {
			result = &LockedError{Until: *updated.LockedUntil}
			reason += "; account locked"
		}
		return s.recordFailure(ctx, tx, u, ip, reason)
	})
	if err != nil {
		return err
	}
	return result
}

func (s *Service) fail(ctx context.Context, u store.User, ip, reason string, result error) error {
	if err := s.store.WithTx(ctx, func(tx *store.Store) error { return s.recordFailure(ctx, tx, u, ip, reason) }); err != nil {
		return err
	}
	return result
}

func (s *Service) recordFailure(ctx context.Context, tx *store.Store, u store.User, ip, reason string) error {
	if err := tx.RecordLoginAttempt(ctx, ip, false, s.now()); err != nil {
		return err
	}
	return tx.Audit(ctx, store.AuditEvent{OrganisationID: u.OrganisationID, UserID: u.ID, Action: "login.failure", IP: ip,
		Detail: map[string]string{"reason": reason}})
}

// VerifyTOTP checks a TOTP code or an unused recovery code for u.
func (s *Service) VerifyTOTP(ctx context.Context, u store.User, code, ip string) error {
	if u.LockedUntil != nil && u.LockedUntil.After(s.now()) {
		return &LockedError{Until: *u.LockedUntil}
	}
	if !u.MFAEnabled() {
		return ErrBadCode
	}
	secret, err := s.totp.Open(u.TOTPSecretEnc, []byte(u.ID))
	if err != nil {
		return err
	}
	if step, ok := TOTPStep(string(secret), code, s.now()); ok {
		err := s.store.AdvanceTOTPStep(ctx, u.ID, step)
		if err == nil {
			return nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return err
		}
	} else if strings.Count(code, "-") == 2 {
		err := s.store.WithTx(ctx, func(tx *store.Store) error {
			if err := tx.UseRecoveryCode(ctx, u.ID, HashRecoveryCode(code)); err != nil {
				return err
			}
			return tx.Audit(ctx, store.AuditEvent{OrganisationID: u.OrganisationID, UserID: u.ID, Action: "mfa.recovery_code_used", IP: ip})
		})
		if err == nil {
			return nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	if err := s.failCounted(ctx, u, ip, "wrong second factor"); !errors.Is(err, ErrInvalidCredentials) {
		return err
	}
	return ErrBadCode
}

// BeginEnrolment makes a new TOTP secret for u and keeps it pending until
// ConfirmEnrolment proves the user's app produces codes for it.
func (s *Service) BeginEnrolment(ctx context.Context, u store.User) (TOTPEnrolment, error) {
	e, err := NewTOTP(u.Email)
	if err != nil {
		return TOTPEnrolment{}, err
	}
	if err := s.store.SetPendingTOTP(ctx, u.ID, s.totp.Seal([]byte(e.Secret), []byte(u.ID))); err != nil {
		return TOTPEnrolment{}, err
	}
	return e, nil
}

// ConfirmEnrolment checks a code against the pending secret, enables TOTP and
// returns ten recovery codes to show once.
func (s *Service) ConfirmEnrolment(ctx context.Context, u store.User, code, ip string) ([]string, error) {
	if len(u.TOTPSecretEnc) == 0 {
		return nil, ErrBadCode
	}
	secret, err := s.totp.Open(u.TOTPSecretEnc, []byte(u.ID))
	if err != nil {
		return nil, err
	}
	step, ok := TOTPStep(string(secret), code, s.now())
	if !ok {
		return nil, ErrBadCode
	}
	codes, hashes, err := NewRecoveryCodes(10)
	if err != nil {
		return nil, err
	}
	err = s.store.WithTx(ctx, func(tx *store.Store) error {
		if err := tx.EnableTOTP(ctx, u.ID, step, hashes); err != nil {
			return err
		}
		return tx.Audit(ctx, store.AuditEvent{OrganisationID: u.OrganisationID, UserID: u.ID, Action: "mfa.enrolled", IP: ip})
	})
	return codes, err
}

// PendingTOTPSecret returns the not yet confirmed secret, so the enrolment
// page can be shown again after a wrong code without generating a new one.
func (s *Service) PendingTOTPSecret(u store.User) (string, bool) {
	if u.MFAEnabled() || len(u.TOTPSecretEnc) == 0 {
		return "", false
	}
	secret, err := s.totp.Open(u.TOTPSecretEnc, []byte(u.ID))
	if err != nil {
		return "", false
	}
	return string(secret), true
}

// StartSession creates a fresh session for a fully authenticated user and
// returns the cookie token. A new token on every sign-in prevents session
// fixation.
func (s *Service) StartSession(ctx context.Context, u store.User, ip, userAgent string) (string, error) {
	token := rand.Text()
	now := s.now()
	err := s.store.WithTx(ctx, func(tx *store.Store) error {
		err := tx.CreateSession(ctx, store.Session{ID: hashToken(token), UserID: u.ID, CreatedAt: now,
			ExpiresAt: now.Add(s.policy.AbsoluteTimeout), IP: ip, UserAgent: truncate(userAgent, 256)})
		if err != nil {
			return err
		}
		if err := tx.ResetLoginFailures(ctx, u.ID); err != nil {
			return err
		}
		if err := tx.RecordLoginAttempt(ctx, ip, true, now); err != nil {
			return err
		}
		if err := tx.RecordSignIn(ctx, u.ID, now); err != nil {
			return err
		}
		return tx.Audit(ctx, store.AuditEvent{OrganisationID: u.OrganisationID, UserID: u.ID, Action: "login.success", IP: ip})
	})
	return token, err
}

// Resume returns the session and user behind a cookie token, enforcing the
// idle and absolute timeouts and the user's active flag. active says the
// request is the user's own doing; a page polling in the background is
// not, and must not keep an unattended session alive.
func (s *Service) Resume(ctx context.Context, token string, active bool) (store.Session, store.User, error) {
	ss, err := s.store.SessionByID(ctx, hashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return store.Session{}, store.User{}, ErrSessionExpired
	}
	if err != nil {
		return store.Session{}, store.User{}, err
	}
	now := s.now()
	if now.After(ss.ExpiresAt) || now.Sub(ss.LastSeenAt) > s.policy.IdleTimeout {
		if err := s.store.RevokeSession(ctx, ss.ID); err != nil {
			return store.Session{}, store.User{}, err
		}
		return store.Session{}, store.User{}, ErrSessionExpired
	}
	u, err := s.store.UserByID(ctx, ss.UserID)
	if err != nil {
		return store.Session{}, store.User{}, err
	}
	if !u.Active {
		return store.Session{}, store.User{}, ErrSessionExpired
	}
	// Touch at most once a minute: the idle timeout is in minutes anyway.
	if active && now.Sub(ss.LastSeenAt) > time.Minute {
		if err := s.store.TouchSession(ctx, ss.ID, now); err != nil {
			return store.Session{}, store.User{}, err
		}
	}
	return ss, u, nil
}

// EndSession revokes the session behind token.
func (s *Service) EndSession(ctx context.Context, token string, u store.User, ip string) error {
	return s.store.WithTx(ctx, func(tx *store.Store) error {
		if err := tx.RevokeSession(ctx, hashToken(token)); err != nil {
			return err
		}
		return tx.Audit(ctx, store.AuditEvent{OrganisationID: u.OrganisationID, UserID: u.ID, Action: "logout", IP: ip})
	})
}

// NewSetupToken returns a one-time first-run token valid for 24 hours.
func (s *Service) NewSetupToken(ctx context.Context) (string, error) {
	token := rand.Text()
	return token, s.store.CreateSetupToken(ctx, hashToken(token), s.now().Add(24*time.Hour))
}

// SetupTokenValid reports whether token may still be used.
func (s *Service) SetupTokenValid(ctx context.Context, token string) (bool, error) {
	return s.store.SetupTokenValid(ctx, hashToken(token), s.now())
}

// SetupForm is the first-run form: the organisation and its first admin.
type SetupForm struct {
	OrgName, HPIO, AdminName, Email, Password, Confirm string
}

// Validate returns field → message for every problem.
func (f *SetupForm) Validate() map[string]string {
	errs := map[string]string{}
	f.OrgName = strings.TrimSpace(f.OrgName)
	f.AdminName = strings.TrimSpace(f.AdminName)
	f.Email = strings.TrimSpace(f.Email)
	if f.OrgName == "" {
		errs["OrgName"] = "Enter the organisation's name."
	}
	if d, err := hi.Validate(hi.HPIO, f.HPIO); err != nil {
		errs["HPIO"] = err.Error()
	} else {
		f.HPIO = d
	}
	if f.AdminName == "" {
		errs["AdminName"] = "Enter the administrator's name."
	}
	if !ValidEmail(f.Email) {
		errs["Email"] = "Enter an e-mail address such as name@example.org."
	}
	if msg := PasswordProblem(f.Password, f.Email, f.AdminName, f.OrgName); msg != "" {
		errs["Password"] = msg
	} else if f.Password != f.Confirm {
		errs["Confirm"] = "The two passwords do not match."
	}
	return errs
}

// Setup creates the first organisation and its administrator, consuming the
// set-up token in the same transaction.
func (s *Service) Setup(ctx context.Context, token string, f SetupForm, ip string) (store.User, error) {
	hash, err := HashPassword(f.Password)
	if err != nil {
		return store.User{}, err
	}
	var admin store.User
	err = s.store.WithTx(ctx, func(tx *store.Store) error {
		if err := tx.UseSetupToken(ctx, hashToken(token), s.now()); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return ErrSetupClosed
			}
			return err
		}
		org, err := tx.CreateOrganisation(ctx, f.OrgName, f.HPIO)
		if err != nil {
			return err
		}
		admin, err = tx.CreateUser(ctx, store.NewUser{OrganisationID: org.ID, Email: f.Email, DisplayName: f.AdminName,
			Role: store.RoleAdmin, PasswordHash: hash})
		if err != nil {
			return err
		}
		return tx.Audit(ctx, store.AuditEvent{OrganisationID: org.ID, UserID: admin.ID, Action: "setup.completed", IP: ip,
			Detail: map[string]string{"hpio": org.HPIO}})
	})
	return admin, err
}

// ValidEmail is a plain shape check; delivery proves the rest.
func ValidEmail(s string) bool {
	at := strings.LastIndexByte(s, '@')
	return at > 0 && at < len(s)-3 && strings.Contains(s[at:], ".") && !strings.ContainsAny(s, " <>\"\r\n") && len(s) <= 254
}

// SessionID is the stored ID of the session whose cookie token is token.
func SessionID(token string) string { return hashToken(token) }

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
