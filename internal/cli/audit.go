package cli

import (
	"context"
	"fmt"
	"slices"

	"github.com/opensmd/portal/internal/auditcheck"
	"github.com/opensmd/portal/internal/auditexport"
	"github.com/opensmd/portal/internal/store"
)

// runAudit implements `portal audit verify`: recompute the audit trail's
// hash chain and name the first changed, deleted or reordered row. The
// result is recorded (source cli) for the audit page.
func runAudit(ctx context.Context, env Env, args []string) error {
	if len(args) > 0 && args[0] == "export" {
		return runAuditExport(ctx, env, args[1:])
	}
	if len(args) == 0 || args[0] != "verify" {
		return usageError{"usage: portal audit verify | portal audit export --org URI [--format csv|json]"}
	}
	fs := newFlagSet("audit verify", env)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	return withStore(ctx, env, func(st *store.Store, _ []byte) error {
		c, err := auditcheck.Run(ctx, st, store.AuditCheckCLI)
		if err != nil {
			return err
		}
		if !c.OK {
			return fmt.Errorf("audit trail is NOT intact: row %d: %s (%d rows read)", c.Problem.ID, c.Problem.Reason, c.Rows)
		}
		fmt.Fprintf(env.Stdout, "Audit trail intact: %d rows, hash chain verified.\n", c.Rows)
		return nil
	})
}

// runAuditExport implements `portal audit export`: an organisation's audit
// events as CSV or JSON, oldest first.
func runAuditExport(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet("audit export", env)
	org := fs.String("org", "", "organisation URI (hosted here)")
	format := fs.String("format", "csv", "csv or json")
	limit := fs.Int("limit", 100000, "at most this many of the newest events")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *org == "" || (*format != "csv" && *format != "json") {
		return usageError{"usage: portal audit export --org URI [--format csv|json] [--limit N]"}
	}
	return withOrg(ctx, env, *org, func(st *store.Store, _ []byte, o store.Organisation) error {
		events, err := st.OrgAuditEvents(ctx, o.ID, *limit)
		if err != nil {
			return err
		}
		slices.Reverse(events) // oldest first
		if *format == "json" {
			return auditexport.WriteJSON(env.Stdout, events)
		}
		return auditexport.WriteCSV(env.Stdout, events)
	})
}
