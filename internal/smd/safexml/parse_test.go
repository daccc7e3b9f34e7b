package safexml

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/opensmd/portal/internal/smd/fault"
)

func TestParseHardenedAccepts(t *testing.T) {
	tests := []struct {
		name, in, want string // want is the exc-c14n of the root
	}{
		{"Simple", `<a/>`, `<a></a>`},
		{"DeclAndBOM", "\xEF\xBB\xBF<?xml version='1.0' encoding=\"utf-8\" standalone='yes'?>\n<a>x</a>", `<a>x</a>`},
		{"MiscOutsideRoot", `<!-- c --><?pi x?> <a/> <!-- d -->`, `<a></a>`},
		{"References", `<a>&lt;&gt;&amp;&quot;&apos;&#65;&#x42;&#x1D11E;</a>`, `<a>&lt;&gt;&amp;"'AB𝄞</a>`},
		{"CDATAMerged", `<a>x<![CDATA[<&>]]>y</a>`, `<a>x&lt;&amp;&gt;y</a>`},
		{"LineEnds", "<a>1\r\n2\r3</a>", "<a>1\n2\n3</a>"},
		{"CharRefCR", `<a>&#13;</a>`, `<a>&#xD;</a>`},
		{"AttrNormalization", "<a b=\"1\n2\t3\r\n4\" c='&#10;&#9;' d=\"'\" e='\"'/>", `<a b="1 2 3 4" c="&#xA;&#x9;" d="'" e="&quot;"></a>`},
		{"AttrOrder", `<a xmlns:z="urn:a" xmlns:b="urn:b" z:y="1" b:y="2" y="3" x="4"/>`, `<a xmlns:b="urn:b" xmlns:z="urn:a" x="4" y="3" z:y="1" b:y="2"></a>`},
		{"UnusedNamespaceDropped", `<a xmlns:u="urn:u"><b/></a>`, `<a><b></b></a>`},
		{"DefaultNamespace", `<a xmlns="urn:a"><b xmlns=""/></a>`, `<a xmlns="urn:a"><b xmlns=""></b></a>`},
		{"Redeclared", `<p:a xmlns:p="urn:1"><p:b xmlns:p="urn:2"/><p:c xmlns:p="urn:1"/></p:a>`, `<p:a xmlns:p="urn:1"><p:b xmlns:p="urn:2"></p:b><p:c></p:c></p:a>`},
		{"XMLPrefix", `<a xml:lang="en"/>`, `<a xml:lang="en"></a>`},
		{"CommentsDroppedPIKept", `<a><!--x--><?t d?></a>`, `<a><?t d?></a>`},
		{"NonASCIINames", `<é:ü xmlns:é="urn:e" ñ="1">Ω</é:ü>`, `<é:ü xmlns:é="urn:e" ñ="1">Ω</é:ü>`},
		{"WhitespaceKept", "<a>\n  <b> </b>\n</a>", "<a>\n  <b> </b>\n</a>"},
		{"EndTagSpace", `<a></a  >`, `<a></a>`},
		{"Depth256", strings.Repeat("<a>", MaxDepth) + strings.Repeat("</a>", MaxDepth), strings.Repeat("<a>", MaxDepth) + strings.Repeat("</a>", MaxDepth)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got, err := Canonicalize(doc.Root())
			if err != nil {
				t.Fatalf("Canonicalize: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestParseHardenedRejects(t *testing.T) {
	deep := strings.Repeat("<a>", MaxDepth+1) + strings.Repeat("</a>", MaxDepth+1)
	many := "<a"
	for i := range MaxAttrs + 1 {
		many += fmt.Sprintf(` a%d="1"`, i)
	}
	many += "/>"
	manyNS := ""
	for i := range MaxNamespaces + 1 {
		manyNS += fmt.Sprintf(`<a xmlns:p%d="urn:x">`, i)
	}
	tests := []struct {
		name, in string
		want     error // sentinel, or nil for "any syntax error"
	}{
		{"Doctype", `<!DOCTYPE a><a/>`, ErrDTD},
		{"BillionLaughs", `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><lolz>&lol3;</lolz>`, ErrDTD},
		{"ExternalEntity", `<!DOCTYPE a [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><a>&xxe;</a>`, ErrDTD},
		{"ParameterEntity", `<!DOCTYPE a [<!ENTITY % p SYSTEM "http://example.invalid/x.dtd"> %p;]><a/>`, ErrDTD},
		{"DoctypeAfterRoot", `<a/><!DOCTYPE a>`, ErrDTD},
		{"DoctypeInElement", `<a><!DOCTYPE a></a>`, ErrDTD},
		{"EntityDeclInElement", `<a><!ENTITY x "y"></a>`, ErrDTD},
		{"UndefinedEntity", `<a>&xxe;</a>`, ErrEntity},
		{"UndefinedEntityInAttr", `<a b="&xxe;"/>`, ErrEntity},
		{"TooDeep", deep, ErrDepth},
		{"TooManyAttrs", many, errTooManyAttrs},
		{"TooManyNamespaces", manyNS, errTooManyNS},
		{"DuplicateAttr", `<a x="1" x="2"/>`, nil},
		{"DuplicateExpandedAttr", `<a xmlns:p="urn:x" xmlns:q="urn:x" p:x="1" q:x="2"/>`, nil},
		{"UndeclaredElementPrefix", `<p:a/>`, nil},
		{"UndeclaredAttrPrefix", `<a p:x="1"/>`, nil},
		{"XmlnsPrefixElement", `<xmlns:a/>`, nil},
		{"EmptyPrefixBinding", `<a xmlns:p=""/>`, nil},
		{"RebindXml", `<a xmlns:xml="urn:x"/>`, nil},
		{"BindXmlNamespace", `<a xmlns:p="http://www.w3.org/XML/1998/namespace"/>`, nil},
		{"DeclareXmlns", `<a xmlns:xmlns="urn:x"/>`, nil},
		{"BadQName", `<a:b:c xmlns:a="urn:a"/>`, nil},
		{"QNameLocalDigit", `<a:1 xmlns:a="urn:a"/>`, nil},
		{"Mismatched", `<a></b>`, nil},
		{"Unclosed", `<a><b></b>`, nil},
		{"TwoRoots", `<a/><b/>`, nil},
		{"TextOutsideRoot", `x<a/>`, nil},
		{"TrailingText", `<a/>x`, nil},
		{"Empty", ``, nil},
		{"OnlyComment", `<!-- x -->`, nil},
		{"ControlChar", "<a>\x01</a>", nil},
		{"ControlCharInAttr", "<a b=\"\x01\"/>", nil},
		{"BadUTF8", "<a>\xff</a>", nil},
		{"BadUTF8InName", "<a\xff/>", nil},
		{"Surrogate", "<a>\xed\xa0\x80</a>", nil},
		{"NonCharFFFE", "<a>\uFFFE</a>", nil},
		{"CharRefNUL", `<a>&#0;</a>`, nil},
		{"CharRefSurrogate", `<a>&#xD800;</a>`, nil},
		{"CharRefTooBig", `<a>&#x110000;</a>`, nil},
		{"CharRefSign", `<a>&#x+41;</a>`, nil},
		{"UnterminatedRef", `<a>&amp</a>`, nil},
		{"CDATAEndInText", `<a>]]></a>`, nil},
		{"DoubleHyphenComment", `<a><!-- a -- b --></a>`, nil},
		{"CommentEndsHyphen", `<a><!-- a ---></a>`, nil},
		{"DeclNotAtStart", ` <?xml version="1.0"?><a/>`, nil},
		{"DeclInElement", `<a><?xml version="1.0"?></a>`, nil},
		{"Version11", `<?xml version="1.1"?><a/>`, nil},
		{"Latin1", `<?xml version="1.0" encoding="ISO-8859-1"?><a/>`, nil},
		{"UTF16BOM", "\xFF\xFE<\x00a\x00/\x00>\x00", nil},
		{"DeclNoVersion", `<?xml encoding="UTF-8"?><a/>`, nil},
		{"DeclBadOrder", `<?xml encoding="UTF-8" version="1.0"?><a/>`, nil},
		{"LtInAttr", `<a b="<"/>`, nil},
		{"UnquotedAttr", `<a b=1/>`, nil},
		{"AttrNoSpace", `<a b="1"c="2"/>`, nil},
		{"UnterminatedAttr", `<a b="1`, nil},
		{"UnterminatedComment", `<a><!-- x`, nil},
		{"UnterminatedCDATA", `<a><![CDATA[x`, nil},
		{"UnterminatedPI", `<a><?x y`, nil},
		{"PITargetXML", `<a><?XmL x?></a>`, nil},
		{"PIColon", `<a><?a:b x?></a>`, nil},
		{"BareLt", `<a>1 < 2</a>`, nil},
		{"Truncated", `<a`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := Parse([]byte(tt.in))
			if err == nil {
				t.Fatalf("accepted: %q", tt.in)
			}
			if doc != nil {
				t.Errorf("returned a document with the error")
			}
			wantCode(t, err, fault.BadlyFormedMsg)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("no *SyntaxError in %v", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
		})
	}
}

// TestParseHardenedZeroCopyIndependence checks that the returned tree does
// not alias the caller's buffer.
func TestParseHardenedZeroCopyIndependence(t *testing.T) {
	b := []byte(`<a>hello</a>`)
	doc, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	copy(b, "XXXXXXXXXXXX")
	if got := doc.Root().Text(); got != "hello" {
		t.Fatalf("text changed with the input buffer: %q", got)
	}
}
