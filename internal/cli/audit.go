package cli

import (
	"context"
	"fmt"

	"github.com/opensmd/portal/internal/store"
)

// runAudit implements `portal audit verify`: recompute the audit trail's
// hash chain and name the first changed, deleted or reordered row.
func runAudit(ctx context.Context, env Env, args []string) error {
	if len(args) == 0 || args[0] != "verify" {
		return usageError{"usage: portal audit verify"}
	}
	fs := newFlagSet("audit verify", env)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	return withStore(ctx, env, func(st *store.Store, _ []byte) error {
		n, problem, err := st.VerifyAudit(ctx)
		if err != nil {
			return err
		}
		if problem != nil {
			return fmt.Errorf("audit trail is NOT intact: row %d: %s (%d rows read)", problem.ID, problem.Reason, n)
		}
		fmt.Fprintf(env.Stdout, "Audit trail intact: %d rows, hash chain verified.\n", n)
		return nil
	})
}
