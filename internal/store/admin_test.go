package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/opensmd/portal/internal/store"
	"github.com/opensmd/portal/internal/store/storetest"
)

func newInvite(t *testing.T, st *store.Store, orgID, hash string, now time.Time, ttl time.Duration) store.Invite {
	t.Helper()
	inv, err := st.CreateInvite(context.Background(), store.NewInvite{OrganisationID: orgID, TokenHash: hash, Email: hash[:8] + "@invite.test",
		DisplayName: "Invitee", Role: store.RoleClinician, CreatedAt: now, ExpiresAt: now.Add(ttl)})
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

const (
	hashA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	hashB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

// accept is what admin.AcceptInvite does: claim, create, complete.
func accept(ctx context.Context, st *store.Store, hash string, now time.Time, email string) error {
	return st.WithTx(ctx, func(tx *store.Store) error {
		inv, err := tx.ClaimInvite(ctx, hash, now)
		if err != nil {
			return err
		}
		u, err := tx.CreateUser(ctx, store.NewUser{OrganisationID: inv.OrganisationID, Email: email, DisplayName: "N",
			Role: inv.Role, PasswordHash: "x"})
		if err != nil {
			return err
		}
		return tx.CompleteInvite(ctx, inv.ID, u.ID, now)
	})
}

func TestInvites_SingleUseUnderConcurrency(t *testing.T) {
	t.Parallel()
	st := store.New(storetest.DB(t))
	ctx := context.Background()
	admin := newOrgUser(t, st, "8003620000000013", "admin@a.test")
	now := time.Now()
	inv := newInvite(t, st, admin.OrganisationID, hashA, now, time.Hour)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Distinct e-mails, so only the invite's single use can stop a
			// second account.
			errs[i] = accept(ctx, st, hashA, now, "n"+string(rune('a'+i))+"@a.test")
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, store.ErrNotFound):
			t.Errorf("concurrent accept: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d acceptances succeeded, want 1", ok)
	}
	users, _ := st.OrgUsers(ctx, admin.OrganisationID)
	if len(users) != 2 {
		t.Fatalf("%d users, want the admin and one invitee", len(users))
	}
	got, _ := st.InviteByTokenHash(ctx, hashA)
	if got.Status(now) != store.InviteAccepted || got.UserID == "" || got.ID != inv.ID {
		t.Fatalf("invite after acceptance: %+v", got)
	}
}

func TestInvites_ExpiryCancelAndOrgScope(t *testing.T) {
	t.Parallel()
	st := store.New(storetest.DB(t))
	ctx := context.Background()
	a := newOrgUser(t, st, "8003620000000013", "admin@a.test")
	b := newOrgUser(t, st, "8003620000000021", "admin@b.test")
	now := time.Now()
	expiring := newInvite(t, st, a.OrganisationID, hashA, now, time.Hour)
	if err := accept(ctx, st, hashA, now.Add(time.Hour), "late@a.test"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("accept at expiry: %v", err)
	}
	if s := expiring.Status(now.Add(time.Hour)); s != store.InviteExpired {
		t.Fatalf("status at expiry: %s", s)
	}
	cancel := newInvite(t, st, a.OrganisationID, hashB, now, time.Hour)
	if _, err := st.CancelInvite(ctx, b.OrganisationID, cancel.ID, now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("cancel from another organisation: %v", err)
	}
	if _, err := st.CancelInvite(ctx, a.OrganisationID, cancel.ID, now); err != nil {
		t.Fatal(err)
	}
	if err := accept(ctx, st, hashB, now, "x@a.test"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("accept a cancelled invite: %v", err)
	}
	if _, err := st.CancelInvite(ctx, a.OrganisationID, cancel.ID, now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("cancel twice: %v", err)
	}
	if _, err := st.CreateInvite(ctx, store.NewInvite{OrganisationID: a.OrganisationID, TokenHash: "c" + hashA[1:],
		Email: "ADMIN@b.test", DisplayName: "Dup", Role: store.RoleReception, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("invite an address that has an account: %v", err)
	}
	list, _ := st.OrgInvites(ctx, b.OrganisationID)
	if len(list) != 0 {
		t.Fatalf("organisation B sees %d of A's invites", len(list))
	}
}

func TestSessions_RevokeScopedToOrganisationAndUser(t *testing.T) {
	t.Parallel()
	st := store.New(storetest.DB(t))
	ctx := context.Background()
	a := newOrgUser(t, st, "8003620000000013", "a@a.test")
	b := newOrgUser(t, st, "8003620000000021", "b@b.test")
	now := time.Now()
	for i, u := range []store.User{a, a, a, b} {
		id := string(rune('p'+i)) + hashA[1:]
		if err := st.CreateSession(ctx, store.Session{ID: id, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	mine, _ := st.UserSessions(ctx, a.OrganisationID, a.ID, now)
	theirs, _ := st.UserSessions(ctx, b.OrganisationID, b.ID, now)
	if len(mine) != 3 || len(theirs) != 1 {
		t.Fatalf("sessions: %d and %d", len(mine), len(theirs))
	}
	if none, _ := st.UserSessions(ctx, a.OrganisationID, b.ID, now); len(none) != 0 {
		t.Fatal("another organisation's user's sessions listed")
	}
	if err := st.RevokeUserSession(ctx, a.OrganisationID, a.ID, theirs[0].Ref); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoke another user's session: %v", err)
	}
	if err := st.RevokeUserSession(ctx, a.OrganisationID, a.ID, mine[0].Ref); err != nil {
		t.Fatal(err)
	}
	n, err := st.RevokeUserSessions(ctx, a.OrganisationID, a.ID, mine[1].ID)
	if err != nil || n != 1 {
		t.Fatalf("revoke all but one: %d %v", n, err)
	}
	left, _ := st.UserSessions(ctx, a.OrganisationID, a.ID, now)
	if len(left) != 1 || left[0].ID != mine[1].ID {
		t.Fatalf("left: %+v", left)
	}
	if n, _ := st.RevokeUserSessions(ctx, a.OrganisationID, b.ID); n != 0 {
		t.Fatal("revoked another organisation's sessions")
	}
	if theirs, _ := st.UserSessions(ctx, b.OrganisationID, b.ID, now); len(theirs) != 1 {
		t.Fatal("other organisation's session ended")
	}
}

func TestAdmins_LastActiveAdminIsKept(t *testing.T) {
	t.Parallel()
	st := store.New(storetest.DB(t))
	ctx := context.Background()
	org, err := st.CreateOrganisation(ctx, "Org", "8003620000000013")
	if err != nil {
		t.Fatal(err)
	}
	mk := func(email string) store.User {
		u, err := st.CreateUser(ctx, store.NewUser{OrganisationID: org.ID, Email: email, DisplayName: "A", Role: store.RoleAdmin, PasswordHash: "x"})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	a1, a2 := mk("a1@a.test"), mk("a2@a.test")
	// Two admins demote each other at once: one must be refused.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, u := range []store.User{a1, a2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = st.SetUserRole(ctx, org.ID, u.ID, store.RoleClinician)
		}()
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) || !(errors.Is(errs[0], store.ErrLastAdmin) || errors.Is(errs[1], store.ErrLastAdmin)) {
		t.Fatalf("concurrent demotions: %v, %v", errs[0], errs[1])
	}
	last := a1
	if errs[0] == nil {
		last = a2
	}
	if err := st.SetUserActive(ctx, org.ID, last.ID, false); !errors.Is(err, store.ErrLastAdmin) {
		t.Fatalf("deactivate the last admin: %v", err)
	}
	if _, err := st.SetUserRole(ctx, org.ID, last.ID, store.RoleAdmin); err != nil {
		t.Fatalf("keep the role: %v", err)
	}
}
