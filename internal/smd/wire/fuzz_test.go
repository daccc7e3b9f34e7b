package wire_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/beevik/etree"
	"github.com/google/go-cmp/cmp"

	"github.com/opensmd/portal/internal/smd/fault"
	"github.com/opensmd/portal/internal/smd/wire"
)

// FuzzParseSealedMessage feeds arbitrary documents to the SealedMessage
// parser (via smd:deliver). It must never panic, and whatever it accepts
// must survive build → parse unchanged. Seeds are the golden files; `go
// test` runs them as unit tests.
func FuzzParseSealedMessage(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.xml"))
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		doc := etree.NewDocument()
		doc.ReadSettings.MaxDepth = 64
		if err := doc.ReadFromBytes(b); err != nil || doc.Root() == nil {
			return
		}
		root := doc.Root()
		if !prefixesDeclared(root) {
			return // not namespace-well-formed; soap.Parse rejects these
		}
		var msgEl *etree.Element
		for _, c := range root.ChildElements() {
			if c.Tag == "message" || c.Tag == "response" {
				msgEl = c
				break
			}
		}
		if msgEl == nil {
			msgEl = root
		}
		m, err := wire.ParseSealedMessage(msgEl)
		if err != nil {
			if _, ok := fault.CodeOf(err); !ok {
				t.Fatalf("error is not a *fault.Error: %T %v", err, err)
			}
			return
		}
		again, err := wire.ParseSealedMessage(reparse(t, compact(t, m.AppendTo(nil, "urn:x", "message"))))
		if err != nil {
			t.Fatalf("rebuilt message does not parse: %v", err)
		}
		if diff := cmp.Diff(m, again, elementEq); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}

// prefixesDeclared reports whether every element and attribute prefix in
// el's subtree is declared (namespace well-formedness).
func prefixesDeclared(el *etree.Element) bool {
	declared := func(e *etree.Element, p string) bool {
		if p == "" || p == "xmlns" || p == "xml" {
			return true
		}
		for ; e != nil; e = e.Parent() {
			if e.SelectAttr("xmlns:"+p) != nil {
				return true
			}
		}
		return false
	}
	if !declared(el, el.Space) {
		return false
	}
	for _, a := range el.Attr {
		if !declared(el, a.Space) {
			return false
		}
	}
	for _, c := range el.ChildElements() {
		if !prefixesDeclared(c) {
			return false
		}
	}
	return true
}
