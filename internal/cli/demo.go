package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/opensmd/portal/internal/auth"
	"github.com/opensmd/portal/internal/hi"
	"github.com/opensmd/portal/internal/store"
)

// demoPassword is published in the README: demo accounts are for trying the
// product, never for real patients.
const demoPassword = "demo-password-not-for-real-use"

type demoUser struct{ name, email, role string }

var demoOrg = struct {
	name, hpio string
	users      []demoUser
}{
	name: "DEMO Greenfield Family Practice",
	hpio: hi.WithCheckDigit("800362999900001"),
	users: []demoUser{
		{"DEMO Dr Alex Admin", "admin@greenfield.demo", store.RoleAdmin},
		{"DEMO Dr Casey Clinician", "gp@greenfield.demo", store.RoleClinician},
		{"DEMO Robin Reception", "reception@greenfield.demo", store.RoleReception},
	},
}

func runDemo(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet("demo", env)
	if err := fs.Parse(args); err != nil {
		return err
	}
	var created bool
	err := withStore(ctx, env, func(st *store.Store, _ []byte) error {
		var err error
		created, err = seedDemo(ctx, st)
		return err
	})
	if err != nil {
		return err
	}
	if !created {
		fmt.Fprintln(env.Stdout, "The DEMO organisation is already loaded.")
	} else {
		fmt.Fprintln(env.Stdout, "Loaded the DEMO organisation (demo data only: never enter real patient information).")
	}
	fmt.Fprintf(env.Stdout, "\nDemo accounts (password %q for each):\n", demoPassword)
	for _, u := range demoOrg.users {
		fmt.Fprintf(env.Stdout, "  %-28s %s\n", u.email, u.role)
	}
	fmt.Fprintln(env.Stdout, "\nThe administrator sets up two-step sign-in at first sign-in.")
	return nil
}

// seedDemo creates the demo organisation and users in one transaction; it
// does nothing when they exist already.
func seedDemo(ctx context.Context, st *store.Store) (bool, error) {
	hash, err := auth.HashPassword(demoPassword)
	if err != nil {
		return false, err
	}
	err = st.WithTx(ctx, func(tx *store.Store) error {
		org, err := tx.CreateOrganisation(ctx, demoOrg.name, demoOrg.hpio)
		if err != nil {
			return err
		}
		for _, u := range demoOrg.users {
			if _, err := tx.CreateUser(ctx, store.NewUser{OrganisationID: org.ID, Email: u.email, DisplayName: u.name,
				Role: u.role, PasswordHash: hash}); err != nil {
				return err
			}
		}
		return tx.Audit(ctx, store.AuditEvent{OrganisationID: org.ID, Action: "demo.loaded"})
	})
	if errors.Is(err, store.ErrConflict) {
		return false, nil
	}
	return err == nil, err
}
