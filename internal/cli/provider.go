package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/opensmd/portal/internal/provider"
	"github.com/opensmd/portal/internal/store"
)

// runOrg implements `portal org add`: store a hosted organisation's
// certificate and private key (creating the organisation if needed).
func runOrg(ctx context.Context, env Env, args []string) error {
	if len(args) == 0 || args[0] != "add" {
		return usageError{"usage: portal org add --org-uri URI --name NAME --cert FILE --key FILE [--delivery push|retrieve]"}
	}
	fs := newFlagSet("org add", env)
	orgURI := fs.String("org-uri", "", "organisation URI: "+"http://ns.electronichealth.net.au/id/hi/hpio/1.0/ followed by the HPI-O")
	name := fs.String("name", "", "organisation name (used only when the organisation is new)")
	certFile := fs.String("cert", "", "PEM certificate file (NASH organisation certificate)")
	keyFile := fs.String("key", "", "PEM private key file of the certificate")
	delivery := fs.String("delivery", "", "how it takes delivery: push (portal inbox, the default for a new organisation) or retrieve (held for its software to fetch over SMR)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *delivery != "" && *delivery != store.DeliveryPush && *delivery != store.DeliveryRetrieve {
		return usageError{"--delivery must be push or retrieve"}
	}
	if *orgURI == "" || *name == "" || *certFile == "" || *keyFile == "" {
		return usageError{"--org-uri, --name, --cert and --key are required"}
	}
	certPEM, err := readNamedFile(*certFile, "certificate")
	if err != nil {
		return err
	}
	keyPEM, err := readNamedFile(*keyFile, "private key")
	if err != nil {
		return err
	}
	return withStore(ctx, env, func(st *store.Store, master []byte) error {
		org, err := provider.AddOrg(ctx, st, master, *orgURI, *name, certPEM, keyPEM)
		if err != nil {
			return err
		}
		if *delivery != "" {
			if err := st.SetDeliveryMode(ctx, org.ID, *delivery); err != nil {
				return err
			}
			org.DeliveryMode = *delivery
		}
		fmt.Fprintf(env.Stdout, "Added key for organisation %q (HPI-O %s, id %s, delivery %s).\n", org.Name, org.HPIO, org.ID, org.DeliveryMode)
		return nil
	})
}

// runTrust implements `portal trust add`: add CA certificates as trust
// anchors.
func runTrust(ctx context.Context, env Env, args []string) error {
	if len(args) == 0 || args[0] != "add" {
		return usageError{"usage: portal trust add --ca FILE"}
	}
	fs := newFlagSet("trust add", env)
	caFile := fs.String("ca", "", "PEM file of one or more CA certificates")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *caFile == "" {
		return usageError{"--ca FILE is required"}
	}
	b, err := readNamedFile(*caFile, "CA certificate")
	if err != nil {
		return err
	}
	return withStore(ctx, env, func(st *store.Store, _ []byte) error {
		anchors, err := provider.AddTrustAnchor(ctx, st, b)
		if err != nil {
			return err
		}
		for _, a := range anchors {
			fmt.Fprintf(env.Stdout, "Trusted CA %s (valid until %s).\n", a.Subject, a.NotAfter.UTC().Format("2006-01-02"))
		}
		return nil
	})
}

// runDirectory implements `portal directory add`: add or replace an
// organisation messages can be sent to.
func runDirectory(ctx context.Context, env Env, args []string) error {
	if len(args) == 0 || args[0] != "add" {
		return usageError{"usage: portal directory add --org-uri URI --name NAME --endpoint URL --cert FILE --category URI [--category URI …]"}
	}
	fs := newFlagSet("directory add", env)
	var e provider.DirectoryEntry
	fs.StringVar(&e.OrgURI, "org-uri", "", "the organisation's URI")
	fs.StringVar(&e.Name, "name", "", "the organisation's name")
	fs.StringVar(&e.Endpoint, "endpoint", "", "its SMD endpoint (https:// URL)")
	certFile := fs.String("cert", "", "PEM file of its payload-encryption certificate")
	var cats stringList
	fs.Var(&cats, "category", "service category URI it accepts (repeatable)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if e.OrgURI == "" || e.Name == "" || e.Endpoint == "" || *certFile == "" || len(cats) == 0 {
		return usageError{"--org-uri, --name, --endpoint, --cert and at least one --category are required"}
	}
	e.Categories = cats
	var err error
	if e.CertPEM, err = readNamedFile(*certFile, "encryption certificate"); err != nil {
		return err
	}
	return withStore(ctx, env, func(st *store.Store, _ []byte) error {
		d, err := provider.AddDirectoryEntry(ctx, st, e)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Directory entry for %s (%s) points at %s, %d service categor%s.\n",
			d.Name, d.OrgURI, d.EndpointURL, len(d.ServiceCategories), plural(len(d.ServiceCategories), "y", "ies"))
		return nil
	})
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// readNamedFile reads a file the operator named, saying which one failed.
func readNamedFile(path, what string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s file: %w", what, err)
	}
	return b, nil
}
