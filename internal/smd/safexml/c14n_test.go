package safexml

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"
)

// requireTool returns the path of an external tool the interop tests need.
// The tools are installed by the test task; missing them is a failure, not
// a skip, except under -short.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if testing.Short() {
			t.Skipf("%s not installed (-short)", name)
		}
		t.Fatalf("%s is required for this interop test (apt-get install xmlsec1 libxml2-utils): %v", name, err)
	}
	return p
}

func c14nCorpus(t *testing.T) []string {
	files, err := filepath.Glob(filepath.Join("testdata", "c14n", "*.xml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no c14n corpus: %v", err)
	}
	return files
}

// TestCanonicalizeMatchesXmllint compares our exc-c14n of each corpus
// document with libxml2's (xmllint --exc-c14n), which xmlsec1 also uses.
// xmllint keeps comments, so the corpus has none.
func TestCanonicalizeMatchesXmllint(t *testing.T) {
	xmllint := requireTool(t, "xmllint")
	for _, file := range c14nCorpus(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			want, err := exec.Command(xmllint, "--exc-c14n", file).Output()
			if err != nil {
				t.Fatalf("xmllint: %v", err)
			}
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			got := wire(t, mustParse(t, string(b)))
			if !bytes.Equal(got, want) {
				t.Errorf("ours:\n%s\nxmllint:\n%s", got, want)
			}
		})
	}
}

// TestCanonicalizeSubtreesMatchGoxmldsig canonicalizes every element of
// every corpus document as an apex (so inherited namespaces matter) and
// compares with goxmldsig's exc-c14n on an encoding/xml (etree) parse.
func TestCanonicalizeSubtreesMatchGoxmldsig(t *testing.T) {
	canon := dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	for _, file := range c14nCorpus(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			ours := mustParse(t, string(b))
			theirs := etree.NewDocument()
			if err := theirs.ReadFromBytes(b); err != nil {
				t.Fatal(err)
			}
			var oursEls, theirEls []*etree.Element
			walk(ours, func(e *etree.Element) { oursEls = append(oursEls, e) })
			walk(theirs.Root(), func(e *etree.Element) { theirEls = append(theirEls, e) })
			if len(oursEls) != len(theirEls) {
				t.Fatalf("%d elements, etree has %d", len(oursEls), len(theirEls))
			}
			for i, el := range theirEls {
				ctx, err := etreeutils.NSBuildParentContext(el)
				if err != nil {
					t.Fatal(err)
				}
				detached, err := etreeutils.NSDetatch(ctx, el)
				if err != nil {
					t.Fatal(err)
				}
				want, err := canon.Canonicalize(detached)
				if err != nil {
					t.Fatal(err)
				}
				got, err := Canonicalize(oursEls[i])
				if err != nil {
					t.Fatal(err)
				}
				if bytes.Equal(got, want) {
					continue
				}
				// Known goxmldsig deviation: it renders xmlns="" on an
				// element whose inherited default namespace was never
				// rendered in the output; libxml2/xmlsec1 do not (see
				// TestVerifyXmlsecSigned, whose template has that case).
				if bytes.Equal(got, bytes.ReplaceAll(want, []byte(` xmlns=""`), nil)) {
					t.Logf("element %d <%s>: goxmldsig xmlns=\"\" deviation", i, el.FullTag())
					continue
				}
				t.Errorf("element %d <%s>:\nours      %s\ngoxmldsig %s", i, el.FullTag(), got, want)
			}
		})
	}
}

func TestCanonicalizeDoesNotModify(t *testing.T) {
	el := mustParse(t, `<a xmlns:u="urn:u" xmlns="urn:d" z="1" b="2"><u:b/></a>`)
	before := el.Copy()
	if _, err := Canonicalize(el.SelectElement("b")); err != nil {
		t.Fatal(err)
	}
	if _, err := Canonicalize(el); err != nil {
		t.Fatal(err)
	}
	d1, d2 := etree.NewDocumentWithRoot(before), etree.NewDocumentWithRoot(el.Copy())
	s1, _ := d1.WriteToString()
	s2, _ := d2.WriteToString()
	if s1 != s2 {
		t.Fatalf("input changed:\n%s\n%s", s1, s2)
	}
}

func TestCanonicalizeRejectsBadTrees(t *testing.T) {
	undeclared := etree.NewElement("p:a")
	ctl := etree.NewElement("a")
	ctl.SetText("bell\x07")
	badUTF8 := etree.NewElement("a")
	badUTF8.CreateAttr("x", "\xff")
	dir := etree.NewElement("a")
	dir.AddChild(etree.NewDirective("DOCTYPE x"))
	badPI := etree.NewElement("a")
	badPI.AddChild(etree.NewProcInst("t", "x?><evil/><?y"))
	deep := etree.NewElement("a")
	for e, i := deep, 0; i < maxC14NDepth+1; i++ {
		e = e.CreateElement("a")
	}
	for name, el := range map[string]*etree.Element{
		"UndeclaredPrefix": undeclared, "ControlChar": ctl, "BadUTF8Attr": badUTF8,
		"Directive": dir, "TooDeep": deep, "Nil": nil, "ProcInstEnd": badPI,
	} {
		t.Run(name, func(t *testing.T) {
			if out, err := Canonicalize(el); err == nil {
				t.Fatalf("accepted: %s", out)
			}
		})
	}
}

// TestWriteCanonicalStreams checks the streaming writer against the
// in-memory one across the 32 KiB buffer boundary.
func TestWriteCanonicalStreams(t *testing.T) {
	el := message(benchPayload(100<<10) + "&<>\r")
	want, err := Canonicalize(el)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteCanonical(&buf, el); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatal("streamed form differs")
	}
}
