package xspp

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"testing"

	"github.com/opensmd/portal/internal/smd/ns"
	"github.com/opensmd/portal/internal/smd/safexml"
)

// sealWire signs then encrypts payload and returns the wire bytes.
func sealWire(tb testing.TB, payload string, signers []Signer, to []*x509.Certificate, dataAlg string) []byte {
	tb.Helper()
	sp, err := Sign(mustParse(tb, payload), signers, SignOptions{})
	if err != nil {
		tb.Fatalf("sign: %v", err)
	}
	ep, err := Encrypt(sp, to, EncryptOptions{DataAlgorithm: dataAlg})
	if err != nil {
		tb.Fatalf("encrypt: %v", err)
	}
	return wire(tb, ep)
}

// openWire parses wire bytes, decrypts and verifies.
func openWire(tb testing.TB, b []byte, keys []KeyPair) (*Verified, error) {
	tb.Helper()
	doc, err := safexml.Parse(b)
	if err != nil {
		return nil, err
	}
	sp, err := Decrypt(doc.Root(), keys)
	if err != nil {
		return nil, err
	}
	return Verify(sp)
}

func TestRoundTrip(t *testing.T) {
	f := loadFixtures(t)
	const payload = `<msg:message xmlns:msg="` + ns.Message + `"><msg:data>SGVsbG8=</msg:data></msg:message>`
	sha256 := func(s Signer) Signer { s.Hash = crypto.SHA256; return s }
	tests := []struct {
		name    string
		signers []Signer
		to      []*x509.Certificate
		keys    []KeyPair
		alg     string
	}{
		{"SHA1", []Signer{f.Sender.signer()}, f.Recipient.certs(), f.Recipient.pair(), ""},
		{"SHA256", []Signer{sha256(f.Sender.signer())}, f.Recipient.certs(), f.Recipient.pair(), ""},
		{"MultipleSigners", []Signer{f.Sender.signer(), sha256(f.Sender2.signer())}, f.Recipient.certs(), f.Recipient.pair(), ""},
		{"MultipleRecipientsFirst", []Signer{f.Sender.signer()}, []*x509.Certificate{f.Recipient.Cert, f.Recipient2.Cert}, f.Recipient.pair(), ""},
		{"MultipleRecipientsSecond", []Signer{f.Sender.signer()}, []*x509.Certificate{f.Recipient.Cert, f.Recipient2.Cert}, f.Recipient2.pair(), ""},
		{"RolloverOldKeyStillHeld", []Signer{f.Sender.signer()}, f.Recipient.certs(), []KeyPair{f.RecipientV2.keyPair(), f.Recipient.keyPair()}, ""},
		{"RolloverNewKey", []Signer{f.Sender.signer()}, f.RecipientV2.certs(), []KeyPair{f.Recipient.keyPair(), f.RecipientV2.keyPair()}, ""},
		{"AES128CBC", []Signer{f.Sender.signer()}, f.Recipient.certs(), f.Recipient.pair(), AlgAES128CBC},
		{"AES256GCM", []Signer{f.Sender.signer()}, f.Recipient.certs(), f.Recipient.pair(), AlgAES256GCM},
		{"AES128GCM", []Signer{f.Sender.signer()}, f.Recipient.certs(), f.Recipient.pair(), AlgAES128GCM},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := sealWire(t, payload, tt.signers, tt.to, tt.alg)
			v, err := openWire(t, b, tt.keys)
			if err != nil {
				t.Fatalf("open: %v\n%s", err, b)
			}
			if got := string(wire(t, v.Payload)); got != payload {
				t.Errorf("payload = %s, want %s", got, payload)
			}
			if len(v.Signers) != len(tt.signers) {
				t.Fatalf("%d signers, want %d", len(v.Signers), len(tt.signers))
			}
			for i, s := range tt.signers {
				if !v.Signers[i].Equal(s.Cert) {
					t.Errorf("signer %d = %s", i, v.Signers[i].Subject)
				}
			}
			h := tt.signers[0].hash().New()
			h.Write(v.Data)
			if !bytes.Equal(h.Sum(nil), v.DigestValue) {
				t.Errorf("DigestValue is not the digest of Data")
			}
		})
	}
}
