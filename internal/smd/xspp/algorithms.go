package xspp

import (
	"crypto"

	"github.com/opensmd/portal/internal/smd/fault"
)

// Algorithm URIs of XML-DSig (https://www.w3.org/TR/xmldsig-core1/),
// Exclusive C14N (https://www.w3.org/TR/xml-exc-c14n/) and XML Encryption
// (https://www.w3.org/TR/xmlenc-core1/) that this package sends or accepts.
const (
	// AlgExcC14N is the only canonicalization and transform accepted
	// (ATS 5821-2010 signed container, SMD.md §1.4).
	AlgExcC14N = "http://www.w3.org/2001/10/xml-exc-c14n#"

	// AlgRSASHA1 is the signature method the ADHA reference libraries send.
	AlgRSASHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
	// AlgRSASHA256 is the RFC 6931 / XML-DSig 1.1 URI for RSA with SHA-256.
	AlgRSASHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	// AlgRSASHA256DSigNS is a non-standard spelling of RSA-SHA256 in the
	// xmldsig# namespace that some producers emit; accepted, never sent.
	AlgRSASHA256DSigNS = "http://www.w3.org/2000/09/xmldsig#rsa-sha256"

	// AlgSHA1 is the SHA-1 digest method.
	AlgSHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"
	// AlgSHA256 is the SHA-256 digest method.
	AlgSHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"

	// AlgAES128CBC and the following are block encryption algorithms.
	AlgAES128CBC = "http://www.w3.org/2001/04/xmlenc#aes128-cbc"
	// AlgAES192CBC is AES-192 in CBC mode (accepted on receipt).
	AlgAES192CBC = "http://www.w3.org/2001/04/xmlenc#aes192-cbc"
	// AlgAES256CBC is AES-256 in CBC mode, the algorithm SMD sends.
	AlgAES256CBC = "http://www.w3.org/2001/04/xmlenc#aes256-cbc"
	// AlgAES128GCM is AES-128-GCM (XML Encryption 1.1).
	AlgAES128GCM = "http://www.w3.org/2009/xmlenc11#aes128-gcm"
	// AlgAES192GCM is AES-192-GCM (XML Encryption 1.1).
	AlgAES192GCM = "http://www.w3.org/2009/xmlenc11#aes192-gcm"
	// AlgAES256GCM is AES-256-GCM (XML Encryption 1.1).
	AlgAES256GCM = "http://www.w3.org/2009/xmlenc11#aes256-gcm"

	// AlgRSA15 is RSAES-PKCS1-v1_5 key transport, the one SMD sends.
	AlgRSA15 = "http://www.w3.org/2001/04/xmlenc#rsa-1_5"
	// AlgRSAOAEPMGF1P is RSAES-OAEP with MGF1-SHA1 (accepted on receipt).
	AlgRSAOAEPMGF1P = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"

	// TypeElement is the EncryptedData Type for an encrypted element.
	TypeElement = "http://www.w3.org/2001/04/xmlenc#Element"
)

// sigMethod describes an accepted SignatureMethod.
type sigMethod struct{ hash crypto.Hash }

func signatureMethod(uri string) (sigMethod, error) {
	switch uri {
	case AlgRSASHA1:
		return sigMethod{crypto.SHA1}, nil
	case AlgRSASHA256, AlgRSASHA256DSigNS:
		return sigMethod{crypto.SHA256}, nil
	}
	return sigMethod{}, fault.New(fault.BadAlgorithmSignature, "signature method not supported")
}

func digestMethod(uri string) (crypto.Hash, error) {
	switch uri {
	case AlgSHA1:
		return crypto.SHA1, nil
	case AlgSHA256:
		return crypto.SHA256, nil
	}
	return 0, fault.New(fault.BadAlgorithmDigest, "digest method not supported")
}

// signURIs returns the SignatureMethod and DigestMethod URIs sent for h.
func signURIs(h crypto.Hash) (sig, dig string, ok bool) {
	switch h {
	case 0, crypto.SHA1:
		return AlgRSASHA1, AlgSHA1, true
	case crypto.SHA256:
		return AlgRSASHA256, AlgSHA256, true
	}
	return "", "", false
}

// dataAlg describes an accepted block encryption algorithm.
type dataAlg struct {
	keyLen int
	gcm    bool
}

func dataAlgorithm(uri string) (dataAlg, error) {
	switch uri {
	case AlgAES128CBC:
		return dataAlg{16, false}, nil
	case AlgAES192CBC:
		return dataAlg{24, false}, nil
	case AlgAES256CBC:
		return dataAlg{32, false}, nil
	case AlgAES128GCM:
		return dataAlg{16, true}, nil
	case AlgAES192GCM:
		return dataAlg{24, true}, nil
	case AlgAES256GCM:
		return dataAlg{32, true}, nil
	}
	return dataAlg{}, fault.New(fault.BadAlgorithmDataEncryption, "data encryption algorithm not supported")
}
