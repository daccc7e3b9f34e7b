package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/opensmd/portal/internal/config"
	"github.com/opensmd/portal/internal/store"
)

// demoPassword is published in the README: demo accounts are for trying the
// product, never for real patients.
const demoPassword = "demo-password-not-for-real-use"

func runDemo(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet("demo", env)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(env.Getenv)
	if err != nil {
		return fmt.Errorf("configuration is invalid:\n%w", err)
	}
	var loaded bool
	err = withStore(ctx, env, func(st *store.Store, master []byte) error {
		_, err := loadDemoNetwork(ctx, st, master, cfg.DataDir, cfg.SMD)
		if errors.Is(err, errDemoLoaded) {
			loaded = true
			return nil
		}
		return err
	})
	if err != nil {
		return err
	}
	if loaded {
		fmt.Fprintln(env.Stdout, "The DEMO network is already loaded.")
	} else {
		fmt.Fprintln(env.Stdout, "Loaded the DEMO network: a GP practice, a specialist and an allied-health clinic (demo data only: never enter real patient information).")
		fmt.Fprintln(env.Stdout, "Its SMD endpoint starts with the portal: go tool task run")
	}
	printDemoAccounts(env)
	return nil
}

func printDemoAccounts(env Env) {
	fmt.Fprintf(env.Stdout, "\nDemo accounts (password %q for each):\n", demoPassword)
	for _, o := range demoNetwork {
		fmt.Fprintf(env.Stdout, "  %s\n", o.name)
		for _, u := range o.users {
			fmt.Fprintf(env.Stdout, "    %-28s %s\n", u.email, u.role)
		}
	}
	fmt.Fprintln(env.Stdout, "\nAdministrators set up two-step sign-in at first sign-in.")
}
