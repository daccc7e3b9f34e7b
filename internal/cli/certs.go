package cli

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/opensmd/portal/internal/hi"
	"github.com/opensmd/portal/internal/provider"
	"github.com/opensmd/portal/internal/store"
)

const certUsage = "usage: portal cert import --org HPIO --p12 FILE --password-file FILE [--active-from RFC3339] | " +
	"cert list --org HPIO | cert csr --org HPIO --out FILE | cert install --org HPIO --cert FILE [--active-from RFC3339] | " +
	"cert retire --org HPIO --ski HEX"

// runCert implements `portal cert`: an organisation's certificates.
func runCert(ctx context.Context, env Env, args []string) error {
	if len(args) == 0 {
		return usageError{certUsage}
	}
	switch args[0] {
	case "import":
		return certImport(ctx, env, args[1:])
	case "list":
		return certList(ctx, env, args[1:])
	case "csr":
		return certCSR(ctx, env, args[1:])
	case "install":
		return certInstall(ctx, env, args[1:])
	case "retire":
		return certRetire(ctx, env, args[1:])
	}
	return usageError{fmt.Sprintf("unknown cert command %q (import, list, csr, install, retire)", args[0])}
}

// hpioArg accepts an HPI-O (spaces allowed) or an organisation URI.
func hpioArg(v string) (string, error) {
	if strings.HasPrefix(v, "http") {
		return provider.HPIOFromURI(v)
	}
	d, err := hi.Validate(hi.HPIO, v)
	if err != nil {
		return "", fmt.Errorf("--org %q: %w", v, err)
	}
	return d, nil
}

// withOrg runs fn with the hosted organisation named by --org.
func withOrg(ctx context.Context, env Env, org string, fn func(st *store.Store, master []byte, o store.Organisation) error) error {
	if org == "" {
		return usageError{"--org HPIO is required"}
	}
	hpio, err := hpioArg(org)
	if err != nil {
		return usageError{err.Error()}
	}
	return withStore(ctx, env, func(st *store.Store, master []byte) error {
		o, err := st.OrganisationByHPIO(ctx, hpio)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no organisation with HPI-O %s is hosted here", hpio)
		}
		if err != nil {
			return err
		}
		return fn(st, master, o)
	})
}

func parseActiveFrom(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, usageError{"--active-from must be an RFC 3339 time, e.g. 2026-07-01T09:00:00+10:00"}
	}
	return t, nil
}

func certImport(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet("cert import", env)
	org := fs.String("org", "", "the organisation's HPI-O")
	p12File := fs.String("p12", "", "PKCS#12 file (.p12 or .pfx) holding the certificate and its private key")
	passFile := fs.String("password-file", "", "file holding the PKCS#12 password (one line); never pass it as an argument")
	activeFrom := fs.String("active-from", "", "when it becomes the signing and published certificate (RFC 3339; default now)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *p12File == "" || *passFile == "" {
		return usageError{"--org, --p12 and --password-file are required"}
	}
	at, err := parseActiveFrom(*activeFrom)
	if err != nil {
		return err
	}
	p12, err := readNamedFile(*p12File, "PKCS#12")
	if err != nil {
		return err
	}
	pass, err := readNamedFile(*passFile, "password")
	if err != nil {
		return err
	}
	password := strings.TrimRight(string(pass), "\r\n")
	clear(pass)
	return withOrg(ctx, env, *org, func(st *store.Store, master []byte, o store.Organisation) error {
		k, err := provider.ImportPKCS12(ctx, st, master, o, p12, password, provider.ImportOptions{ActiveFrom: at})
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Imported %s for %s (SKI %s), in use from %s; workers load it within 30 s.\n",
			k.Subject, o.Name, hex.EncodeToString(k.SKI), k.ActiveFrom.UTC().Format(time.RFC3339))
		return nil
	})
}

func certList(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet("cert list", env)
	org := fs.String("org", "", "the organisation's HPI-O")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return withOrg(ctx, env, *org, func(st *store.Store, _ []byte, o store.Organisation) error {
		certs, err := provider.OrgCertificates(ctx, st, o.ID, time.Now())
		if err != nil {
			return err
		}
		pending, err := st.PendingKeys(ctx, o.ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "%-9s  %-40s  %-20s  %-20s  %s\n", "STATUS", "SKI", "IN USE FROM", "EXPIRES", "SUBJECT")
		for _, c := range certs {
			fmt.Fprintf(env.Stdout, "%-9s  %-40s  %-20s  %-20s  %s\n", c.Status, c.SKI,
				c.Key.ActiveFrom.UTC().Format(time.RFC3339), c.Key.NotAfter.UTC().Format(time.RFC3339), c.Key.Subject)
		}
		for _, p := range pending {
			fmt.Fprintf(env.Stdout, "%-9s  %-40s  %-20s  %-20s  %s\n", provider.StatusPending, "-",
				"-", "-", p.Subject+" (CSR "+p.CreatedAt.UTC().Format(time.RFC3339)+")")
		}
		if len(certs)+len(pending) == 0 {
			fmt.Fprintf(env.Stdout, "No certificate is installed for %s.\n", o.Name)
		}
		return nil
	})
}

func certCSR(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet("cert csr", env)
	org := fs.String("org", "", "the organisation's HPI-O")
	out := fs.String("out", "", "file to write the PEM certificate signing request to")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return usageError{"--org and --out are required"}
	}
	return withOrg(ctx, env, *org, func(st *store.Store, master []byte, o store.Organisation) error {
		pk, csr, err := provider.GenerateCSR(ctx, st, master, o, provider.Actor{})
		if err != nil {
			return err
		}
		if err := os.WriteFile(*out, csr, 0o644); err != nil {
			return fmt.Errorf("write CSR: %w", err)
		}
		fmt.Fprintf(env.Stdout, "Generated a key for %s and wrote its CSR (%s) to %s. Install the issued certificate with `portal cert install`.\n",
			o.Name, pk.Subject, *out)
		return nil
	})
}

func certInstall(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet("cert install", env)
	org := fs.String("org", "", "the organisation's HPI-O")
	certFile := fs.String("cert", "", "the issued certificate (PEM, intermediates after it, or DER)")
	activeFrom := fs.String("active-from", "", "when it becomes the signing and published certificate (RFC 3339; default now)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *certFile == "" {
		return usageError{"--org and --cert are required"}
	}
	at, err := parseActiveFrom(*activeFrom)
	if err != nil {
		return err
	}
	data, err := readNamedFile(*certFile, "certificate")
	if err != nil {
		return err
	}
	return withOrg(ctx, env, *org, func(st *store.Store, master []byte, o store.Organisation) error {
		k, err := provider.InstallCertificate(ctx, st, master, o, data, provider.ImportOptions{ActiveFrom: at})
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Installed %s for %s (SKI %s), in use from %s.\n", k.Subject, o.Name,
			hex.EncodeToString(k.SKI), k.ActiveFrom.UTC().Format(time.RFC3339))
		return nil
	})
}

func certRetire(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet("cert retire", env)
	org := fs.String("org", "", "the organisation's HPI-O")
	skiHex := fs.String("ski", "", "subject key identifier (hex, as `portal cert list` shows it)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ski, err := hex.DecodeString(strings.ReplaceAll(*skiHex, ":", ""))
	if err != nil || len(ski) == 0 {
		return usageError{"--org and --ski HEX are required"}
	}
	return withOrg(ctx, env, *org, func(st *store.Store, _ []byte, o store.Organisation) error {
		keys, err := st.OrgKeys(ctx, o.ID)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if k.RetiredAt == nil && bytes.Equal(k.SKI, ski) {
				if err := provider.RetireCertificate(ctx, st, o, k.ID, time.Now(), provider.Actor{}); err != nil {
					return err
				}
				fmt.Fprintf(env.Stdout, "Retired %s of %s.\n", k.Subject, o.Name)
				return nil
			}
		}
		return fmt.Errorf("%s has no certificate in use with SKI %s", o.Name, hex.EncodeToString(ski))
	})
}

// runTrustList implements `portal trust list`.
func runTrustList(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet("trust list", env)
	if err := fs.Parse(args); err != nil {
		return err
	}
	return withStore(ctx, env, func(st *store.Store, _ []byte) error {
		anchors, err := provider.TrustAnchorsFor(ctx, st, "", time.Now())
		if err != nil {
			return err
		}
		for _, a := range anchors {
			fmt.Fprintf(env.Stdout, "%s  expires %s  hosted certificates %d  directory entries %d\n  %s\n  SHA-256 %s\n",
				a.Anchor.ID, a.Anchor.NotAfter.UTC().Format("2006-01-02"), a.Hosted(), len(a.Directory), a.Anchor.Subject, a.Fingerprint)
		}
		if len(anchors) == 0 {
			fmt.Fprintln(env.Stdout, "No trust anchors.")
		}
		return nil
	})
}

// runTrustRemove implements `portal trust remove`.
func runTrustRemove(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet("trust remove", env)
	id := fs.String("id", "", "trust anchor id (from `portal trust list`)")
	force := fs.Bool("force", false, "remove it even though hosted certificates chain to it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *id == "" {
		return usageError{"usage: portal trust remove --id ID [--force]"}
	}
	return withStore(ctx, env, func(st *store.Store, _ []byte) error {
		if err := provider.RemoveTrustAnchor(ctx, st, *id, *force, time.Now(), provider.Actor{}); err != nil {
			var ce *provider.CertError
			if errors.As(err, &ce) && ce.Reason == provider.ReasonDependents {
				return errors.New(strings.Replace(ce.Msg, "Tick the confirmation", "Pass --force", 1))
			}
			return err
		}
		fmt.Fprintf(env.Stdout, "Trust anchor %s removed; workers stop trusting it within 30 s.\n", *id)
		return nil
	})
}
