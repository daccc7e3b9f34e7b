package pki

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/url"
	"strings"
	"time"
)

// KeyBits is the RSA modulus size of every key this package generates.
const KeyBits = 2048

// Default validity periods when Options.Validity is zero.
const (
	DefaultCAValidity   = 10 * 365 * 24 * time.Hour
	DefaultLeafValidity = 2 * 365 * 24 * time.Hour
)

// Options carries the injected randomness and clock.
type Options struct {
	// Rand drives serial numbers (and key generation only under
	// GODEBUG=cryptocustomrand=1); nil means crypto/rand.
	Rand io.Reader
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Validity is the lifetime from Now; zero means the defaults above.
	Validity time.Duration
}

func (o Options) rand() io.Reader {
	if o.Rand == nil {
		return rand.Reader
	}
	return o.Rand
}

func (o Options) now() time.Time {
	if o.Now == nil {
		return time.Now()
	}
	return o.Now()
}

// CA is a test certificate authority.
type CA struct {
	Cert *x509.Certificate
	Key  *rsa.PrivateKey
}

// Usage selects the key usages of an issued certificate.
type Usage int

// Usages. NASH organisation certificates may be one key pair for
// everything or separate signing and encryption pairs (SMD.md §1.13).
const (
	// UsageSign: digitalSignature and contentCommitment (payload signing).
	UsageSign Usage = iota + 1
	// UsageEncrypt: keyEncipherment and dataEncipherment (payload keys).
	UsageEncrypt
	// UsageTLS: digitalSignature and keyEncipherment, TLS client and server.
	UsageTLS
	// UsageAll: one key pair for signing, encryption and TLS client+server.
	UsageAll
)

func (u Usage) bits() (x509.KeyUsage, []x509.ExtKeyUsage, error) {
	tls := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	switch u {
	case UsageSign:
		return x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment, nil, nil
	case UsageEncrypt:
		return x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment, nil, nil
	case UsageTLS:
		return x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, tls, nil
	case UsageAll:
		return x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment |
			x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment, tls, nil
	}
	return 0, nil, fmt.Errorf("unknown usage %d", u)
}

// Request describes a certificate to issue.
type Request struct {
	// OrgURI is the organisation's HPI-O URI (or SMD target URI), put in
	// the subjectAltName; receivers match it against senderOrganisation.
	OrgURI string
	// Name is the organisation or endpoint name (subject CN and O).
	Name  string
	Usage Usage
	// DNSNames and IPAddresses are extra subjectAltNames for TLS.
	DNSNames    []string
	IPAddresses []net.IP
	// NotBefore and NotAfter override Options.Now/Validity when non-zero.
	NotBefore, NotAfter time.Time
}

// testName marks a name as TEST unless it already says so.
func testName(s string) string {
	if strings.Contains(strings.ToUpper(s), "TEST") {
		return s
	}
	return "TEST " + s
}

// NewCA creates a self-signed test root CA.
func NewCA(commonName string, opts Options) (*CA, error) {
	if commonName == "" {
		return nil, errors.New("new ca: empty common name")
	}
	key, err := rsa.GenerateKey(opts.rand(), KeyBits)
	if err != nil {
		return nil, fmt.Errorf("new ca: generate key: %w", err)
	}
	serial, err := serialNumber(opts.rand())
	if err != nil {
		return nil, fmt.Errorf("new ca: %w", err)
	}
	ski, err := keyID(&key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("new ca: %w", err)
	}
	now := opts.now()
	validity := opts.Validity
	if validity == 0 {
		validity = DefaultCAValidity
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               subject(commonName),
		NotBefore:             now.Add(-5 * time.Minute),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		SubjectKeyId:          ski,
	}
	der, err := x509.CreateCertificate(opts.rand(), tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("new ca: create certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("new ca: parse certificate: %w", err)
	}
	return &CA{Cert: cert, Key: key}, nil
}

func subject(name string) pkix.Name {
	return pkix.Name{
		Country:      []string{"AU"},
		Organization: []string{testName("opensmd " + name)},
		CommonName:   testName(name),
	}
}

// Issue creates a key pair and a certificate for req signed by ca.
func (ca *CA) Issue(req Request, opts Options) (*x509.Certificate, *rsa.PrivateKey, error) {
	tmpl, err := ca.template(req, opts)
	if err != nil {
		return nil, nil, fmt.Errorf("issue: %w", err)
	}
	key, err := rsa.GenerateKey(opts.rand(), KeyBits)
	if err != nil {
		return nil, nil, fmt.Errorf("issue: generate key: %w", err)
	}
	if tmpl.SubjectKeyId, err = keyID(&key.PublicKey); err != nil {
		return nil, nil, fmt.Errorf("issue: %w", err)
	}
	der, err := x509.CreateCertificate(opts.rand(), tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("issue: create certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("issue: parse certificate: %w", err)
	}
	return cert, key, nil
}

func (ca *CA) template(req Request, opts Options) (*x509.Certificate, error) {
	if ca == nil || ca.Cert == nil || ca.Key == nil {
		return nil, errors.New("incomplete CA")
	}
	if req.Name == "" {
		return nil, errors.New("empty name")
	}
	u, err := url.Parse(req.OrgURI)
	if err != nil || !u.IsAbs() {
		return nil, fmt.Errorf("organisation URI %q is not an absolute URI", req.OrgURI)
	}
	ku, eku, err := req.Usage.bits()
	if err != nil {
		return nil, err
	}
	serial, err := serialNumber(opts.rand())
	if err != nil {
		return nil, err
	}
	notBefore, notAfter := req.NotBefore, req.NotAfter
	if notBefore.IsZero() {
		notBefore = opts.now().Add(-5 * time.Minute)
	}
	if notAfter.IsZero() {
		v := opts.Validity
		if v == 0 {
			v = DefaultLeafValidity
		}
		notAfter = notBefore.Add(v)
	}
	return &x509.Certificate{
		SerialNumber:          serial,
		Subject:               subject(req.Name),
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              ku,
		ExtKeyUsage:           eku,
		BasicConstraintsValid: true,
		URIs:                  []*url.URL{u},
		DNSNames:              req.DNSNames,
		IPAddresses:           req.IPAddresses,
	}, nil
}

// serialNumber returns a random positive 127-bit serial number.
func serialNumber(r io.Reader) (*big.Int, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("serial number: %w", err)
	}
	b[0] &= 0x7f
	b[0] |= 0x40 // keep it 16 bytes long
	return new(big.Int).SetBytes(b), nil
}

// keyID is the RFC 5280 §4.2.1.2 method (1) key identifier: SHA-1 of the
// subjectPublicKey BIT STRING.
func keyID(pub *rsa.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("key id: %w", err)
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil, fmt.Errorf("key id: %w", err)
	}
	sum := sha1.Sum(spki.PublicKey.Bytes)
	return sum[:], nil
}

// OrgURIs returns the URI subjectAltNames of cert (the organisation
// identifiers it speaks for).
func OrgURIs(cert *x509.Certificate) []string {
	if cert == nil {
		return nil
	}
	out := make([]string, 0, len(cert.URIs))
	for _, u := range cert.URIs {
		out = append(out, u.String())
	}
	return out
}
