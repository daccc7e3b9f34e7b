package xspp

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/opensmd/portal/internal/smd/fault"
	"github.com/opensmd/portal/internal/smd/ns"
	"github.com/opensmd/portal/internal/smd/safexml"
)

func addSeeds(f *testing.F, patterns ...string) {
	f.Helper()
	for _, p := range patterns {
		files, err := filepath.Glob(p)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
}

// FuzzDecryptVerify runs the receive path on arbitrary bytes: it must never
// panic, and every failure must carry a StandardError code. An
// ep:encryptedPayload goes through Decrypt then Verify; an sp:signedPayload
// straight to Verify, so that mutations reach the signature checks instead
// of dying in the cipher. Seeds: the corpus plus the decrypted plaintext of
// each corpus entry. Each run costs an RSA private-key operation, so
// throughput is a few hundred runs per second at best.
func FuzzDecryptVerify(f *testing.F) {
	fx := loadFixtures(f)
	addSeeds(f, filepath.Join("testdata", "corpus", "*.xml"), filepath.Join("testdata", "TestGolden*.xml"))
	files, _ := filepath.Glob(filepath.Join("testdata", "corpus", "*.xml"))
	for _, file := range files {
		b, _ := os.ReadFile(file)
		if doc, err := safexml.Parse(b); err == nil {
			if sp, err := Decrypt(doc.Root(), fx.Recipient.pair()); err == nil {
				f.Add(wire(f, sp))
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := receiveAny(fx, b)
		if err != nil {
			if _, ok := fault.CodeOf(err); !ok {
				t.Fatalf("error without a fault code: %v", err)
			}
			return
		}
		if v.Payload == nil || len(v.Data) == 0 || len(v.Signers) == 0 {
			t.Fatalf("accepted without a result: %+v", v)
		}
	})
}

// receiveAny is receive, but accepts an unencrypted sp:signedPayload too.
func receiveAny(f *fixtures, b []byte) (*Verified, error) {
	doc, err := safexml.Parse(b)
	if err != nil {
		return nil, err
	}
	if !is(doc.Root(), ns.SignedPayload, "signedPayload") {
		return receive(f, b)
	}
	v, err := Verify(doc.Root())
	if err != nil {
		return nil, err
	}
	return v, trust(f, v)
}
