package xspp

import (
	"crypto/rsa"
	"crypto/x509"
	"flag"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/opensmd/portal/internal/smd/fault"
	"github.com/opensmd/portal/internal/smd/ns"
	"github.com/opensmd/portal/internal/smd/pki"
	"github.com/opensmd/portal/internal/smd/safexml"
)

var update = flag.Bool("update", false, "regenerate golden files (and missing PKI fixtures)")

// detRand is a deterministic byte stream (ChaCha8) for byte-stable output.
func detRand(seed byte) *rand.ChaCha8 {
	var s [32]byte
	for i := range s {
		s[i] = seed
	}
	return rand.NewChaCha8(s)
}

// identity is a fixture certificate with its key.
type identity struct {
	Cert *x509.Certificate
	Key  *rsa.PrivateKey
}

func (id identity) signer() Signer             { return Signer{Key: id.Key, Cert: id.Cert} }
func (id identity) keyPair() KeyPair           { return KeyPair{Cert: id.Cert, Key: id.Key} }
func (id identity) pair() []KeyPair            { return []KeyPair{id.keyPair()} }
func (id identity) certs() []*x509.Certificate { return []*x509.Certificate{id.Cert} }

// fixtures are long-lived (2025–2125) test certificates kept in
// testdata/pki so golden files stay byte-stable.
type fixtures struct {
	CA                                 identity
	Sender, Sender2                    identity
	Recipient, Recipient2, RecipientV2 identity
}

const (
	orgSender    = ns.QualifierHPIO + "8003620000000001"
	orgRecipient = ns.QualifierHPIO + "8003620000000002"
	orgOther     = ns.QualifierHPIO + "8003620000000003"
)

var (
	fixOnce sync.Once
	fix     *fixtures
	fixErr  error
)

func loadFixtures(tb testing.TB) *fixtures {
	tb.Helper()
	fixOnce.Do(func() { fix, fixErr = readFixtures(filepath.Join("testdata", "pki")) })
	if fixErr != nil {
		tb.Fatalf("PKI fixtures: %v (run go test -run TestFixtures -update to create them)", fixErr)
	}
	return fix
}

var fixtureNames = []string{"ca", "sender", "sender2", "recipient", "recipient2", "recipient-v2"}

func readFixtures(dir string) (*fixtures, error) {
	ids := make([]identity, len(fixtureNames))
	for i, n := range fixtureNames {
		certs, err := pki.LoadCertFile(filepath.Join(dir, n+".pem"))
		if err != nil {
			return nil, err
		}
		key, err := pki.LoadKeyFile(filepath.Join(dir, n+".key.pem"))
		if err != nil {
			return nil, err
		}
		ids[i] = identity{certs[0], key}
	}
	return &fixtures{ids[0], ids[1], ids[2], ids[3], ids[4], ids[5]}, nil
}

// TestFixtures creates the PKI fixtures when run with -update and they are
// missing, and otherwise checks that they load and chain.
func TestFixtures(t *testing.T) {
	dir := filepath.Join("testdata", "pki")
	if _, err := os.Stat(filepath.Join(dir, "ca.pem")); os.IsNotExist(err) && *update {
		writeFixtures(t, dir)
	}
	f := loadFixtures(t)
	v := pki.Verifier{Roots: x509.NewCertPool()}
	v.Roots.AddCert(f.CA.Cert)
	if err := v.CheckSigner(f.Sender.Cert, orgSender, time.Now()); err != nil {
		t.Fatalf("sender fixture: %v", err)
	}
	for _, r := range []identity{f.Recipient, f.Recipient2, f.RecipientV2} {
		if err := v.CheckEncryptionCert(r.Cert); err != nil {
			t.Fatalf("recipient fixture: %v", err)
		}
	}
}

func writeFixtures(t *testing.T, dir string) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	nb := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	na := time.Date(2125, 1, 1, 0, 0, 0, 0, time.UTC)
	opts := pki.Options{Rand: detRand(1), Now: func() time.Time { return nb }, Validity: na.Sub(nb)}
	ca, err := pki.NewCA("TEST SMD Root CA", opts)
	if err != nil {
		t.Fatal(err)
	}
	reqs := []pki.Request{
		{OrgURI: orgSender, Name: "Sender Clinic", Usage: pki.UsageAll},
		{OrgURI: orgSender, Name: "Sender Clinic signing 2", Usage: pki.UsageSign},
		{OrgURI: orgRecipient, Name: "Recipient Lab encryption", Usage: pki.UsageEncrypt},
		{OrgURI: orgOther, Name: "Other Practice encryption", Usage: pki.UsageEncrypt},
		{OrgURI: orgRecipient, Name: "Recipient Lab encryption 2026", Usage: pki.UsageEncrypt},
	}
	write := func(name string, c *x509.Certificate, k *rsa.PrivateKey) {
		p := filepath.Join(dir, name)
		if err := pki.WriteFiles(p+".pem", p+".key.pem", c, k); err != nil {
			t.Fatal(err)
		}
	}
	write("ca", ca.Cert, ca.Key)
	for i, r := range reqs {
		r.NotBefore, r.NotAfter = nb, na
		c, k, err := ca.Issue(r, opts)
		if err != nil {
			t.Fatal(err)
		}
		write(fixtureNames[i+1], c, k)
	}
}

// message builds the msg:message wrapper payload of SMD.md §1.6.
func message(data string) *etree.Element {
	el := etree.NewElement("msg:message")
	el.CreateAttr("xmlns:msg", ns.Message)
	el.CreateElement("msg:data").SetText(data)
	return el
}

// mustParse parses s with safexml.Parse and returns the root element.
func mustParse(tb testing.TB, s string) *etree.Element {
	tb.Helper()
	doc, err := safexml.Parse([]byte(s))
	if err != nil {
		tb.Fatalf("parse: %v\n%s", err, s)
	}
	return doc.Root()
}

// wire serializes el canonically, as it would travel.
func wire(tb testing.TB, el *etree.Element) []byte {
	tb.Helper()
	b, err := safexml.Canonicalize(el)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// wantCode fails unless err carries code.
func wantCode(tb testing.TB, err error, code fault.Code) {
	tb.Helper()
	got, ok := fault.CodeOf(err)
	if !ok || got != code {
		tb.Fatalf("error %v: code %q, want %q", err, got, code)
	}
}

func readFile(path string) ([]byte, error) { return os.ReadFile(filepath.FromSlash(path)) }

// requireTool returns the path of an interop tool, failing (or skipping in
// -short) when it is not installed.
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
