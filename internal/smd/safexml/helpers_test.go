package safexml

import (
	"encoding/base64"
	"math/rand/v2"
	"testing"

	"github.com/beevik/etree"

	"github.com/opensmd/portal/internal/smd/fault"
	"github.com/opensmd/portal/internal/smd/ns"
)

// mustParse parses s and returns the root element.
func mustParse(tb testing.TB, s string) *etree.Element {
	tb.Helper()
	doc, err := Parse([]byte(s))
	if err != nil {
		tb.Fatalf("parse: %v\n%s", err, s)
	}
	return doc.Root()
}

// wire serializes el canonically, as it would travel.
func wire(tb testing.TB, el *etree.Element) []byte {
	tb.Helper()
	b, err := Canonicalize(el)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// message builds an SMD msg:message wrapper around data.
func message(data string) *etree.Element {
	el := etree.NewElement("msg:message")
	el.CreateAttr("xmlns:msg", ns.Message)
	el.CreateElement("msg:data").SetText(data)
	return el
}

// benchPayload is deterministic base64 text n bytes long.
func benchPayload(n int) string {
	raw := make([]byte, base64.StdEncoding.DecodedLen(n))
	r := rand.NewChaCha8([32]byte{9})
	_, _ = r.Read(raw)
	return base64.StdEncoding.EncodeToString(raw)[:n]
}

// walk visits every element under root in document order.
func walk(root *etree.Element, visit func(*etree.Element)) {
	visit(root)
	for _, c := range root.ChildElements() {
		walk(c, visit)
	}
}

// wantCode fails unless err carries code.
func wantCode(tb testing.TB, err error, code fault.Code) {
	tb.Helper()
	if got, ok := fault.CodeOf(err); !ok || got != code {
		tb.Fatalf("error %v: code %q, want %q", err, got, code)
	}
}
