package provider_test

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/opensmd/portal/internal/provider"
	"github.com/opensmd/portal/internal/smd/fault"
	"github.com/opensmd/portal/internal/smd/pki"
)

func makeCRL(t *testing.T, issuer *pki.CA, signer *pki.CA, number int64, revoked ...*x509.Certificate) []byte {
	t.Helper()
	tmpl := &x509.RevocationList{Number: big.NewInt(number), ThisUpdate: time.Now().Add(-time.Minute),
		NextUpdate: time.Now().Add(24 * time.Hour)}
	for _, c := range revoked {
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries,
			x509.RevocationListEntry{SerialNumber: c.SerialNumber, RevocationTime: time.Now().Add(-time.Hour)})
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, issuer.Cert, signer.Key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})
}

// A revoked signer is refused with badCertificateTransmitted once a CRL
// from a trust anchor lists it; CRLs from untrusted issuers or with bad
// signatures are refused at upload.
func TestCRL_RevokedSignerRefused(t *testing.T) {
	t.Parallel()
	f := certs(t)
	st, _ := newStore(t)
	ctx := context.Background()
	if _, err := provider.AddTrustAnchor(ctx, st, f.caPEM); err != nil {
		t.Fatal(err)
	}
	revoked, _, err := f.ca.Issue(pki.Request{OrgURI: gpURI, Name: "GP revoked", Usage: pki.UsageAll}, pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		crl  []byte
		want string
	}{
		"untrusted issuer": {makeCRL(t, f.ca2, f.ca2, 1, revoked), "not a trust anchor"},
		"bad signature":    {makeCRL(t, f.ca, f.ca2, 1, revoked), "signature does not verify"},
		"not a CRL":        {f.caPEM, "X509 CRL"},
	} {
		if _, err := provider.AddCRL(ctx, st, c.crl); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: AddCRL = %v, want %q", name, err, c.want)
		}
	}
	kr, err := provider.Load(ctx, st, master)
	if err != nil {
		t.Fatal(err)
	}
	if err := kr.Trust().CheckSigner(revoked, gpURI, time.Now()); err != nil {
		t.Fatalf("before the CRL: %v", err)
	}
	if _, err := provider.AddCRL(ctx, st, makeCRL(t, f.ca, f.ca, 1, revoked)); err != nil {
		t.Fatal(err)
	}
	kr, err = provider.Load(ctx, st, master)
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := fault.CodeOf(kr.Trust().CheckSigner(revoked, gpURI, time.Now())); code != fault.BadCertificateTransmitted {
		t.Fatalf("revoked signer: code %q, want badCertificateTransmitted", code)
	}
	if err := kr.Trust().CheckSigner(f.gp.cert, gpURI, time.Now()); err != nil {
		t.Fatalf("a certificate not on the list: %v", err)
	}
	// A newer list from the same CA replaces the older one.
	if _, err := provider.AddCRL(ctx, st, makeCRL(t, f.ca, f.ca, 2)); err != nil {
		t.Fatal(err)
	}
	kr, _ = provider.Load(ctx, st, master)
	if err := kr.Trust().CheckSigner(revoked, gpURI, time.Now()); err != nil {
		t.Fatalf("after a newer list without it: %v", err)
	}
}
