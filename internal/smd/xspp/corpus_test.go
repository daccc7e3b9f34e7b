package xspp

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opensmd/portal/internal/smd/fault"
	"github.com/opensmd/portal/internal/smd/pki"
	"github.com/opensmd/portal/internal/smd/safexml"
)

// The negative corpus (testdata/corpus/<code>__<name>.xml) holds wire
// bytes of ep:encryptedPayload documents (or attacks on the parser) and the
// fault code receiving each must produce; "ok" means it must be accepted.
// It is generated from the PKI fixtures with -update and seeds the fuzzers.

// corpusNow is the receiver's clock for the corpus (signer certificates
// generated for it expire at the end of 2025).
var corpusNow = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// receive is the full receive path the corpus is checked against:
// parse, decrypt, verify, and trust the signers.
func receive(f *fixtures, b []byte) (*Verified, error) {
	doc, err := safexml.Parse(b)
	if err != nil {
		return nil, err
	}
	sp, err := Decrypt(doc.Root(), f.Recipient.pair())
	if err != nil {
		return nil, err
	}
	v, err := Verify(sp)
	if err != nil {
		return nil, err
	}
	return v, trust(f, v)
}

// trust checks every signer as the receiver would at corpusNow.
func trust(f *fixtures, v *Verified) error {
	roots := x509.NewCertPool()
	roots.AddCert(f.CA.Cert)
	pv := pki.Verifier{Roots: roots, Now: func() time.Time { return corpusNow }}
	for _, c := range v.Signers {
		if err := pv.CheckSigner(c, orgSender, corpusNow); err != nil {
			return err
		}
	}
	return nil
}

func TestCorpus(t *testing.T) {
	f := loadFixtures(t)
	dir := filepath.Join("testdata", "corpus")
	if *update {
		writeCorpus(t, f, dir)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.xml"))
	if err != nil || len(files) < 40 {
		t.Fatalf("corpus missing (%d files, %v): run go test -run TestCorpus -update", len(files), err)
	}
	for _, file := range files {
		name := filepath.Base(file)
		code, _, ok := strings.Cut(name, "__")
		if !ok {
			t.Fatalf("corpus file %s: name must be <code>__<case>.xml", name)
		}
		t.Run(strings.TrimSuffix(name, ".xml"), func(t *testing.T) {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			v, err := receive(f, b)
			if code == "ok" {
				if err != nil || v.Payload == nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			wantCode(t, err, fault.Code(code))
		})
	}
}

// TestDecryptFailuresAreIdentical: every failure after the SKI match must be
// the same fault value, so errors are no decryption oracle.
func TestDecryptFailuresAreIdentical(t *testing.T) {
	f := loadFixtures(t)
	files, _ := filepath.Glob(filepath.Join("testdata", "corpus", "badEncryption__undecryptable-*.xml"))
	if len(files) < 8 {
		t.Fatalf("only %d undecryptable corpus files", len(files))
	}
	var first *fault.Error
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		_, err = receive(f, b)
		fe, ok := err.(*fault.Error)
		if !ok {
			t.Fatalf("%s: %T %v", file, err, err)
		}
		if first == nil {
			first = fe
		}
		if *fe != *first || fe.Err != nil || fe.Message != msgUndecrypt {
			t.Fatalf("%s: %#v differs from %#v", file, fe, first)
		}
	}
}
