package provider

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/opensmd/portal/internal/store"
)

// ReasonDependents: removing the anchor would orphan hosted certificates.
const ReasonDependents = "dependents"

// AnchorInfo is a trust anchor with what chains to it.
type AnchorInfo struct {
	Anchor      store.TrustAnchor
	Cert        *x509.Certificate
	Fingerprint string // SHA-256, colon-separated hex
	// OwnCerts are the viewing organisation's certificates (not retired)
	// that chain to the anchor.
	OwnCerts []store.OrgKey
	// OtherHosted counts other hosted organisations' certificates (not
	// retired) that chain to it; they are not named, to keep organisations
	// apart.
	OtherHosted int
	// Directory lists the directory entries whose encryption certificate
	// chains to it.
	Directory []store.DirectoryEntry
}

// Hosted is the number of hosted certificates that depend on the anchor.
func (a AnchorInfo) Hosted() int { return len(a.OwnCerts) + a.OtherHosted }

// TrustAnchorsFor lists the current trust anchors with their dependents,
// naming only orgID's own certificates.
func TrustAnchorsFor(ctx context.Context, st *store.Store, orgID string, now time.Time) ([]AnchorInfo, error) {
	anchors, err := st.TrustAnchors(ctx)
	if err != nil {
		return nil, err
	}
	keys, err := st.ActiveOrgKeys(ctx) // every organisation's, not retired
	if err != nil {
		return nil, err
	}
	entries, err := st.DirectoryEntries(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]AnchorInfo, 0, len(anchors))
	for _, a := range anchors {
		c, err := x509.ParseCertificate(a.CertDER)
		if err != nil {
			return nil, fmt.Errorf("trust anchor %s: %w", a.ID, err)
		}
		info := AnchorInfo{Anchor: a, Cert: c, Fingerprint: Fingerprint(a.CertDER)}
		roots := []*x509.Certificate{c}
		for _, k := range keys {
			if !chainsTo(k.CertDER, k.ChainDER, roots, now) {
				continue
			}
			if k.OrganisationID == orgID {
				info.OwnCerts = append(info.OwnCerts, k)
			} else {
				info.OtherHosted++
			}
		}
		for _, e := range entries {
			if chainsTo(e.EncryptionCertDER, nil, roots, now) {
				info.Directory = append(info.Directory, e)
			}
		}
		out = append(out, info)
	}
	return out, nil
}

// chainsTo reports whether the DER certificate chains to one of roots
// (checked at a time the certificate is valid, so an expiring certificate
// still counts as a dependent).
func chainsTo(der []byte, chainDER [][]byte, roots []*x509.Certificate, now time.Time) bool {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return false
	}
	var cas []*x509.Certificate
	for _, d := range chainDER {
		if ca, err := x509.ParseCertificate(d); err == nil {
			cas = append(cas, ca)
		}
	}
	at := now
	if at.After(c.NotAfter) || at.Before(c.NotBefore) {
		at = c.NotBefore.Add(c.NotAfter.Sub(c.NotBefore) / 2)
	}
	_, err = chainToAnchor(c, cas, roots, at)
	return err == nil
}

// RemoveTrustAnchor stops trusting anchor id. While hosted certificates
// (of any organisation) chain to it, it is refused (ReasonDependents)
// unless confirmed. The removal is audited with the number of dependents.
func RemoveTrustAnchor(ctx context.Context, st *store.Store, id string, confirmed bool, now time.Time, by Actor) error {
	a, err := st.TrustAnchor(ctx, id)
	if err != nil {
		return err
	}
	if a.RemovedAt != nil {
		return fmt.Errorf("trust anchor %s: %w", id, store.ErrNotFound)
	}
	c, err := x509.ParseCertificate(a.CertDER)
	if err != nil {
		return fmt.Errorf("trust anchor %s: %w", id, err)
	}
	keys, err := st.ActiveOrgKeys(ctx)
	if err != nil {
		return err
	}
	hosted := 0
	for _, k := range keys {
		if chainsTo(k.CertDER, k.ChainDER, []*x509.Certificate{c}, now) {
			hosted++
		}
	}
	if hosted > 0 && !confirmed {
		return certErr(ReasonDependents, "confirm",
			"%d hosted organisation certificate(s) chain to %q: they will no longer be trusted. Tick the confirmation to remove it anyway.",
			hosted, a.Subject)
	}
	return st.WithTx(ctx, func(tx *store.Store) error {
		if err := tx.RemoveTrustAnchor(ctx, id); err != nil {
			return err
		}
		return tx.Audit(ctx, by.event("", AuditTrustRemoved, map[string]string{
			"anchor_id": id, "subject": a.Subject, "ski": hex.EncodeToString(c.SubjectKeyId),
			"hosted_dependents": fmt.Sprint(hosted),
		}))
	})
}
