package provider

import (
	"context"
	"encoding/hex"
	"fmt"

	"github.com/opensmd/portal/internal/store"
)

// AuditTrustAdded is the audit action recorded by AddTrustAnchor.
const AuditTrustAdded = "trust.anchor_added"

// AddTrustAnchor stores every certificate of pemBytes as a trust anchor.
// Each must be a CA certificate (basicConstraints CA:TRUE); if one is not,
// none is stored (a *CertError, as is an unreadable file). Adding an anchor again is harmless (it is returned, and
// trusted again if it had been removed).
func AddTrustAnchor(ctx context.Context, st *store.Store, pemBytes []byte) ([]store.TrustAnchor, error) {
	return AddTrustAnchorBy(ctx, st, pemBytes, Actor{})
}

// AddTrustAnchorBy is AddTrustAnchor recording by in the audit events; it
// also accepts one DER certificate.
func AddTrustAnchorBy(ctx context.Context, st *store.Store, data []byte, by Actor) ([]store.TrustAnchor, error) {
	certs, err := ParseCertificates(data)
	if err != nil {
		return nil, certErr(ReasonFormat, "file", "add trust anchor: %v", err)
	}
	for i, c := range certs {
		if !c.BasicConstraintsValid || !c.IsCA {
			return nil, certErr(ReasonFormat, "file", "add trust anchor: certificate %d (%q) is not a CA certificate (basicConstraints CA:TRUE missing)",
				i+1, c.Subject.String())
		}
	}
	var out []store.TrustAnchor
	err = st.WithTx(ctx, func(tx *store.Store) error {
		for _, c := range certs {
			a, err := tx.AddTrustAnchor(ctx, store.TrustAnchor{CertDER: c.Raw, Subject: c.Subject.String(), NotAfter: c.NotAfter})
			if err != nil {
				return err
			}
			err = tx.Audit(ctx, by.event("", AuditTrustAdded, map[string]string{
				"anchor_id": a.ID, "subject": a.Subject, "ski": hex.EncodeToString(c.SubjectKeyId),
			}))
			if err != nil {
				return err
			}
			out = append(out, a)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("add trust anchor: %w", err)
	}
	return out, nil
}
