package xspp

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"testing/cryptotest"
)

// golden compares got with testdata/<TestName>.xml (-update rewrites it).
func golden(t *testing.T, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", t.Name()+".xml")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run with -update if the change is intended)\ngot:\n%s", path, got)
	}
}

// sealDeterministic signs and encrypts with fixed randomness everywhere:
// opts.Rand streams for ids, session key and IV, and the global crypto
// source (which crypto/rsa uses for PKCS#1 v1.5 padding since Go 1.26).
func sealDeterministic(t *testing.T, f *fixtures) (signed, encrypted []byte) {
	cryptotest.SetGlobalRandom(t, 42)
	sha256 := f.Sender2.signer()
	sha256.Hash = crypto.SHA256
	sp, err := Sign(message("SGVsbG8gU01EIGdvbGRlbg=="), []Signer{f.Sender.signer(), sha256}, SignOptions{Rand: detRand(7)})
	if err != nil {
		t.Fatal(err)
	}
	ep, err := Encrypt(sp, []*x509.Certificate{f.Recipient.Cert, f.Recipient2.Cert}, EncryptOptions{Rand: detRand(8)})
	if err != nil {
		t.Fatal(err)
	}
	return wire(t, sp), wire(t, ep)
}

func TestGoldenSigned(t *testing.T) {
	f := loadFixtures(t)
	sp, err := Sign(message("SGVsbG8gU01EIGdvbGRlbg=="), []Signer{f.Sender.signer()}, SignOptions{Rand: detRand(7)})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, wire(t, sp))
}

func TestGoldenSignedEncrypted(t *testing.T) {
	f := loadFixtures(t)
	signed, encrypted := sealDeterministic(t, f)
	signed2, encrypted2 := sealDeterministic(t, f)
	if !bytes.Equal(signed, signed2) || !bytes.Equal(encrypted, encrypted2) {
		t.Fatal("output is not byte-stable under fixed randomness")
	}
	golden(t, encrypted)
	// The golden bytes must still open (guards against a stale golden file
	// that merely matches itself).
	for _, kp := range []KeyPair{f.Recipient.keyPair(), f.Recipient2.keyPair()} {
		v, err := openWire(t, encrypted, []KeyPair{kp})
		if err != nil {
			t.Fatal(err)
		}
		if len(v.Signers) != 2 {
			t.Fatalf("%d signers", len(v.Signers))
		}
		data := mustParse(t, string(signed)).SelectElement("signedPayloadData")
		if !bytes.Equal(wire(t, data), v.Data) {
			t.Fatal("verified data is not the signed data")
		}
	}
}
