package pki

import (
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"slices"
	"time"

	"github.com/opensmd/portal/internal/smd/fault"
)

// Verifier checks certificates received in sealed messages.
type Verifier struct {
	// Roots are the trust anchors (NASH or test CAs). Required: a nil pool
	// is refused rather than falling back to the system roots.
	Roots *x509.CertPool
	// Intermediates are extra certificates for chain building (optional).
	Intermediates *x509.CertPool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Revoked, if set, reports whether a certificate of the chain (leaf or
	// intermediate) is revoked, e.g. from a CRL.
	Revoked func(*x509.Certificate) bool
}

func (v *Verifier) now() time.Time {
	if v == nil || v.Now == nil {
		return time.Now()
	}
	return v.Now()
}

// CheckSigner checks the certificate of a payload signature: it must chain
// to Roots and be valid both at the message creationTime and now (a zero
// creationTime checks now only), have digitalSignature or
// contentCommitment key usage, not be revoked, and list senderOrg among its
// URI subjectAltNames (HL7 AU PD rule SEC10). See the package doc for the
// fault codes.
func (v *Verifier) CheckSigner(cert *x509.Certificate, senderOrg string, creationTime time.Time) error {
	if cert == nil {
		return fault.New(fault.BadCertificateTransmitted, "no signing certificate")
	}
	chain, err := v.chain(cert, v.now())
	if err != nil {
		return err
	}
	if !creationTime.IsZero() {
		if _, err := v.chain(cert, creationTime); err != nil {
			return err
		}
	}
	if cert.KeyUsage&(x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment) == 0 {
		return fault.New(fault.CertificateKeyUsage, "signing certificate lacks digitalSignature key usage")
	}
	if v.Revoked != nil {
		for _, c := range chain[:len(chain)-1] { // the root is a trust anchor
			if v.Revoked(c) {
				return fault.New(fault.BadCertificateTransmitted, "certificate revoked")
			}
		}
	}
	if senderOrg == "" || !slices.Contains(OrgURIs(cert), senderOrg) {
		return fault.New(fault.NotAuthorised, "signing certificate does not belong to the sender organisation")
	}
	return nil
}

// chain verifies cert against Roots at time t and returns the first chain.
func (v *Verifier) chain(cert *x509.Certificate, t time.Time) ([]*x509.Certificate, error) {
	if v.Roots == nil {
		return nil, fault.New(fault.BadCertificateTransmitted, "no trust anchors configured")
	}
	chains, err := cert.Verify(x509.VerifyOptions{
		Roots:         v.Roots,
		Intermediates: v.Intermediates,
		CurrentTime:   t,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		var inv x509.CertificateInvalidError
		if errors.As(err, &inv) && inv.Reason == x509.Expired {
			return nil, fault.Wrap(fault.BadCertificateTransmitted, "certificate expired or not yet valid", err)
		}
		return nil, fault.Wrap(fault.BadCertificateTransmitted, "certificate not issued by a trusted CA", err)
	}
	return chains[0], nil
}

// CheckEncryptionCert checks a recipient's payload-encryption certificate
// before encrypting to it: RSA key, keyEncipherment key usage, a
// SubjectKeyIdentifier (for xenc X509SKI), and validity now.
func (v *Verifier) CheckEncryptionCert(cert *x509.Certificate) error {
	if cert == nil {
		return fault.New(fault.BadCertificateTransmitted, "no encryption certificate")
	}
	if _, ok := cert.PublicKey.(*rsa.PublicKey); !ok {
		return fault.New(fault.BadCertificateTransmitted, "encryption certificate key is not RSA")
	}
	if cert.KeyUsage&x509.KeyUsageKeyEncipherment == 0 {
		return fault.New(fault.CertificateKeyUsage, "encryption certificate lacks keyEncipherment key usage")
	}
	if len(cert.SubjectKeyId) == 0 {
		return fault.New(fault.CertificateSkiMissing, "encryption certificate has no subject key identifier")
	}
	if now := v.now(); now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		return fault.New(fault.BadCertificateTransmitted, "encryption certificate expired or not yet valid")
	}
	return nil
}
