package provider

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/opensmd/portal/internal/smd/pki"
	"github.com/opensmd/portal/internal/store"
)

// Certificate statuses, as shown to administrators.
const (
	StatusPending   = "pending"   // key generated, certificate not installed
	StatusScheduled = "scheduled" // becomes active later
	StatusActive    = "active"    // signs and is published
	StatusPrevious  = "previous"  // replaced, still decrypts
	StatusExpired   = "expired"
	StatusRetired   = "retired"
)

// CertInfo describes one organisation certificate.
type CertInfo struct {
	Key        store.OrgKey
	Cert       *x509.Certificate
	Status     string
	URIs       []string
	KeyUsages  []string
	SKI        string // hex
	Serial     string // hex
	Issuer     string
	SHA256     string // hex fingerprint
	Chain      []ChainLink
	ChainError string // why no chain to a current trust anchor was found
}

// ChainLink is one certificate of a chain, leaf side first.
type ChainLink struct {
	Subject  string
	NotAfter time.Time
	Anchor   bool // a trust anchor
}

// Status is the status of k at now; activeID is the key the keyring signs
// with at now ("" if none).
func Status(k store.OrgKey, activeID string, now time.Time) string {
	switch {
	case k.RetiredAt != nil:
		return StatusRetired
	case now.After(k.NotAfter):
		return StatusExpired
	case k.ID == activeID:
		return StatusActive
	case k.ActiveFrom.After(now) || now.Before(k.NotBefore):
		return StatusScheduled
	}
	return StatusPrevious
}

// ActiveKeyID returns the key Keyring.Signer picks at now from keys
// ordered newest active_from first (as store.OrgKeys returns them).
func ActiveKeyID(keys []store.OrgKey, now time.Time) string {
	for _, k := range keys {
		if usable(k, now) {
			return k.ID
		}
	}
	return ""
}

// OrgCertificates describes every certificate of organisation orgID,
// newest first, with the chain to the current trust anchors.
func OrgCertificates(ctx context.Context, st *store.Store, orgID string, now time.Time) ([]CertInfo, error) {
	keys, err := st.OrgKeys(ctx, orgID)
	if err != nil {
		return nil, err
	}
	anchors, err := st.TrustAnchors(ctx)
	if err != nil {
		return nil, err
	}
	roots := parseAnchors(anchors)
	active := ActiveKeyID(keys, now)
	out := make([]CertInfo, 0, len(keys))
	for _, k := range keys {
		info, err := describe(k, roots, active, now)
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

// OrgCertificate describes certificate id of organisation orgID; another
// organisation's is store.ErrNotFound.
func OrgCertificate(ctx context.Context, st *store.Store, orgID, id string, now time.Time) (CertInfo, error) {
	all, err := OrgCertificates(ctx, st, orgID, now)
	if err != nil {
		return CertInfo{}, err
	}
	for _, c := range all {
		if c.Key.ID == id {
			return c, nil
		}
	}
	return CertInfo{}, fmt.Errorf("certificate %s: %w", id, store.ErrNotFound)
}

func describe(k store.OrgKey, roots []*x509.Certificate, activeID string, now time.Time) (CertInfo, error) {
	c, err := x509.ParseCertificate(k.CertDER)
	if err != nil {
		return CertInfo{}, fmt.Errorf("certificate %s: %w", k.ID, err)
	}
	sum := sha256.Sum256(c.Raw)
	info := CertInfo{Key: k, Cert: c, Status: Status(k, activeID, now), URIs: pki.OrgURIs(c), KeyUsages: KeyUsageNames(c.KeyUsage),
		SKI: hex.EncodeToString(c.SubjectKeyId), Serial: serialHex(c), Issuer: c.Issuer.String(), SHA256: hex.EncodeToString(sum[:])}
	var cas []*x509.Certificate
	for _, d := range k.ChainDER {
		if ca, err := x509.ParseCertificate(d); err == nil {
			cas = append(cas, ca)
		}
	}
	info.Chain = []ChainLink{{Subject: c.Subject.String(), NotAfter: c.NotAfter}}
	// Check the chain at a time the certificate is valid, so an expired
	// certificate still shows where it came from.
	at := now
	if at.After(c.NotAfter) {
		at = c.NotAfter.Add(-time.Second)
	} else if at.Before(c.NotBefore) {
		at = c.NotBefore
	}
	chain, anchor, err := fullChain(c, cas, roots, at)
	if err != nil {
		info.ChainError = err.Error()
		for _, ca := range cas {
			info.Chain = append(info.Chain, ChainLink{Subject: ca.Subject.String(), NotAfter: ca.NotAfter})
		}
		return info, nil
	}
	for _, ca := range chain {
		info.Chain = append(info.Chain, ChainLink{Subject: ca.Subject.String(), NotAfter: ca.NotAfter})
	}
	info.Chain = append(info.Chain, ChainLink{Subject: anchor.Subject.String(), NotAfter: anchor.NotAfter, Anchor: true})
	return info, nil
}

// fullChain is chainToAnchor that also returns the anchor.
func fullChain(c *x509.Certificate, cas, roots []*x509.Certificate, at time.Time) ([]*x509.Certificate, *x509.Certificate, error) {
	mid, err := chainToAnchor(c, cas, roots, at)
	if err != nil {
		return nil, nil, err
	}
	last := c
	if len(mid) > 0 {
		last = mid[len(mid)-1]
	}
	for _, r := range roots {
		if bytes.Equal(r.RawSubject, last.RawIssuer) && last.CheckSignatureFrom(r) == nil {
			return mid, r, nil
		}
	}
	return nil, nil, fmt.Errorf("no trust anchor signed %q", last.Subject.String())
}

// KeyUsageNames lists the RFC 5280 names of the bits of u.
func KeyUsageNames(u x509.KeyUsage) []string {
	names := []struct {
		bit  x509.KeyUsage
		name string
	}{
		{x509.KeyUsageDigitalSignature, "digitalSignature"}, {x509.KeyUsageContentCommitment, "contentCommitment"},
		{x509.KeyUsageKeyEncipherment, "keyEncipherment"}, {x509.KeyUsageDataEncipherment, "dataEncipherment"},
		{x509.KeyUsageKeyAgreement, "keyAgreement"}, {x509.KeyUsageCertSign, "keyCertSign"},
		{x509.KeyUsageCRLSign, "cRLSign"},
	}
	var out []string
	for _, n := range names {
		if u&n.bit != 0 {
			out = append(out, n.name)
		}
	}
	return out
}

// Fingerprint is the SHA-256 of a DER certificate, as colon-separated hex.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	parts := make([]string, 0, len(h)/2)
	for i := 0; i < len(h); i += 2 {
		parts = append(parts, h[i:i+2])
	}
	return strings.Join(parts, ":")
}
