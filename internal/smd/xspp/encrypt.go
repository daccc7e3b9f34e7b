package xspp

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io"

	"github.com/beevik/etree"

	"github.com/opensmd/portal/internal/smd/fault"
	"github.com/opensmd/portal/internal/smd/ns"
	"github.com/opensmd/portal/internal/smd/safexml"
)

// KeyPair is a recipient's payload-encryption certificate and private key.
type KeyPair struct {
	Cert *x509.Certificate
	Key  *rsa.PrivateKey
}

// EncryptOptions tunes Encrypt.
type EncryptOptions struct {
	// Rand supplies the EncryptedData id, the session key, the IV and the
	// RSA padding; nil means crypto/rand. (Since Go 1.26 crypto/rsa ignores
	// it for the padding unless GODEBUG=cryptocustomrand=1; tests use
	// testing/cryptotest.SetGlobalRandom.)
	Rand io.Reader
	// DataAlgorithm is the block encryption URI; "" means AlgAES256CBC,
	// the only one SMD senders should use (SMD.md §1.5).
	DataAlgorithm string
}

// Encrypt seals an sp:signedPayload element in the XSPP encrypted container
// (ATS 5821-2010; SMD.md §1.5):
//
//	ep:encryptedPayload
//	  ep:keys/xenc:EncryptedKey (one per recipient: rsa-1_5, X509SKI, DataReference)
//	  ep:encryptedPayloadData/xenc:EncryptedData @Id @Type=xenc#Element
//
// The plaintext is the exc-c14n serialization of signedPayload (so it is
// self-contained and the signatures stay valid). A fresh session key and IV
// are drawn per call; CipherValue is base64(IV || ciphertext) with
// PKCS#7-style padding for CBC, base64(nonce || ciphertext || tag) for GCM.
// A recipient certificate without a SubjectKeyId gives
// fault.CertificateSkiMissing.
func Encrypt(signedPayload *etree.Element, recipients []*x509.Certificate, opts EncryptOptions) (*etree.Element, error) {
	if !is(signedPayload, ns.SignedPayload, "signedPayload") {
		return nil, errors.New("encrypt: expected an sp:signedPayload element")
	}
	algURI := opts.DataAlgorithm
	if algURI == "" {
		algURI = AlgAES256CBC
	}
	alg, err := dataAlgorithm(algURI)
	if err != nil {
		return nil, fmt.Errorf("encrypt: %w", err)
	}
	pubs, err := recipientKeys(recipients)
	if err != nil {
		return nil, err
	}
	rnd := randOr(opts.Rand)
	id, err := newID(rnd)
	if err != nil {
		return nil, fmt.Errorf("encrypt: generate id: %w", err)
	}
	key := make([]byte, alg.keyLen)
	defer clear(key)
	if _, err := io.ReadFull(rnd, key); err != nil {
		return nil, fmt.Errorf("encrypt: session key: %w", err)
	}
	sealed, err := seal(signedPayload, key, alg, rnd)
	if err != nil {
		return nil, err
	}
	root := etree.NewElement("ep:encryptedPayload")
	root.CreateAttr("xmlns:ep", ns.EncryptedPayload)
	keys := root.CreateElement("ep:keys")
	for i, pub := range pubs {
		ek, err := encryptedKey(pub, recipients[i].SubjectKeyId, key, id, rnd)
		if err != nil {
			return nil, err
		}
		keys.AddChild(ek)
	}
	ed := root.CreateElement("ep:encryptedPayloadData").CreateElement("xenc:EncryptedData")
	ed.CreateAttr("xmlns:xenc", ns.XEnc)
	ed.CreateAttr("Id", id)
	ed.CreateAttr("Type", TypeElement)
	ed.CreateElement("xenc:EncryptionMethod").CreateAttr("Algorithm", algURI)
	ed.CreateElement("xenc:CipherData").CreateElement("xenc:CipherValue").SetText(sealed)
	return root, nil
}

func recipientKeys(recipients []*x509.Certificate) ([]*rsa.PublicKey, error) {
	if len(recipients) == 0 {
		return nil, errors.New("encrypt: no recipients")
	}
	pubs := make([]*rsa.PublicKey, len(recipients))
	for i, c := range recipients {
		if c == nil {
			return nil, fmt.Errorf("encrypt: recipient %d: nil certificate", i)
		}
		if len(c.SubjectKeyId) == 0 {
			return nil, fault.New(fault.CertificateSkiMissing, "recipient certificate has no subject key identifier")
		}
		pub, ok := c.PublicKey.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("encrypt: recipient %d: key is not RSA", i)
		}
		pubs[i] = pub
	}
	return pubs, nil
}

// seal serializes el and returns base64 of IV || ciphertext [|| tag].
func seal(el *etree.Element, key []byte, alg dataAlg, rnd io.Reader) (string, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return "", fmt.Errorf("encrypt: %w", err)
	}
	if !alg.gcm {
		cv, err := sealCBC(el, block, rnd)
		if err != nil {
			return "", fmt.Errorf("encrypt: %w", err)
		}
		return cv, nil
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return "", fmt.Errorf("encrypt: %w", err)
	}
	n := aead.NonceSize()
	buf := make([]byte, n, n+safexml.SizeHint(el, 0)+aead.Overhead())
	if buf, err = safexml.AppendCanonical(buf, el); err != nil {
		return "", fmt.Errorf("encrypt: serialize: %w", err)
	}
	if _, err := io.ReadFull(rnd, buf[:n]); err != nil {
		return "", fmt.Errorf("encrypt: nonce: %w", err)
	}
	nonce := append([]byte(nil), buf[:n]...)
	return EncodeBase64(aead.Seal(buf[:n], nonce, buf[n:], nil)), nil
}

// encryptedKey wraps key for one recipient (rsa-1_5, X509SKI).
func encryptedKey(pub *rsa.PublicKey, ski, key []byte, dataID string, rnd io.Reader) (*etree.Element, error) {
	// PKCS#1 v1.5 key transport is what ATS 5821-2010 peers implement
	// (SMD.md §1.5); receivers unwrap with DecryptPKCS1v15SessionKey.
	wrapped, err := rsa.EncryptPKCS1v15(rnd, pub, key) //nolint:staticcheck // SA1019: rsa-1_5 is mandated by XSPP interop.
	if err != nil {
		return nil, fmt.Errorf("encrypt: wrap key: %w", err)
	}
	ek := etree.NewElement("xenc:EncryptedKey")
	ek.CreateAttr("xmlns:xenc", ns.XEnc)
	ek.CreateElement("xenc:EncryptionMethod").CreateAttr("Algorithm", AlgRSA15)
	ki := ek.CreateElement("ds:KeyInfo")
	ki.CreateAttr("xmlns:ds", ns.DSig)
	ki.CreateElement("ds:X509Data").CreateElement("ds:X509SKI").SetText(EncodeBase64(ski))
	ek.CreateElement("xenc:CipherData").CreateElement("xenc:CipherValue").SetText(EncodeBase64(wrapped))
	ek.CreateElement("xenc:ReferenceList").CreateElement("xenc:DataReference").CreateAttr("URI", "#"+dataID)
	return ek, nil
}
