package cli

import (
	"bytes"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/opensmd/portal/internal/smd/ns"
)

// TestSMDCLI_XmlsecOpensWhatTheCLISealed is issue 3's acceptance check: a
// message sealed by `portal smd seal` is decrypted and verified by xmlsec1,
// the C reference implementation. xmlsec1 only looks for the session key
// inside EncryptedData/ds:KeyInfo, so the EncryptedKey is copied there byte
// for byte; every other byte is the CLI's output.
func TestSMDCLI_XmlsecOpensWhatTheCLISealed(t *testing.T) {
	xmlsec, err := exec.LookPath("xmlsec1")
	if err != nil {
		t.Fatal("xmlsec1 not found: apt-get install xmlsec1 (go tool task test installs it)")
	}
	dir := t.TempDir()
	pkiFixture(t, dir)
	payload := []byte("MSH|^~\\&|GP|GPFAC|PHYSIO|PHYFAC|20261124||REF^I12^REF_I12|1|P|2.4\rPID|1||123\r")
	in, sealed := filepath.Join(dir, "ref.hl7"), filepath.Join(dir, "sealed.xml")
	if err := os.WriteFile(in, payload, 0o600); err != nil {
		t.Fatal(err)
	}
	seal(t, dir, in, sealed)
	b, err := os.ReadFile(sealed)
	if err != nil {
		t.Fatal(err)
	}
	enc := filepath.Join(dir, "for-xmlsec.xml")
	if err := os.WriteFile(enc, inlineEncryptedKey(t, b), 0o600); err != nil {
		t.Fatal(err)
	}
	dec := filepath.Join(dir, "decrypted.xml")
	if out, err := exec.Command(xmlsec, "--decrypt", "--privkey-pem", filepath.Join(dir, "physio/key.pem"), "--output", dec, enc).CombinedOutput(); err != nil {
		t.Fatalf("xmlsec1 --decrypt: %v\n%s", err, out)
	}
	out, err := exec.Command(xmlsec, "--verify", "--id-attr:id", ns.SignedPayload+":signedPayloadData",
		"--trusted-pem", filepath.Join(dir, "ca/ca.pem"), dec).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "OK") {
		t.Fatalf("xmlsec1 --verify: %v\n%s", err, out)
	}
	plain, err := os.ReadFile(dec)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`<msg:data>([A-Za-z0-9+/=\s]+)</msg:data>`).FindSubmatch(plain)
	if m == nil {
		t.Fatalf("no msg:data in xmlsec1's plaintext:\n%s", plain)
	}
	got, err := base64.StdEncoding.DecodeString(string(m[1]))
	if err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("payload after xmlsec1: %q (%v)", got, err)
	}
	// Negative control: xmlsec1 must reject the signature once data changes.
	tampered := bytes.Replace(plain, m[1], []byte(base64.StdEncoding.EncodeToString([]byte("forged"))), 1)
	tf := filepath.Join(dir, "tampered.xml")
	if err := os.WriteFile(tf, tampered, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(xmlsec, "--verify", "--id-attr:id", ns.SignedPayload+":signedPayloadData",
		"--trusted-pem", filepath.Join(dir, "ca/ca.pem"), tf).CombinedOutput(); err == nil {
		t.Fatalf("xmlsec1 accepted a tampered payload:\n%s", out)
	}
}

// inlineEncryptedKey copies the (single) EncryptedKey into
// EncryptedData/ds:KeyInfo right after its EncryptionMethod.
func inlineEncryptedKey(t *testing.T, b []byte) []byte {
	t.Helper()
	s := string(b)
	start := strings.Index(s, "<xenc:EncryptedKey")
	end := strings.Index(s, "</xenc:EncryptedKey>")
	ed := strings.Index(s, "<xenc:EncryptedData")
	if start < 0 || end < 0 || ed < 0 {
		t.Fatalf("sealed message lacks EncryptedKey or EncryptedData:\n%.400s", s)
	}
	ek := s[start : end+len("</xenc:EncryptedKey>")]
	at := ed + strings.Index(s[ed:], "<xenc:EncryptionMethod")
	at += strings.IndexByte(s[at:], '>') + 1
	if s[at-2] != '/' { // not self-closing
		at += strings.Index(s[at:], "</xenc:EncryptionMethod>") + len("</xenc:EncryptionMethod>")
	}
	return []byte(s[:at] + `<ds:KeyInfo xmlns:ds="` + ns.DSig + `">` + ek + `</ds:KeyInfo>` + s[at:])
}
