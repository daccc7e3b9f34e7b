package pki

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
)

// EncodeCertPEM returns cert as a PEM CERTIFICATE block.
func EncodeCertPEM(cert *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
}

// EncodeKeyPEM returns key as a PKCS#8 PEM PRIVATE KEY block.
func EncodeKeyPEM(key *rsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParseCertsPEM returns every CERTIFICATE block of b, in order; other block
// types are skipped. It fails if there is none.
func ParseCertsPEM(b []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse certificate %d: %w", len(certs), err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("parse certificates: no CERTIFICATE block")
	}
	return certs, nil
}

// ParseKeyPEM returns the first RSA private key of b, PKCS#1 ("RSA PRIVATE
// KEY") or PKCS#8 ("PRIVATE KEY"). Encrypted PEM is not supported.
func ParseKeyPEM(b []byte) (*rsa.PrivateKey, error) {
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			return nil, errors.New("parse key: no private key block")
		}
		switch block.Type {
		case "RSA PRIVATE KEY":
			k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parse key: %w", err)
			}
			return k, nil
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parse key: %w", err)
			}
			rk, ok := k.(*rsa.PrivateKey)
			if !ok {
				return nil, errors.New("parse key: not an RSA key")
			}
			return rk, nil
		}
	}
}

// LoadCertFile reads the PEM certificates in path.
func LoadCertFile(path string) ([]*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load certificates: %w", err)
	}
	certs, err := ParseCertsPEM(b)
	if err != nil {
		return nil, fmt.Errorf("load certificates %s: %w", path, err)
	}
	return certs, nil
}

// LoadKeyFile reads the PEM RSA private key in path.
func LoadKeyFile(path string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load key: %w", err)
	}
	k, err := ParseKeyPEM(b)
	if err != nil {
		return nil, fmt.Errorf("load key %s: %w", path, err)
	}
	return k, nil
}

// WriteFiles writes cert (mode 0644) to certPath and, if key is not nil,
// the PKCS#8 key (mode 0600) to keyPath.
func WriteFiles(certPath, keyPath string, cert *x509.Certificate, key *rsa.PrivateKey) error {
	if err := writeFile(certPath, EncodeCertPEM(cert), 0o644); err != nil {
		return err
	}
	if key == nil {
		return nil
	}
	b, err := EncodeKeyPEM(key)
	if err != nil {
		return err
	}
	return writeFile(keyPath, b, 0o600)
}

func writeFile(path string, b []byte, mode os.FileMode) error {
	if err := os.WriteFile(path, b, mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// WriteFile keeps the mode of an existing file; enforce ours.
	if err := os.Chmod(path, mode); err != nil {
		return fmt.Errorf("chmod %s: %w", path, err)
	}
	return nil
}
