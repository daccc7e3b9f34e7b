package provider

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/opensmd/portal/internal/store"
)

// AuditCRLAdded is the audit action recorded by AddCRL.
const AuditCRLAdded = "trust.crl_added"

// AddCRL stores a certificate revocation list (PEM "X509 CRL" or DER)
// issued and signed by one of the trust anchors (else a *CertError). Certificates it lists are
// refused as payload signers once keyrings reload (within 30 s).
func AddCRL(ctx context.Context, st *store.Store, data []byte) (store.CRL, error) {
	return AddCRLBy(ctx, st, data, Actor{})
}

// AddCRLBy is AddCRL recording by in the audit event.
func AddCRLBy(ctx context.Context, st *store.Store, data []byte, by Actor) (store.CRL, error) {
	der := data
	if b, _ := pem.Decode(data); b != nil {
		if b.Type != "X509 CRL" {
			return store.CRL{}, certErr(ReasonFormat, "file", "add CRL: PEM block is %q, want \"X509 CRL\"", b.Type)
		}
		der = b.Bytes
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return store.CRL{}, certErr(ReasonFormat, "file", "add CRL: not a certificate revocation list")
	}
	anchors, err := st.TrustAnchors(ctx)
	if err != nil {
		return store.CRL{}, fmt.Errorf("add CRL: %w", err)
	}
	if _, err := crlIssuer(crl, parseAnchors(anchors)); err != nil {
		return store.CRL{}, certErr(ReasonUntrusted, "file", "add CRL: %v", err)
	}
	var out store.CRL
	err = st.WithTx(ctx, func(tx *store.Store) error {
		out, err = tx.AddCRL(ctx, store.CRL{Issuer: crl.Issuer.String(), DER: der, ThisUpdate: crl.ThisUpdate,
			NextUpdate: nonZero(crl.NextUpdate)})
		if err != nil {
			return err
		}
		return tx.Audit(ctx, by.event("", AuditCRLAdded, map[string]string{
			"issuer": out.Issuer, "revoked": fmt.Sprint(len(crl.RevokedCertificateEntries)),
			"this_update": crl.ThisUpdate.UTC().Format("2006-01-02T15:04:05Z"),
		}))
	})
	if err != nil {
		return store.CRL{}, fmt.Errorf("add CRL: %w", err)
	}
	return out, nil
}

func nonZero(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// parseAnchors parses stored trust anchors, skipping any that do not parse
// (Load reports those).
func parseAnchors(rows []store.TrustAnchor) []*x509.Certificate {
	var out []*x509.Certificate
	for _, a := range rows {
		if c, err := x509.ParseCertificate(a.CertDER); err == nil {
			out = append(out, c)
		}
	}
	return out
}

// crlIssuer returns the trust anchor that issued and signed crl.
func crlIssuer(crl *x509.RevocationList, anchors []*x509.Certificate) (*x509.Certificate, error) {
	for _, a := range anchors {
		if !bytes.Equal(a.RawSubject, crl.RawIssuer) {
			continue
		}
		if err := crl.CheckSignatureFrom(a); err != nil {
			return nil, fmt.Errorf("the list's signature does not verify with trust anchor %q: %w", a.Subject.String(), err)
		}
		return a, nil
	}
	return nil, errors.New("the list's issuer " + crl.Issuer.String() + " is not a trust anchor")
}

// revokedSet is the certificates revoked by the current lists, keyed by
// issuer and serial number.
type revokedSet map[string]bool

func revokedKey(rawIssuer []byte, serial fmt.Stringer) string {
	return string(rawIssuer) + "\x00" + serial.String()
}

// loadRevoked reads the newest list of each issuer, keeping only those
// still signed by a trust anchor.
func loadRevoked(ctx context.Context, st *store.Store, anchors []*x509.Certificate) (revokedSet, error) {
	rows, err := st.LatestCRLs(ctx)
	if err != nil {
		return nil, err
	}
	set := revokedSet{}
	for _, r := range rows {
		crl, err := x509.ParseRevocationList(r.DER)
		if err != nil {
			return nil, fmt.Errorf("CRL %s: %w", r.ID, err)
		}
		if _, err := crlIssuer(crl, anchors); err != nil {
			continue // its CA is no longer trusted
		}
		for _, e := range crl.RevokedCertificateEntries {
			set[revokedKey(crl.RawIssuer, e.SerialNumber)] = true
		}
	}
	return set, nil
}

func (s revokedSet) revoked(c *x509.Certificate) bool {
	return s[revokedKey(c.RawIssuer, c.SerialNumber)]
}
