package safexml

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/opensmd/portal/internal/smd/fault"
)

// FuzzParse: no panics, failures are badlyFormedMsg, and accepted
// documents canonicalize to a fixed point (parse ∘ c14n is idempotent).
func FuzzParse(f *testing.F) {
	for _, p := range []string{filepath.Join("testdata", "c14n", "*.xml"), filepath.Join("..", "xspp", "testdata", "corpus", "badlyFormedMsg__*.xml"),
		filepath.Join("..", "xspp", "testdata", "TestGoldenSigned.xml")} {
		files, _ := filepath.Glob(p)
		for _, file := range files {
			if b, err := os.ReadFile(file); err == nil {
				f.Add(b)
			}
		}
	}
	for _, s := range []string{
		`<a/>`, `<?xml version="1.0"?><a b='1'>&amp;&#x41;<![CDATA[x]]><!--c--><?p i?></a>`,
		`<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>`, "<a>\r\n</a>", `<p:a xmlns:p="u" p:b="1"/>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		doc, err := Parse(b)
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
		doc2, err := Parse(c1)
		if err != nil {
			t.Fatalf("canonical form does not re-parse: %v\n%q", err, c1)
		}
		c2, err := Canonicalize(doc2.Root())
		if err != nil || !bytes.Equal(c1, c2) {
			t.Fatalf("c14n not idempotent (%v):\n%q\n%q", err, c1, c2)
		}
	})
}
