package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/opensmd/portal/internal/admin"
	"github.com/opensmd/portal/internal/config"
	"github.com/opensmd/portal/internal/store"
)

const userUsage = `usage:
  portal user invite --org HPIO --email ADDRESS --name NAME --role admin|clinician|reception
  portal user list --org HPIO [--json]
  portal user role --email ADDRESS --role admin|clinician|reception
  portal user deactivate|reactivate|reset-mfa|sessions|logout --email ADDRESS`

// runUser implements `portal user …`: the users administration of the web
// pages, for automation. Every change is audited as coming from the
// command line.
func runUser(ctx context.Context, env Env, args []string) error {
	if len(args) == 0 {
		return usageError{userUsage}
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "invite":
		return runUserInvite(ctx, env, rest)
	case "list":
		return runUserList(ctx, env, rest)
	case "role", "deactivate", "reactivate", "reset-mfa", "sessions", "logout":
		return runUserAction(ctx, env, sub, rest)
	}
	return usageError{userUsage}
}

// orgHPIO accepts an HPI-O (16 digits, spaces allowed) or an organisation
// URI.
func loadOrg(ctx context.Context, st *store.Store, flagValue string) (store.Organisation, error) {
	hpio, err := hpioArg(flagValue)
	if err != nil {
		return store.Organisation{}, usageError{err.Error()}
	}
	o, err := st.OrganisationByHPIO(ctx, hpio)
	if errors.Is(err, store.ErrNotFound) {
		return o, fmt.Errorf("no organisation with HPI-O %s is hosted here", hpio)
	}
	return o, err
}

func runUserInvite(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet("user invite", env)
	org := fs.String("org", "", "the organisation's HPI-O")
	var f admin.InviteForm
	fs.StringVar(&f.Email, "email", "", "the person's e-mail address (their sign-in name)")
	fs.StringVar(&f.Name, "name", "", "the person's name")
	fs.StringVar(&f.Role, "role", "", "admin, clinician or reception")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *org == "" {
		return usageError{"--org is required"}
	}
	cfg, err := config.Load(env.Getenv)
	if err != nil {
		return fmt.Errorf("configuration is invalid:\n%w", err)
	}
	return withStore(ctx, env, func(st *store.Store, _ []byte) error {
		o, err := loadOrg(ctx, st, *org)
		if err != nil {
			return err
		}
		token, inv, errs, err := admin.New(st, nil).Invite(ctx, admin.Actor{}, o.ID, f)
		if err != nil {
			return err
		}
		if len(errs) > 0 {
			return usageError{fieldErrors(errs, map[string]string{"Email": "--email", "Name": "--name", "Role": "--role"})}
		}
		fmt.Fprintf(env.Stdout, "Invited %s (%s) to %s as %s. Send them this one-time link (valid until %s):\n\n    %s%s\n",
			inv.DisplayName, inv.Email, o.Name, admin.RoleLabel(inv.Role), inv.ExpiresAt.Format(time.RFC3339),
			strings.TrimSuffix(cfg.HTTP.BaseURL, "/"), admin.InviteLink(token))
		return nil
	})
}

func fieldErrors(errs map[string]string, flags map[string]string) string {
	var parts []string
	for field, msg := range errs {
		parts = append(parts, flags[field]+": "+msg)
	}
	return strings.Join(parts, "; ")
}

type userJSON struct {
	ID         string     `json:"id"`
	Email      string     `json:"email"`
	Name       string     `json:"name"`
	Role       string     `json:"role"`
	MFA        bool       `json:"mfa"`
	Active     bool       `json:"active"`
	LastSignIn *time.Time `json:"last_sign_in"`
}

func runUserList(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet("user list", env)
	org := fs.String("org", "", "the organisation's HPI-O")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *org == "" {
		return usageError{"--org is required"}
	}
	return withStore(ctx, env, func(st *store.Store, _ []byte) error {
		o, err := loadOrg(ctx, st, *org)
		if err != nil {
			return err
		}
		users, err := st.OrgUserAccounts(ctx, o.ID)
		if err != nil {
			return err
		}
		out := make([]userJSON, len(users))
		for i, u := range users {
			out[i] = userJSON{u.ID, u.Email, u.DisplayName, u.Role, u.MFAEnabled(), u.Active, u.LastSignInAt}
		}
		if *asJSON {
			enc := json.NewEncoder(env.Stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(out)
		}
		w := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "EMAIL\tNAME\tROLE\tMFA\tSTATUS\tLAST SIGN-IN")
		for _, u := range out {
			last := "never"
			if u.LastSignIn != nil {
				last = u.LastSignIn.Format(time.RFC3339)
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", u.Email, u.Name, u.Role, onOff(u.MFA), activeWord(u.Active), last)
		}
		return w.Flush()
	})
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func activeWord(b bool) string {
	if b {
		return "active"
	}
	return "deactivated"
}

// runUserAction implements the commands that act on one user, found by
// e-mail address (unique portal-wide).
func runUserAction(ctx context.Context, env Env, sub string, args []string) error {
	fs := newFlagSet("user "+sub, env)
	email := fs.String("email", "", "the user's e-mail address")
	var role *string
	if sub == "role" {
		role = fs.String("role", "", "admin, clinician or reception")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *email == "" || (role != nil && *role == "") {
		return usageError{userUsage}
	}
	return withStore(ctx, env, func(st *store.Store, _ []byte) error {
		u, err := st.UserByEmail(ctx, strings.TrimSpace(*email))
		if err != nil {
			return fmt.Errorf("user %s: %w", *email, err)
		}
		return userAction(ctx, env, admin.New(st, nil), st, u, sub, role)
	})
}

func userAction(ctx context.Context, env Env, svc *admin.Service, st *store.Store, u store.User, sub string, role *string) error {
	cli := admin.Actor{}
	switch sub {
	case "role":
		updated, err := svc.ChangeRole(ctx, cli, u.OrganisationID, u.ID, *role)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "%s is now %s.\n", updated.Email, admin.RoleLabel(updated.Role))
	case "deactivate", "reactivate":
		if _, err := svc.SetActive(ctx, cli, u.OrganisationID, u.ID, sub == "reactivate"); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "%s is %sd.\n", u.Email, sub)
	case "reset-mfa":
		if _, err := svc.ResetMFA(ctx, cli, u.OrganisationID, u.ID); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Two-step sign-in of %s is reset and their sessions are ended; they enrol again at their next sign-in.\n", u.Email)
	case "logout":
		n, err := svc.RevokeSessions(ctx, cli, u.OrganisationID, u.ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Ended %d session%s of %s.\n", n, plural(n, "", "s"), u.Email)
	case "sessions":
		sessions, err := st.UserSessions(ctx, u.OrganisationID, u.ID, time.Now())
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "REF\tCREATED\tLAST SEEN\tIP\tUSER AGENT")
		for _, s := range sessions {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", s.Ref, s.CreatedAt.Format(time.RFC3339), s.LastSeenAt.Format(time.RFC3339), s.IP, s.UserAgent)
		}
		return w.Flush()
	}
	return nil
}

// runOrgCommand dispatches `portal org settings` here and `portal org add`
// to runOrg.
func runOrgCommand(ctx context.Context, env Env, args []string) error {
	if len(args) > 0 && args[0] == "settings" {
		return runOrgSettings(ctx, env, args[1:])
	}
	return runOrg(ctx, env, args)
}

// runOrgSettings implements `portal org settings`: print an organisation's
// settings, or change the ones given as flags (validated and audited like
// the settings page).
func runOrgSettings(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet("org settings", env)
	org := fs.String("org", "", "the organisation's HPI-O")
	vals := map[string]*string{}
	for _, name := range []string{"name", "address", "suburb", "state", "postcode", "phone", "receiving-application",
		"receiving-facility", "delivery"} {
		vals[name] = fs.String(name, "", "set "+name)
	}
	var cats stringList
	fs.Var(&cats, "category", "an accepted service category URI (repeatable; replaces the list)")
	clearCats := fs.Bool("all-categories", false, "accept every document type (clears the list)")
	requireTOTP := fs.String("require-totp", "", "true or false")
	operator := fs.String("operator", "", "true or false: whether its administrators manage the provider-wide trust store")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *org == "" {
		return usageError{"--org is required"}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return withStore(ctx, env, func(st *store.Store, _ []byte) error {
		o, err := loadOrg(ctx, st, *org)
		if err != nil {
			return err
		}
		f := admin.FormFor(o)
		apply := map[string]*string{"name": &f.Name, "address": &f.AddressLine, "suburb": &f.Suburb, "state": &f.State,
			"postcode": &f.Postcode, "phone": &f.Phone, "receiving-application": &f.ReceivingApplication,
			"receiving-facility": &f.ReceivingFacility, "delivery": &f.DeliveryMode}
		for name, dst := range apply {
			if set[name] {
				*dst = *vals[name]
			}
		}
		if set["category"] {
			f.Categories = cats
		}
		if *clearCats {
			f.Categories = nil
		}
		if set["require-totp"] {
			switch *requireTOTP {
			case "true":
				f.RequireTOTP = true
			case "false":
				f.RequireTOTP = false
			default:
				return usageError{"--require-totp must be true or false"}
			}
		}
		// The operator flag is applied after the other settings are
		// validated and saved, so a refused flag changes nothing.
		var operatorOn *bool
		if set["operator"] {
			if *operator != "true" && *operator != "false" {
				return usageError{"--operator must be true or false"}
			}
			on := *operator == "true"
			operatorOn = &on
			delete(set, "operator")
		}
		if len(set) > 1 {
			updated, errs, err := admin.New(st, nil).UpdateSettings(ctx, admin.Actor{}, o.ID, f)
			if err != nil {
				return err
			}
			if len(errs) > 0 {
				return usageError{fieldErrors(errs, map[string]string{"Name": "--name", "AddressLine": "--address", "Suburb": "--suburb",
					"State": "--state", "Postcode": "--postcode", "Phone": "--phone", "ReceivingApplication": "--receiving-application",
					"ReceivingFacility": "--receiving-facility", "Categories": "--category", "DeliveryMode": "--delivery"})}
			}
			o = updated
		}
		if operatorOn != nil {
			err := st.WithTx(ctx, func(tx *store.Store) error {
				if err := tx.SetOperator(ctx, o.ID, *operatorOn); err != nil {
					return err
				}
				return tx.Audit(ctx, store.AuditEvent{OrganisationID: o.ID, Action: "org.operator_changed",
					Detail: map[string]string{"operator": *operator, "by": "cli"}})
			})
			if err != nil {
				return err
			}
			o.Operator = *operatorOn
		}
		return printOrgSettings(env, o)
	})
}

func printOrgSettings(env Env, o store.Organisation) error {
	w := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	for _, kv := range [][2]string{{"HPI-O", o.HPIO}, {"Name", o.Name}, {"Address", o.AddressLine}, {"Suburb", o.Suburb},
		{"State", o.State}, {"Postcode", o.Postcode}, {"Phone", o.Phone}, {"Receiving application", o.ReceivingApplication},
		{"Receiving facility", o.ReceivingFacility}, {"Accepted categories", strings.Join(o.AcceptedCategories, " ")},
		{"Delivery", o.DeliveryMode}, {"Require TOTP", fmt.Sprint(o.RequireTOTP)}, {"Operator", fmt.Sprint(o.Operator)}} {
		fmt.Fprintf(w, "%s:\t%s\n", kv[0], kv[1])
	}
	return w.Flush()
}
