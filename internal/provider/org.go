package provider

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/opensmd/portal/internal/hi"
	"github.com/opensmd/portal/internal/secretbox"
	"github.com/opensmd/portal/internal/smd/ns"
	"github.com/opensmd/portal/internal/smd/pki"
	"github.com/opensmd/portal/internal/store"
)

// keyPurpose names the secretbox key that seals organisation private keys.
const keyPurpose = "organisation private keys"

// AuditKeyAdded is the audit action recorded by AddOrg.
const AuditKeyAdded = "org.key_added"

// sealer returns the Sealer for organisation private keys.
func sealer(master []byte) (*secretbox.Sealer, error) {
	if len(master) == 0 {
		return nil, errors.New("no master secret")
	}
	return secretbox.NewSealer(secretbox.DeriveKey(master, keyPurpose))
}

// keyAD is the additional data binding a sealed key to its row.
func keyAD(keyID, orgID string) []byte {
	return []byte("org_keys/" + keyID + "/" + orgID)
}

// HPIOFromURI returns the 16-digit HPI-O of an organisation URI
// (ns.QualifierHPIO followed by the HPI-O).
func HPIOFromURI(orgURI string) (string, error) {
	digits, ok := strings.CutPrefix(orgURI, ns.QualifierHPIO)
	if !ok {
		return "", fmt.Errorf("organisation URI %q must be %s followed by the 16-digit HPI-O", orgURI, ns.QualifierHPIO)
	}
	d, err := hi.Validate(hi.HPIO, digits)
	if err != nil || d != digits {
		if err == nil {
			err = errors.New("spaces are not allowed")
		}
		return "", fmt.Errorf("organisation URI %q: %w", orgURI, err)
	}
	return d, nil
}

// AddOrg stores a hosted organisation's certificate and private key (both
// PEM), creating the organisation if no organisation has the HPI-O of
// orgURI (an existing one is reused with its name unchanged). The
// certificate must list orgURI among its URI subjectAltNames, hold the
// key's public key, carry a SubjectKeyIdentifier and allow digitalSignature
// and keyEncipherment. Everything is written in one transaction with an
// "org.key_added" audit event; nothing is written on error.
func AddOrg(ctx context.Context, st *store.Store, master []byte, orgURI, name string, certPEM, keyPEM []byte) (store.Organisation, error) {
	hpio, err := HPIOFromURI(orgURI)
	if err != nil {
		return store.Organisation{}, err
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return store.Organisation{}, errors.New("organisation name is empty")
	}
	cert, key, err := parseOrgPair(orgURI, certPEM, keyPEM)
	if err != nil {
		return store.Organisation{}, err
	}
	s, err := sealer(master)
	if err != nil {
		return store.Organisation{}, fmt.Errorf("add organisation key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return store.Organisation{}, errors.New("add organisation key: cannot encode the private key")
	}
	var org store.Organisation
	err = st.WithTx(ctx, func(tx *store.Store) error {
		org, err = findOrCreateOrg(ctx, tx, name, hpio)
		if err != nil {
			return err
		}
		k := store.OrgKey{
			ID: uuid.NewString(), OrganisationID: org.ID, CertDER: cert.Raw, SKI: cert.SubjectKeyId,
			Subject: cert.Subject.String(), NotBefore: cert.NotBefore, NotAfter: cert.NotAfter,
		}
		k.KeyEnc = s.Seal(der, keyAD(k.ID, k.OrganisationID))
		if _, err := tx.AddOrgKey(ctx, k); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return fmt.Errorf("this certificate is already stored for %s: %w", orgURI, err)
			}
			return err
		}
		return tx.Audit(ctx, store.AuditEvent{OrganisationID: org.ID, Action: AuditKeyAdded, Detail: map[string]string{
			"key_id": k.ID, "ski": hex.EncodeToString(k.SKI), "subject": k.Subject, "org_uri": orgURI,
		}})
	})
	if err != nil {
		return store.Organisation{}, fmt.Errorf("add organisation key: %w", err)
	}
	return org, nil
}

func findOrCreateOrg(ctx context.Context, tx *store.Store, name, hpio string) (store.Organisation, error) {
	org, err := tx.OrganisationByHPIO(ctx, hpio)
	if errors.Is(err, store.ErrNotFound) {
		return tx.CreateOrganisation(ctx, name, hpio)
	}
	return org, err
}

// parseOrgPair parses and checks an organisation's certificate and key.
// Errors never include key material.
func parseOrgPair(orgURI string, certPEM, keyPEM []byte) (*x509.Certificate, *rsa.PrivateKey, error) {
	certs, err := pki.ParseCertsPEM(certPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("organisation certificate: %w", err)
	}
	cert := certs[0]
	key, err := pki.ParseKeyPEM(keyPEM)
	if err != nil {
		return nil, nil, errors.New("organisation private key: not a PEM RSA private key (PKCS#1 or unencrypted PKCS#8)")
	}
	if uris := pki.OrgURIs(cert); !slices.Contains(uris, orgURI) {
		return nil, nil, fmt.Errorf("certificate %q does not name %s in its subjectAltName URIs (it names %v)",
			cert.Subject.String(), orgURI, uris)
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok || !pub.Equal(&key.PublicKey) {
		return nil, nil, fmt.Errorf("the private key does not match certificate %q", cert.Subject.String())
	}
	if err := checkUsage(cert, x509.KeyUsageDigitalSignature|x509.KeyUsageKeyEncipherment); err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

// checkUsage requires a SubjectKeyIdentifier and every bit of want.
func checkUsage(cert *x509.Certificate, want x509.KeyUsage) error {
	if len(cert.SubjectKeyId) == 0 {
		return fmt.Errorf("certificate %q has no subject key identifier (needed for X509SKI)", cert.Subject.String())
	}
	var missing []string
	if want&x509.KeyUsageDigitalSignature != 0 && cert.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		missing = append(missing, "digitalSignature")
	}
	if want&x509.KeyUsageKeyEncipherment != 0 && cert.KeyUsage&x509.KeyUsageKeyEncipherment == 0 {
		missing = append(missing, "keyEncipherment")
	}
	if len(missing) > 0 {
		return fmt.Errorf("certificate %q lacks key usage %s", cert.Subject.String(), strings.Join(missing, " and "))
	}
	return nil
}
