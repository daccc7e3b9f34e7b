package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	gpURI     = "http://ns.electronichealth.net.au/id/hi/hpio/1.0/8003620000000013"
	physioURI = "http://ns.electronichealth.net.au/id/hi/hpio/1.0/8003620000000021"
	refCat    = "http://ns.hl7.org.au/hl7v2/profiles/HL7AU-OO-REF-SIMPLIFIED-201706"
)

// pkiFixture runs `pki init` and two `pki issue` in dir.
func pkiFixture(t *testing.T, dir string) {
	t.Helper()
	steps := [][]string{
		{"pki", "init", "--out", filepath.Join(dir, "ca")},
		{"pki", "issue", "--ca", filepath.Join(dir, "ca"), "--org-uri", gpURI, "--name", "TEST GP", "--out", filepath.Join(dir, "gp")},
		{"pki", "issue", "--ca", filepath.Join(dir, "ca"), "--org-uri", physioURI, "--name", "TEST Physio", "--out", filepath.Join(dir, "physio")},
	}
	for _, args := range steps {
		if code, out, errOut := run(t, nil, args...); code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errOut)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "gp", "key.pem")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v %v", fi, err)
	}
}

func seal(t *testing.T, dir, in, out string, extra ...string) {
	t.Helper()
	args := append([]string{"smd", "seal", "--sender-cert", filepath.Join(dir, "gp/cert.pem"), "--sender-key", filepath.Join(dir, "gp/key.pem"),
		"--recipient-cert", filepath.Join(dir, "physio/cert.pem"), "--sender-org", gpURI, "--receiver-org", physioURI,
		"--category", refCat, "--in", in, "--out", out}, extra...)
	if code, _, errOut := run(t, nil, args...); code != 0 || !strings.Contains(errOut, "invocationId urn:uuid:") {
		t.Fatalf("seal: exit %d\n%s", code, errOut)
	}
}

func open(t *testing.T, dir, who, in, out string) (int, string) {
	t.Helper()
	code, _, errOut := run(t, nil, "smd", "open", "--cert", filepath.Join(dir, who, "cert.pem"), "--key", filepath.Join(dir, who, "key.pem"),
		"--trust", filepath.Join(dir, "ca/ca.pem"), "--in", in, "--out", out)
	return code, errOut
}

func TestSMDCLI_RoundTripReturnsOriginalBytes(t *testing.T) {
	dir := t.TempDir()
	pkiFixture(t, dir)
	payloads := map[string][]byte{
		"hl7":  []byte("MSH|^~\\&|GP|GPFAC|PHYSIO|PHYFAC|20261124||REF^I12^REF_I12|1|P|2.4\rPID|1||123^^^AUSHIC^MC\r"),
		"pdf":  append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte{0, 1, 2, 0xff}, 4096)...),
		"sha2": []byte("signed with RSA-SHA256"),
	}
	for name, payload := range payloads {
		in, sealed, out := filepath.Join(dir, name+".in"), filepath.Join(dir, name+".xml"), filepath.Join(dir, name+".out")
		if err := os.WriteFile(in, payload, 0o600); err != nil {
			t.Fatal(err)
		}
		var extra []string
		if name == "sha2" {
			extra = []string{"--sha256"}
		}
		seal(t, dir, in, sealed, extra...)
		if code, errOut := open(t, dir, "physio", sealed, out); code != 0 {
			t.Fatalf("%s: open exit %d\n%s", name, code, errOut)
		}
		got, _ := os.ReadFile(out)
		if !bytes.Equal(got, payload) {
			t.Fatalf("%s: payload changed in the round trip", name)
		}
	}
}

func TestSMDCLI_OpenFailuresNameTheStandardErrorCode(t *testing.T) {
	dir := t.TempDir()
	pkiFixture(t, dir)
	in, sealed := filepath.Join(dir, "p.in"), filepath.Join(dir, "p.xml")
	if err := os.WriteFile(in, []byte("MSH|^~\\&|x\r"), 0o600); err != nil {
		t.Fatal(err)
	}
	seal(t, dir, in, sealed)
	if code, errOut := open(t, dir, "gp", sealed, filepath.Join(dir, "x")); code == 0 || !strings.Contains(errOut, "badEncryption") {
		t.Fatalf("wrong recipient key: exit %d %s", code, errOut)
	}
	b, _ := os.ReadFile(sealed)
	tampered := filepath.Join(dir, "t.xml")
	// Flip one base64 character inside the EncryptedData CipherValue.
	i := bytes.LastIndex(b, []byte("</xenc:CipherValue>")) - 10
	b[i] ^= 'A' ^ 'B'
	if b[i] == '+' || b[i] == '/' {
		b[i] = 'Q'
	}
	if err := os.WriteFile(tampered, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, errOut := open(t, dir, "physio", tampered, filepath.Join(dir, "x")); code == 0 || !strings.Contains(errOut, "bad") {
		t.Fatalf("tampered ciphertext: exit %d %s", code, errOut)
	}
	// A message from an organisation the certificate does not name (SEC10).
	other := filepath.Join(dir, "o.xml")
	if code, _, errOut := run(t, nil, "smd", "seal", "--sender-cert", filepath.Join(dir, "gp/cert.pem"), "--sender-key", filepath.Join(dir, "gp/key.pem"),
		"--recipient-cert", filepath.Join(dir, "physio/cert.pem"), "--sender-org", physioURI, "--receiver-org", physioURI,
		"--category", refCat, "--in", in, "--out", other); code != 0 {
		t.Fatalf("seal: %s", errOut)
	}
	if code, errOut := open(t, dir, "physio", other, filepath.Join(dir, "x")); code == 0 || !strings.Contains(errOut, "notAuthorised") {
		t.Fatalf("SAN ≠ senderOrganisation: exit %d %s", code, errOut)
	}
}

func TestSMDCLI_EnvelopeWrapsDeliver(t *testing.T) {
	dir := t.TempDir()
	pkiFixture(t, dir)
	in, sealed, env := filepath.Join(dir, "p.in"), filepath.Join(dir, "p.xml"), filepath.Join(dir, "env.xml")
	if err := os.WriteFile(in, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	seal(t, dir, in, sealed)
	if code, _, errOut := run(t, nil, "smd", "envelope", "--to", "https://physio.test/smd", "--in", sealed, "--out", env); code != 0 {
		t.Fatalf("envelope: %s", errOut)
	}
	b, _ := os.ReadFile(env)
	for _, want := range []string{"soap-envelope", "SealedMessageDelivery/deliverRequest", "<wsa:To>https://physio.test/smd</wsa:To>", "encryptedPayload"} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("envelope lacks %q", want)
		}
	}
}
