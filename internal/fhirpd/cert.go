package fhirpd

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"strings"
)

const (
	pemBegin = "-----BEGIN CERTIFICATE-----"
	pemEnd   = "-----END CERTIFICATE-----"
)

// NormalisePEM turns the PEM string of the encryption certificate extension
// into standard PEM. Directories publish it with the line breaks removed
// (the oridashi sample) or with spaces for them, so the body is rebuilt
// from its base64; a bare base64 body without the armour is accepted too.
func NormalisePEM(s string) (string, []byte, error) {
	body := strings.TrimSpace(s)
	if strings.Count(body, pemBegin) > 1 {
		return "", nil, errors.New("more than one certificate")
	}
	body = strings.TrimPrefix(body, pemBegin)
	body = strings.TrimSpace(body)
	if i := strings.Index(body, pemEnd); i >= 0 {
		if strings.TrimSpace(body[i+len(pemEnd):]) != "" {
			return "", nil, errors.New("text after the END CERTIFICATE line")
		}
		body = body[:i]
	}
	body = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, body)
	der, err := base64.StdEncoding.DecodeString(body)
	if err != nil || len(der) == 0 {
		return "", nil, errors.New("certificate is not valid PEM/base64")
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), der, nil
}

// endpointCert normalises and checks e's encryption certificate. SMD
// delivery endpoints must have a parseable RSA one; expiry is only a
// warning because directories lag behind certificate renewals and the
// sender checks validity again before encrypting.
func (p *parser) endpointCert(at Problem, e *Endpoint) {
	if e.EncryptionCertPEM == "" {
		if e.deliversSMD() {
			p.problem(at, "SMD endpoint has no encryption certificate")
		}
		return
	}
	norm, der, err := NormalisePEM(e.EncryptionCertPEM)
	if err != nil {
		p.problem(at, "encryption certificate: %v", err)
		return
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		p.problem(at, "encryption certificate does not parse: %v", err)
		return
	}
	if _, ok := cert.PublicKey.(*rsa.PublicKey); !ok {
		p.problem(at, "encryption certificate key is %s, SMD needs RSA", cert.PublicKeyAlgorithm)
		return
	}
	now := p.lim.Now()
	switch {
	case now.After(cert.NotAfter):
		p.warn(at, "encryption certificate expired on %s", cert.NotAfter.Format("2006-01-02"))
	case now.Before(cert.NotBefore):
		p.warn(at, "encryption certificate is not valid before %s", cert.NotBefore.Format("2006-01-02"))
	}
	if cert.KeyUsage != 0 && cert.KeyUsage&x509.KeyUsageKeyEncipherment == 0 {
		// A warning: the receiver, not the directory, enforces key usage
		// (pki.Verifier.CheckEncryptionCert).
		p.warn(at, "encryption certificate lacks keyEncipherment key usage")
	}
	e.EncryptionCertPEM = norm
	e.EncryptionCert = cert
}
