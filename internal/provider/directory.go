package provider

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/opensmd/portal/internal/smd/pki"
	"github.com/opensmd/portal/internal/store"
)

// DirectoryEntry describes an organisation messages can be sent to.
type DirectoryEntry struct {
	OrgURI   string // absolute URI, e.g. ns.QualifierHPIO + HPI-O
	Name     string
	Endpoint string // https:// URL of its SMD endpoint
	// CertPEM is its payload-encryption certificate (the first PEM
	// certificate is used).
	CertPEM    []byte
	Categories []string // service category URIs it accepts; at least one
}

// AddDirectoryEntry validates e and stores it, replacing the entry with the
// same OrgURI. Nothing is written on error.
func AddDirectoryEntry(ctx context.Context, st *store.Store, e DirectoryEntry) (store.DirectoryEntry, error) {
	row, ski, err := validateEntry(e)
	if err != nil {
		return store.DirectoryEntry{}, fmt.Errorf("directory entry: %w", err)
	}
	var out store.DirectoryEntry
	err = st.WithTx(ctx, func(tx *store.Store) error {
		if out, err = tx.UpsertDirectoryEntry(ctx, row); err != nil {
			return err
		}
		return tx.Audit(ctx, store.AuditEvent{Action: AuditDirectorySaved, Detail: map[string]string{
			"org_uri": out.OrgURI, "endpoint": out.EndpointURL, "cert_ski": hex.EncodeToString(ski),
		}})
	})
	if err != nil {
		return store.DirectoryEntry{}, fmt.Errorf("directory entry: %w", err)
	}
	return out, nil
}

// AuditDirectorySaved is the audit action recorded by AddDirectoryEntry
// (an endpoint or certificate change redirects outgoing messages).
const AuditDirectorySaved = "directory.entry_saved"

func validateEntry(e DirectoryEntry) (store.DirectoryEntry, []byte, error) {
	if err := checkAbsURI(e.OrgURI); err != nil {
		return store.DirectoryEntry{}, nil, fmt.Errorf("organisation URI: %w", err)
	}
	name := strings.TrimSpace(e.Name)
	if name == "" {
		return store.DirectoryEntry{}, nil, errors.New("name is empty")
	}
	if err := checkEndpoint(e.Endpoint); err != nil {
		return store.DirectoryEntry{}, nil, fmt.Errorf("endpoint: %w", err)
	}
	certs, err := pki.ParseCertsPEM(e.CertPEM)
	if err != nil {
		return store.DirectoryEntry{}, nil, fmt.Errorf("encryption certificate: %w", err)
	}
	cert := certs[0]
	if _, ok := cert.PublicKey.(*rsa.PublicKey); !ok {
		return store.DirectoryEntry{}, nil, fmt.Errorf("encryption certificate %q: key is not RSA", cert.Subject.String())
	}
	if err := checkUsage(cert, x509.KeyUsageKeyEncipherment); err != nil {
		return store.DirectoryEntry{}, nil, fmt.Errorf("encryption %w", err)
	}
	if len(e.Categories) == 0 {
		return store.DirectoryEntry{}, nil, errors.New("at least one service category is required")
	}
	var cats []string
	for _, c := range e.Categories {
		if err := checkAbsURI(c); err != nil {
			return store.DirectoryEntry{}, nil, fmt.Errorf("service category: %w", err)
		}
		if !slices.Contains(cats, c) {
			cats = append(cats, c)
		}
	}
	return store.DirectoryEntry{OrgURI: e.OrgURI, Name: name, EndpointURL: e.Endpoint,
		EncryptionCertDER: cert.Raw, ServiceCategories: cats}, cert.SubjectKeyId, nil
}

// checkAbsURI requires an absolute URI without surrounding or inner spaces.
func checkAbsURI(s string) error {
	if s == "" {
		return errors.New("empty")
	}
	if strings.ContainsAny(s, " \t\r\n") {
		return fmt.Errorf("%q contains white space", s)
	}
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || len(s) > 1000 {
		return fmt.Errorf("%q is not an absolute URI", s)
	}
	return nil
}

// checkEndpoint requires an https URL with a host.
func checkEndpoint(s string) error {
	u, err := url.Parse(s)
	if err != nil || strings.ContainsAny(s, " \t\r\n") {
		return fmt.Errorf("%q is not a URL", s)
	}
	if u.User != nil {
		return fmt.Errorf("%q must not carry user credentials", u.Redacted())
	}
	if u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("%q must be an https:// URL with a host", s)
	}
	return nil
}
