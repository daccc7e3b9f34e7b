package xspp

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/opensmd/portal/internal/smd/fault"
	"github.com/opensmd/portal/internal/smd/ns"
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
		if doc, err := ParseHardened(b); err == nil {
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
	doc, err := ParseHardened(b)
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

// FuzzParseHardened: no panics, failures are badlyFormedMsg, and accepted
// documents canonicalize to a fixed point (parse ∘ c14n is idempotent).
func FuzzParseHardened(f *testing.F) {
	addSeeds(f, filepath.Join("testdata", "c14n", "*.xml"), filepath.Join("testdata", "corpus", "badlyFormedMsg__*.xml"),
		filepath.Join("testdata", "TestGoldenSigned.xml"))
	for _, s := range []string{
		`<a/>`, `<?xml version="1.0"?><a b='1'>&amp;&#x41;<![CDATA[x]]><!--c--><?p i?></a>`,
		`<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>`, "<a>\r\n</a>", `<p:a xmlns:p="u" p:b="1"/>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		doc, err := ParseHardened(b)
		if err != nil {
			if code, _ := fault.CodeOf(err); code != fault.BadlyFormedMsg {
				t.Fatalf("error %v has code %q", err, code)
			}
			return
		}
		c1, err := Canonicalize(doc.Root())
		if err != nil {
			t.Fatalf("accepted document does not canonicalize: %v", err)
		}
		doc2, err := ParseHardened(c1)
		if err != nil {
			t.Fatalf("canonical form does not re-parse: %v\n%q", err, c1)
		}
		c2, err := Canonicalize(doc2.Root())
		if err != nil || !bytes.Equal(c1, c2) {
			t.Fatalf("c14n not idempotent (%v):\n%q\n%q", err, c1, c2)
		}
	})
}
