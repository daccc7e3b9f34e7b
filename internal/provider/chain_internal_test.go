package provider

import (
	"crypto/x509"
	"testing"
	"time"

	"github.com/opensmd/portal/internal/smd/pki"
)

// A certificate that is itself a trust anchor verifies with no
// intermediates (a one-element chain once made the slicing panic).
func TestChainToAnchor_AnchorItself(t *testing.T) {
	ca, err := pki.NewCA("Anchor TEST CA", pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mid, err := chainToAnchor(ca.Cert, nil, []*x509.Certificate{ca.Cert}, time.Now())
	if err != nil || len(mid) != 0 {
		t.Fatalf("anchor as leaf: %d intermediates, %v", len(mid), err)
	}
}
