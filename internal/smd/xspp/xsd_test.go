package xspp

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// specXSD returns a schema of shared/spec/xsd/smd-2010/xsd; shared/ sits
// beside the repository root, as for the other SMD packages' XSD tests.
func specXSD(t *testing.T, name string) string {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		if filepath.Dir(dir) == dir {
			t.Fatal("repository root not found")
		}
		dir = filepath.Dir(dir)
	}
	p := filepath.Join(dir, "..", "shared", "spec", "xsd", "smd-2010", "xsd", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("schema %s not found (shared/ must sit beside the repository): %v", name, err)
	}
	return p
}

// TestOutputValidatesAgainstXSD checks our containers against the official
// XSPP schemas with xmllint.
func TestOutputValidatesAgainstXSD(t *testing.T) {
	xmllint := requireTool(t, "xmllint")
	f := loadFixtures(t)
	sp, err := Sign(message("eA=="), []Signer{f.Sender.signer(), f.Sender2.signer()}, SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ep, err := Encrypt(sp, f.Recipient.certs(), EncryptOptions{DataAlgorithm: AlgAES256GCM})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cases := []struct{ schema, file string }{
		{"xsp-SignedPayload-2010.xsd", filepath.Join("testdata", "TestGoldenSigned.xml")},
		{"xsp-EncryptedPayload-2010.xsd", filepath.Join("testdata", "TestGoldenSignedEncrypted.xml")},
		{"xsp-SignedPayload-2010.xsd", filepath.Join(dir, "signed.xml")},
		{"xsp-EncryptedPayload-2010.xsd", filepath.Join(dir, "gcm.xml")},
	}
	if err := os.WriteFile(cases[2].file, wire(t, sp), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cases[3].file, wire(t, ep), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		out, err := exec.Command(xmllint, "--noout", "--nonet", "--schema", specXSD(t, c.schema), c.file).CombinedOutput()
		if err != nil {
			t.Errorf("%s does not validate against %s: %v\n%s", c.file, c.schema, err, out)
		}
	}
}
