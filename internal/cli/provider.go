package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/opensmd/portal/internal/fhirpd"
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
		_, err = provider.SyncHostedListings(ctx, st)
		return err
	})
}

// runTrust implements `portal trust add`: add CA certificates as trust
// anchors.
func runTrust(ctx context.Context, env Env, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "crl":
			return runTrustCRL(ctx, env, args[1:])
		case "list":
			return runTrustList(ctx, env, args[1:])
		case "remove":
			return runTrustRemove(ctx, env, args[1:])
		}
	}
	if len(args) == 0 || args[0] != "add" {
		return usageError{"usage: portal trust add --ca FILE | trust crl --file FILE | trust list | trust remove --id ID [--force]"}
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
	if len(args) > 0 && args[0] == "import" {
		return runDirectoryImport(ctx, env, args[1:])
	}
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

// runDirectoryImport implements `portal directory import`: an HL7 AU FHIR
// Provider Directory bundle (JSON, from a file or fetched from FHIR search
// URLs, following their next links) becomes directory entries and
// searchable listings; any problem imports nothing.
func runDirectoryImport(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet("directory import", env)
	file := fs.String("file", "", "FHIR R4 Bundle (JSON) of Organization, PractitionerRole, HealthcareService, Location and Endpoint resources")
	var urls stringList
	fs.Var(&urls, "url", "FHIR search URL to fetch, e.g. https://…/fhir/PractitionerRole?_include=PractitionerRole:endpoint&… (repeatable; pages are followed)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if (*file == "") == (len(urls) == 0) {
		return usageError{"usage: portal directory import --file BUNDLE.json | --url FHIR-SEARCH-URL [--url …]"}
	}
	var data []byte
	var err error
	if *file != "" {
		data, err = readNamedFile(*file, "bundle")
	} else {
		fctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		defer cancel()
		data, err = fhirpd.Fetch(fctx, &http.Client{Timeout: time.Minute}, urls)
	}
	if err != nil {
		return err
	}
	d, err := fhirpd.Parse(bytes.NewReader(data), fhirpd.Limits{})
	if err != nil {
		var ve *fhirpd.ValidationError
		if errors.As(err, &ve) {
			for _, p := range ve.Problems {
				fmt.Fprintf(env.Stderr, "  %s\n", p)
			}
			return fmt.Errorf("the bundle has %d problem(s); nothing was imported", len(ve.Problems))
		}
		return err
	}
	for _, w := range d.Warnings {
		fmt.Fprintf(env.Stderr, "  warning: %s\n", w)
	}
	return withStore(ctx, env, func(st *store.Store, _ []byte) error {
		res, err := provider.ImportDirectory(ctx, st, d, provider.Actor{}, "cli")
		if err != nil {
			return err
		}
		for _, e := range res.Entries {
			fmt.Fprintf(env.Stdout, "%s (%s) at %s\n", e.Name, e.OrgURI, e.EndpointURL)
		}
		fmt.Fprintf(env.Stdout, "Imported %d directory entr%s and %d listing%s (%d old listing%s removed).\n",
			len(res.Entries), plural(len(res.Entries), "y", "ies"), len(res.Listings), plural(len(res.Listings), "", "s"),
			res.Removed, plural(int(res.Removed), "", "s"))
		_, err = provider.SyncHostedListings(ctx, st)
		return err
	})
}

// runTrustCRL implements `portal trust crl`: store a revocation list from
// a trusted CA; the certificates it lists are refused as signers.
func runTrustCRL(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet("trust crl", env)
	file := fs.String("file", "", "CRL file (PEM \"X509 CRL\" or DER) signed by a trust anchor")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *file == "" {
		return usageError{"usage: portal trust crl --file FILE"}
	}
	b, err := readNamedFile(*file, "CRL")
	if err != nil {
		return err
	}
	return withStore(ctx, env, func(st *store.Store, _ []byte) error {
		c, err := provider.AddCRL(ctx, st, b)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Stored the revocation list of %s (this update %s); workers apply it within 30 s.\n",
			c.Issuer, c.ThisUpdate.UTC().Format("2006-01-02 15:04"))
		return nil
	})
}
