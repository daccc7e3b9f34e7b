package wiretest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/beevik/etree"

	"github.com/opensmd/portal/internal/smd/wire"
)

// SpecDir returns shared/spec/xsd: shared/ sits beside the repository root
// (the directory holding go.mod).
func SpecDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("repository root (go.mod) not found above the test directory")
		}
		dir = parent
	}
	spec := filepath.Join(dir, "..", "shared", "spec", "xsd")
	if _, err := os.Stat(spec); err != nil {
		t.Fatalf("spec schemas not found at %s (shared/ must sit beside the repository): %v", spec, err)
	}
	return spec
}

// Xmllint returns the xmllint path or fails the test with install advice.
// In -short mode the test is skipped instead.
func Xmllint(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("xmllint")
	if err != nil {
		if testing.Short() {
			t.Skip("xmllint not installed; skipped in -short mode")
		}
		t.Fatal("xmllint is required for XSD validation: apt-get install libxml2-utils")
	}
	return p
}

// WSDLSchema extracts the xsd:schema embedded in the <wsdl:types> of the
// WSDL at rel (relative to SpecDir) into a temporary .xsd file: the schema
// gets the namespace declarations of wsdl:definitions (its type references
// use them) and each xsd:import schemaLocation becomes an absolute path.
func WSDLSchema(t testing.TB, rel string) string {
	t.Helper()
	path := filepath.Join(SpecDir(t), rel)
	doc := etree.NewDocument()
	if err := doc.ReadFromFile(path); err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	defs := doc.Root()
	schema := defs.FindElement("./wsdl:types/xsd:schema")
	if schema == nil {
		t.Fatalf("%s: no wsdl:types/xsd:schema", rel)
	}
	out := schema.Copy()
	for _, a := range defs.Attr {
		if a.Space == "xmlns" && out.SelectAttr("xmlns:"+a.Key) == nil {
			out.CreateAttr("xmlns:"+a.Key, a.Value)
		}
	}
	for _, imp := range out.SelectElements("xsd:import") {
		loc := imp.SelectAttr("schemaLocation")
		if loc != nil {
			loc.Value = filepath.Join(filepath.Dir(path), loc.Value)
		}
	}
	xsd := filepath.Join(t.TempDir(), filepath.Base(rel)+".xsd")
	if err := etree.NewDocumentWithRoot(out).WriteToFile(xsd); err != nil {
		t.Fatalf("write %s: %v", xsd, err)
	}
	return xsd
}

// Validate runs xmllint --noout --nonet --schema xsd on el serialised as a
// document and fails the test with xmllint's report if it is invalid.
func Validate(t testing.TB, xsd string, el *etree.Element) {
	t.Helper()
	b, err := etree.NewDocumentWithRoot(wire.Detach(el)).WriteToBytes()
	if err != nil {
		t.Fatalf("serialise: %v", err)
	}
	ValidateBytes(t, xsd, b)
}

// ValidateBytes is Validate for an already serialised document.
func ValidateBytes(t testing.TB, xsd string, doc []byte) {
	t.Helper()
	if err := SchemaErrors(t, xsd, doc); err != nil {
		t.Fatalf("%v\ninstance:\n%s", err, doc)
	}
}

// SchemaErrors runs xmllint on doc and returns its report as an error when
// doc does not validate against xsd.
func SchemaErrors(t testing.TB, xsd string, doc []byte) error {
	t.Helper()
	lint := Xmllint(t)
	f := filepath.Join(t.TempDir(), "instance.xml")
	if err := os.WriteFile(f, doc, 0o600); err != nil {
		t.Fatalf("write instance: %v", err)
	}
	out, err := exec.Command(lint, "--noout", "--nonet", "--schema", xsd, f).CombinedOutput()
	if err != nil {
		return fmt.Errorf("xmllint: %s does not validate: %w\n%s", filepath.Base(xsd), err, out)
	}
	return nil
}
