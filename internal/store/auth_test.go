package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/opensmd/portal/internal/store"
	"github.com/opensmd/portal/internal/store/storetest"
)

func newOrgUser(t *testing.T, st *store.Store, hpio, email string) store.User {
	t.Helper()
	ctx := context.Background()
	o, err := st.CreateOrganisation(ctx, "Org "+hpio, hpio)
	if err != nil {
		t.Fatal(err)
	}
	u, err := st.CreateUser(ctx, store.NewUser{OrganisationID: o.ID, Email: email, DisplayName: "U", Role: store.RoleClinician, PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestUsers_EmailUniqueCaseInsensitiveAndOrgScoped(t *testing.T) {
	t.Parallel()
	st := store.New(storetest.DB(t))
	ctx := context.Background()
	a := newOrgUser(t, st, "8003620000000013", "Pat@Example.org")
	b := newOrgUser(t, st, "8003620000000021", "kim@example.org")
	if _, err := st.CreateUser(ctx, store.NewUser{OrganisationID: b.OrganisationID, Email: "pat@example.org", DisplayName: "P",
		Role: store.RoleAdmin, PasswordHash: "x"}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate e-mail in another case: %v", err)
	}
	if u, err := st.UserByEmail(ctx, "PAT@example.ORG"); err != nil || u.ID != a.ID {
		t.Fatalf("case-insensitive lookup: %v", err)
	}
	if _, err := st.OrgUser(ctx, b.OrganisationID, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("user of another organisation: %v", err)
	}
	if _, err := st.OrgUser(ctx, a.OrganisationID, "../../etc"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("malformed id: %v", err)
	}
	users, err := st.OrgUsers(ctx, a.OrganisationID)
	if err != nil || len(users) != 1 || users[0].ID != a.ID {
		t.Fatalf("org users: %v %v", users, err)
	}
}

func TestUsers_LockoutAndTOTPReplay(t *testing.T) {
	t.Parallel()
	st := store.New(storetest.DB(t))
	ctx := context.Background()
	u := newOrgUser(t, st, "8003620000000013", "a@example.org")
	until := time.Now().Add(time.Hour)
	for i := 1; i <= 3; i++ {
		got, err := st.RecordLoginFailure(ctx, u.ID, 3, until)
		if err != nil {
			t.Fatal(err)
		}
		if locked := got.LockedUntil != nil; locked != (i == 3) {
			t.Fatalf("after %d failures locked=%v", i, locked)
		}
	}
	if err := st.ResetLoginFailures(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.UserByID(ctx, u.ID); got.FailedLogins != 0 || got.LockedUntil != nil {
		t.Fatalf("reset: %+v", got)
	}
	if err := st.AdvanceTOTPStep(ctx, u.ID, 100); err != nil {
		t.Fatal(err)
	}
	for _, step := range []int64{100, 99} {
		if err := st.AdvanceTOTPStep(ctx, u.ID, step); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("step %d replay: %v", step, err)
		}
	}
}

func TestSetupToken_UsableOnceBeforeExpiry(t *testing.T) {
	t.Parallel()
	st := store.New(storetest.DB(t))
	ctx := context.Background()
	now := time.Now()
	if err := st.CreateSetupToken(ctx, "0123456789abcdef0123456789abcdef", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateSetupToken(ctx, "fedcba9876543210fedcba9876543210", now.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := st.UseSetupToken(ctx, "fedcba9876543210fedcba9876543210", now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired token: %v", err)
	}
	if err := st.UseSetupToken(ctx, "0123456789abcdef0123456789abcdef", now); err != nil {
		t.Fatal(err)
	}
	if err := st.UseSetupToken(ctx, "0123456789abcdef0123456789abcdef", now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second use: %v", err)
	}
}

func TestAudit_AppendOnly(t *testing.T) {
	t.Parallel()
	pool := storetest.DB(t)
	st := store.New(pool)
	ctx := context.Background()
	u := newOrgUser(t, st, "8003620000000013", "a@example.org")
	if err := st.Audit(ctx, store.AuditEvent{OrganisationID: u.OrganisationID, UserID: u.ID, Action: "login.success", IP: "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE audit_events SET action = 'tampered'`); err == nil {
		t.Fatal("audit row updated")
	}
	if _, err := pool.Exec(ctx, `DELETE FROM audit_events`); err == nil {
		t.Fatal("audit row deleted")
	}
	events, err := st.OrgAuditEvents(ctx, u.OrganisationID, 10)
	if err != nil || len(events) != 1 || events[0].UserName != "U" {
		t.Fatalf("events %+v %v", events, err)
	}
}

func TestWithTx_RollsBackEverythingOnError(t *testing.T) {
	t.Parallel()
	st := store.New(storetest.DB(t))
	ctx := context.Background()
	boom := errors.New("boom")
	err := st.WithTx(ctx, func(tx *store.Store) error {
		if _, err := tx.CreateOrganisation(ctx, "Half", "8003620000000013"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("WithTx: %v", err)
	}
	if n, _ := st.CountOrganisations(ctx); n != 0 {
		t.Fatalf("%d organisations after rollback", n)
	}
}
