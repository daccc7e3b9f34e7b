package pki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opensmd/portal/internal/smd/fault"
)

const (
	orgA = "http://ns.electronichealth.net.au/id/hi/hpio/1.0/8003620000000001"
	orgB = "http://ns.electronichealth.net.au/id/hi/hpio/1.0/8003620000000002"
)

// now is the fixed clock of these tests.
var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func fixedOpts() Options { return Options{Now: func() time.Time { return now }} }

// testPKI issues every certificate once per test binary (RSA-2048 key
// generation costs ~100 ms each).
type testPKI struct {
	ca, other, inter        *CA
	sign, all, enc, tls     issued
	interLeaf, expired, old issued
}

type issued struct {
	cert *x509.Certificate
	key  *rsa.PrivateKey
}

var (
	pkiOnce sync.Once
	pkiFix  *testPKI
	pkiErr  error
)

func fixture(t *testing.T) *testPKI {
	t.Helper()
	pkiOnce.Do(func() { pkiFix, pkiErr = buildPKI() })
	if pkiErr != nil {
		t.Fatal(pkiErr)
	}
	return pkiFix
}

func buildPKI() (*testPKI, error) {
	p := &testPKI{}
	var err error
	if p.ca, err = NewCA("SMD Root", fixedOpts()); err != nil {
		return nil, err
	}
	if p.other, err = NewCA("TEST Other Root", fixedOpts()); err != nil {
		return nil, err
	}
	if p.inter, err = intermediate(p.ca); err != nil {
		return nil, err
	}
	issue := func(ca *CA, r Request) (issued, error) {
		c, k, err := ca.Issue(r, fixedOpts())
		return issued{c, k}, err
	}
	steps := []struct {
		dst *issued
		ca  *CA
		req Request
	}{
		{&p.sign, p.ca, Request{OrgURI: orgA, Name: "Clinic A signing", Usage: UsageSign}},
		{&p.all, p.ca, Request{OrgURI: orgA, Name: "Clinic A", Usage: UsageAll, DNSNames: []string{"smd.clinic-a.test"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}},
		{&p.enc, p.ca, Request{OrgURI: orgA, Name: "Clinic A encryption", Usage: UsageEncrypt}},
		{&p.tls, p.ca, Request{OrgURI: orgA, Name: "Clinic A TLS", Usage: UsageTLS, DNSNames: []string{"smd.clinic-a.test"}}},
		{&p.interLeaf, p.inter, Request{OrgURI: orgA, Name: "Clinic A via intermediate", Usage: UsageSign}},
		{&p.expired, p.ca, Request{OrgURI: orgA, Name: "Clinic A 2024", Usage: UsageAll, NotBefore: now.AddDate(-2, 0, 0), NotAfter: now.AddDate(0, -1, 0)}},
		{&p.old, p.ca, Request{OrgURI: orgA, Name: "Clinic A from last week", Usage: UsageSign, NotBefore: now.AddDate(0, 0, -7), NotAfter: now.AddDate(1, 0, 0)}},
	}
	for _, s := range steps {
		if *s.dst, err = issue(s.ca, s.req); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// intermediate makes a sub-CA of root (pki itself only makes roots).
func intermediate(root *CA) (*CA, error) {
	key, err := rsa.GenerateKey(rand.Reader, KeyBits)
	if err != nil {
		return nil, err
	}
	ski, _ := keyID(&key.PublicKey)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(99), Subject: pkix.Name{CommonName: "TEST Intermediate", Organization: []string{"TEST"}},
		NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.AddDate(5, 0, 0),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true, SubjectKeyId: ski,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, root.Cert, &key.PublicKey, root.Key)
	if err != nil {
		return nil, err
	}
	c, err := x509.ParseCertificate(der)
	return &CA{Cert: c, Key: key}, err
}

func pool(certs ...*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p
}

func wantCode(t *testing.T, err error, code fault.Code) {
	t.Helper()
	if code == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	got, ok := fault.CodeOf(err)
	if !ok || got != code {
		t.Fatalf("error %v: code %q, want %q", err, got, code)
	}
}

func TestNewCA(t *testing.T) {
	p := fixture(t)
	c := p.ca.Cert
	if !c.IsCA || !c.BasicConstraintsValid || c.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Fatalf("not a CA: %+v", c)
	}
	if len(c.SubjectKeyId) == 0 || c.PublicKey.(*rsa.PublicKey).N.BitLen() != KeyBits {
		t.Fatal("CA key or SKI wrong")
	}
	if !strings.Contains(c.Subject.CommonName, "TEST") || !strings.Contains(c.Subject.Organization[0], "TEST") {
		t.Fatalf("CA subject not marked TEST: %s", c.Subject)
	}
	if err := c.CheckSignatureFrom(c); err != nil {
		t.Fatalf("not self-signed: %v", err)
	}
	if _, err := NewCA("", fixedOpts()); err == nil {
		t.Fatal("empty name accepted")
	}
}

func TestIssueShape(t *testing.T) {
	p := fixture(t)
	serverClient := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	tests := []struct {
		name string
		got  issued
		ku   x509.KeyUsage
		eku  []x509.ExtKeyUsage
	}{
		{"Sign", p.sign, x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment, nil},
		{"Encrypt", p.enc, x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment, nil},
		{"TLS", p.tls, x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, serverClient},
		{"All", p.all, x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment | x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment, serverClient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.got.cert
			if c.KeyUsage != tt.ku || !slices.Equal(c.ExtKeyUsage, tt.eku) {
				t.Errorf("usage %b %v, want %b %v", c.KeyUsage, c.ExtKeyUsage, tt.ku, tt.eku)
			}
			if c.IsCA {
				t.Error("leaf is a CA")
			}
			if got := OrgURIs(c); !slices.Equal(got, []string{orgA}) {
				t.Errorf("SAN URIs %v", got)
			}
			want, _ := keyID(&tt.got.key.PublicKey)
			if !bytes.Equal(c.SubjectKeyId, want) || !bytes.Equal(c.AuthorityKeyId, p.ca.Cert.SubjectKeyId) {
				t.Error("SKI/AKI wrong")
			}
			if !strings.Contains(c.Subject.CommonName, "TEST") || !strings.Contains(c.Subject.Organization[0], "TEST") {
				t.Errorf("subject not marked TEST: %s", c.Subject)
			}
			if !c.PublicKey.(*rsa.PublicKey).Equal(&tt.got.key.PublicKey) || tt.got.key.N.BitLen() != KeyBits {
				t.Error("key mismatch or not RSA-2048")
			}
			if _, err := c.Verify(x509.VerifyOptions{Roots: pool(p.ca.Cert), CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
				t.Errorf("does not chain: %v", err)
			}
		})
	}
	if p.tls.cert.VerifyHostname("smd.clinic-a.test") != nil || p.all.cert.VerifyHostname("127.0.0.1") != nil {
		t.Error("DNS/IP SAN missing")
	}
}

func TestIssueRejects(t *testing.T) {
	p := fixture(t)
	for name, req := range map[string]Request{
		"NoName":      {OrgURI: orgA, Usage: UsageSign},
		"RelativeURI": {OrgURI: "8003620000000001", Name: "x", Usage: UsageSign},
		"NoUsage":     {OrgURI: orgA, Name: "x"},
		"BadUsage":    {OrgURI: orgA, Name: "x", Usage: 99},
	} {
		t.Run(name, func(t *testing.T) {
			if _, _, err := p.ca.Issue(req, fixedOpts()); err == nil {
				t.Fatal("issued")
			}
		})
	}
	if _, _, err := (&CA{}).Issue(Request{OrgURI: orgA, Name: "x", Usage: UsageSign}, fixedOpts()); err == nil {
		t.Fatal("incomplete CA issued")
	}
}

// TestSerialFromRand: Options.Rand drives serial numbers.
func TestSerialFromRand(t *testing.T) {
	a, err := serialNumber(mrand.NewChaCha8([32]byte{1}))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := serialNumber(mrand.NewChaCha8([32]byte{1}))
	c, _ := serialNumber(mrand.NewChaCha8([32]byte{2}))
	if a.Cmp(b) != 0 || a.Cmp(c) == 0 || a.Sign() <= 0 || len(a.Bytes()) != 16 {
		t.Fatalf("serials %v %v %v", a, b, c)
	}
}

func TestCheckSigner(t *testing.T) {
	p := fixture(t)
	roots := pool(p.ca.Cert)
	revokedSerial := p.sign.cert.SerialNumber
	tests := []struct {
		name     string
		v        Verifier
		cert     *x509.Certificate
		org      string
		creation time.Time
		want     fault.Code
	}{
		{"SignCert", Verifier{Roots: roots}, p.sign.cert, orgA, now, ""},
		{"AllUsageCert", Verifier{Roots: roots}, p.all.cert, orgA, now, ""},
		{"ZeroCreationTime", Verifier{Roots: roots}, p.sign.cert, orgA, time.Time{}, ""},
		{"ViaIntermediate", Verifier{Roots: roots, Intermediates: pool(p.inter.Cert)}, p.interLeaf.cert, orgA, now, ""},
		{"IntermediateMissing", Verifier{Roots: roots}, p.interLeaf.cert, orgA, now, fault.BadCertificateTransmitted},
		{"UntrustedCA", Verifier{Roots: pool(p.other.Cert)}, p.sign.cert, orgA, now, fault.BadCertificateTransmitted},
		{"NoRoots", Verifier{}, p.sign.cert, orgA, now, fault.BadCertificateTransmitted},
		{"NilCert", Verifier{Roots: roots}, nil, orgA, now, fault.BadCertificateTransmitted},
		{"ExpiredNow", Verifier{Roots: roots}, p.expired.cert, orgA, now.AddDate(0, -2, 0), fault.BadCertificateTransmitted},
		{"NotYetValidAtCreation", Verifier{Roots: roots}, p.old.cert, orgA, now.AddDate(0, 0, -8), fault.BadCertificateTransmitted},
		{"ValidAtCreationExpiredNow", Verifier{Roots: roots, Now: func() time.Time { return now.AddDate(2, 0, 0) }}, p.old.cert, orgA, now, fault.BadCertificateTransmitted},
		{"EncryptionOnly", Verifier{Roots: roots}, p.enc.cert, orgA, now, fault.CertificateKeyUsage},
		{"TLSCertSigns", Verifier{Roots: roots}, p.tls.cert, orgA, now, ""},
		{"Revoked", Verifier{Roots: roots, Revoked: func(c *x509.Certificate) bool { return c.SerialNumber.Cmp(revokedSerial) == 0 }}, p.sign.cert, orgA, now, fault.BadCertificateTransmitted},
		{"IntermediateRevoked", Verifier{Roots: roots, Intermediates: pool(p.inter.Cert), Revoked: func(c *x509.Certificate) bool { return c.IsCA }}, p.interLeaf.cert, orgA, now, fault.BadCertificateTransmitted},
		{"OtherRevoked", Verifier{Roots: roots, Revoked: func(c *x509.Certificate) bool { return c.SerialNumber.Cmp(revokedSerial) == 0 }}, p.all.cert, orgA, now, ""},
		{"SANIsNotSender", Verifier{Roots: roots}, p.sign.cert, orgB, now, fault.NotAuthorised},
		{"SANPrefixOnly", Verifier{Roots: roots}, p.sign.cert, orgA[:len(orgA)-1], now, fault.NotAuthorised},
		{"EmptySender", Verifier{Roots: roots}, p.sign.cert, "", now, fault.NotAuthorised},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.v.Now == nil {
				tt.v.Now = func() time.Time { return now }
			}
			wantCode(t, tt.v.CheckSigner(tt.cert, tt.org, tt.creation), tt.want)
		})
	}
}

func TestCheckEncryptionCert(t *testing.T) {
	p := fixture(t)
	noSKI := *p.enc.cert
	noSKI.SubjectKeyId = nil
	v := &Verifier{Now: func() time.Time { return now }}
	tests := []struct {
		name string
		v    *Verifier
		cert *x509.Certificate
		want fault.Code
	}{
		{"Encrypt", v, p.enc.cert, ""},
		{"All", v, p.all.cert, ""},
		{"NilVerifierUsesClock", nil, p.enc.cert, ""},
		{"SignOnly", v, p.sign.cert, fault.CertificateKeyUsage},
		{"NoSKI", v, &noSKI, fault.CertificateSkiMissing},
		{"Expired", v, p.expired.cert, fault.BadCertificateTransmitted},
		{"NotRSA", v, ecdsaCert(t), fault.BadCertificateTransmitted},
		{"Nil", v, nil, fault.BadCertificateTransmitted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, tt.v.CheckEncryptionCert(tt.cert), tt.want)
		})
	}
}

func ecdsaCert(t *testing.T) *x509.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "TEST ecdsa"},
		KeyUsage: x509.KeyUsageKeyEncipherment, SubjectKeyId: []byte{1}, NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.AddDate(1, 0, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestOrgURIs(t *testing.T) {
	if OrgURIs(nil) != nil {
		t.Fatal("nil cert")
	}
	if got := OrgURIs(&x509.Certificate{}); len(got) != 0 {
		t.Fatalf("no SAN: %v", got)
	}
}

func TestPEM(t *testing.T) {
	p := fixture(t)
	bundle := append(EncodeCertPEM(p.sign.cert), pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: []byte{1}})...)
	bundle = append(bundle, EncodeCertPEM(p.ca.Cert)...)
	certs, err := ParseCertsPEM(bundle)
	if err != nil || len(certs) != 2 || !certs[0].Equal(p.sign.cert) || !certs[1].Equal(p.ca.Cert) {
		t.Fatalf("bundle: %v %d", err, len(certs))
	}
	pkcs8, err := EncodeKeyPEM(p.sign.key)
	if err != nil || !bytes.HasPrefix(pkcs8, []byte("-----BEGIN PRIVATE KEY-----")) {
		t.Fatalf("PKCS#8: %v", err)
	}
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(p.sign.key)})
	for name, b := range map[string][]byte{"PKCS8": pkcs8, "PKCS1": pkcs1, "AfterCert": append(EncodeCertPEM(p.sign.cert), pkcs8...)} {
		k, err := ParseKeyPEM(b)
		if err != nil || !k.Equal(p.sign.key) {
			t.Fatalf("%s: %v", name, err)
		}
	}
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	bad := map[string][]byte{
		"Empty":      nil,
		"Garbage":    []byte("not pem"),
		"ECKey":      pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER}),
		"BadPKCS1":   pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: []byte{1, 2}}),
		"OnlyACert":  EncodeCertPEM(p.ca.Cert),
		"BadCertDER": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2}}),
	}
	for name, b := range bad {
		if _, err := ParseKeyPEM(b); err == nil && name != "BadCertDER" {
			t.Errorf("ParseKeyPEM(%s) accepted", name)
		}
	}
	for _, name := range []string{"Empty", "Garbage", "ECKey", "BadCertDER"} {
		if _, err := ParseCertsPEM(bad[name]); err == nil {
			t.Errorf("ParseCertsPEM(%s) accepted", name)
		}
	}
}

func TestWriteAndLoadFiles(t *testing.T) {
	p := fixture(t)
	dir := t.TempDir()
	certPath, keyPath := filepath.Join(dir, "org.pem"), filepath.Join(dir, "org.key.pem")
	// A pre-existing, too-open key file must end up 0600.
	if err := os.WriteFile(keyPath, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFiles(certPath, keyPath, p.all.cert, p.all.key); err != nil {
		t.Fatal(err)
	}
	for path, mode := range map[string]os.FileMode{certPath: 0o644, keyPath: 0o600} {
		st, err := os.Stat(path)
		if err != nil || st.Mode().Perm() != mode {
			t.Fatalf("%s: %v mode %v, want %v", path, err, st.Mode().Perm(), mode)
		}
	}
	certs, err := LoadCertFile(certPath)
	if err != nil || !certs[0].Equal(p.all.cert) {
		t.Fatalf("LoadCertFile: %v", err)
	}
	key, err := LoadKeyFile(keyPath)
	if err != nil || !key.Equal(p.all.key) {
		t.Fatalf("LoadKeyFile: %v", err)
	}
	caOnly := filepath.Join(dir, "ca.pem")
	if err := WriteFiles(caOnly, filepath.Join(dir, "never.pem"), p.ca.Cert, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "never.pem")); !os.IsNotExist(err) {
		t.Fatal("key file written without a key")
	}
	if _, err := LoadCertFile(filepath.Join(dir, "missing.pem")); err == nil {
		t.Fatal("missing file loaded")
	}
	if _, err := LoadKeyFile(certPath); err == nil {
		t.Fatal("certificate loaded as key")
	}
}
