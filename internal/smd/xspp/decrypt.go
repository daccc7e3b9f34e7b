package xspp

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"

	"github.com/beevik/etree"

	"github.com/opensmd/portal/internal/smd/fault"
	"github.com/opensmd/portal/internal/smd/ns"
	"github.com/opensmd/portal/internal/smd/safexml"
)

// Fault messages of Decrypt.
const (
	msgNoKey     = "no key for this recipient"
	msgUndecrypt = "payload cannot be decrypted"
)

// errUndecryptable is the one fault every failure after the recipient's
// key was found turns into, so errors reveal nothing about padding, key
// unwrapping or plaintext (no decryption oracle).
func errUndecryptable() error { return fault.New(fault.BadEncryption, msgUndecrypt) }

func badEnc(msg string) error { return fault.New(fault.BadEncryption, msg) }

// encData is the checked, still encrypted xenc:EncryptedData.
type encData struct {
	id     string
	alg    dataAlg
	cipher string
}

// encKey is one checked xenc:EncryptedKey.
type encKey struct {
	el     *etree.Element
	ski    []byte
	cipher string
}

// Decrypt opens an XSPP encrypted container (ATS 5821-2010; SMD.md §1.5)
// and returns the sp:signedPayload it holds, parsed with safexml.Parse.
//
// It picks the first EncryptedKey whose KeyInfo/X509Data/X509SKI equals the
// SubjectKeyId of one of keys (pass several during certificate rollover).
// Key transport rsa-1_5 (unwrapped with DecryptPKCS1v15SessionKey and a
// random fallback key) and rsa-oaep-mgf1p are accepted, data encryption
// aes128/192/256-cbc and aes128/192/256-gcm.
//
// Faults: BadEncryption for container structure problems,
// BadAlgorithmDataEncryption / BadAlgorithmKeyEncryption, BadEncryption
// "no key for this recipient" when no SKI matches, then one identical
// BadEncryption ("payload cannot be decrypted", no detail) for every
// failure after the key was found, and BadSigEncOrder if the plaintext is
// well-formed XML but not one sp:signedPayload element.
func Decrypt(encryptedPayload *etree.Element, keys []KeyPair) (*etree.Element, error) {
	if !is(encryptedPayload, ns.EncryptedPayload, "encryptedPayload") {
		return nil, fault.New(fault.BadlyFormedMsg, "expected ep:encryptedPayload")
	}
	parts, ok := children(encryptedPayload, ns.EncryptedPayload, "keys", "encryptedPayloadData")
	if !ok {
		return nil, badEnc("ep:encryptedPayload must hold ep:keys then ep:encryptedPayloadData")
	}
	ed, err := parseEncryptedData(parts[1])
	if err != nil {
		return nil, err
	}
	eks, err := parseEncryptedKeys(parts[0])
	if err != nil {
		return nil, err
	}
	ek, kp, ok := matchKey(eks, keys)
	if !ok {
		return nil, badEnc(msgNoKey)
	}
	unwrap, err := keyTransport(ek.el)
	if err != nil {
		return nil, err
	}
	if err := checkDataReference(ek.el, ed.id); err != nil {
		return nil, err
	}
	key := unwrap(kp.Key, ek.cipher, ed.alg.keyLen)
	defer clear(key)
	plain, ok := openData(ed, key)
	if !ok {
		return nil, errUndecryptable()
	}
	doc, err := safexml.ParseString(plain)
	if err != nil {
		return nil, errUndecryptable()
	}
	root := doc.Root()
	if !is(root, ns.SignedPayload, "signedPayload") {
		return nil, fault.New(fault.BadSigEncOrder, "encrypted content is not an sp:signedPayload")
	}
	return root, nil
}

func parseEncryptedData(container *etree.Element) (*encData, error) {
	kids, ok := children(container, ns.XEnc, "EncryptedData")
	if !ok {
		return nil, badEnc("ep:encryptedPayloadData must hold one xenc:EncryptedData")
	}
	el := kids[0]
	if t, _ := attr(el, "Type"); t != TypeElement {
		return nil, badEnc("EncryptedData Type must be " + TypeElement)
	}
	id, _ := attr(el, "Id")
	method := namedChildren(el, ns.XEnc, "EncryptionMethod")
	if len(method) != 1 {
		return nil, badEnc("EncryptedData must have one EncryptionMethod")
	}
	uri, _ := attr(method[0], "Algorithm")
	alg, err := dataAlgorithm(uri)
	if err != nil {
		return nil, err
	}
	cv, err := cipherValue(el)
	if err != nil {
		return nil, err
	}
	return &encData{id: id, alg: alg, cipher: cv}, nil
}

// cipherValue returns the CipherData/CipherValue text (CipherReference is
// not supported).
func cipherValue(el *etree.Element) (string, error) {
	cd := namedChildren(el, ns.XEnc, "CipherData")
	if len(cd) != 1 {
		return "", badEnc("missing CipherData")
	}
	cv, ok := children(cd[0], ns.XEnc, "CipherValue")
	if !ok {
		return "", badEnc("CipherData must hold one CipherValue")
	}
	text, ok := textOf(cv[0])
	if !ok {
		return "", badEnc("bad CipherValue")
	}
	return text, nil
}

func parseEncryptedKeys(keys *etree.Element) ([]encKey, error) {
	els, ok := elementChildren(keys)
	if !ok || len(els) == 0 {
		return nil, badEnc("ep:keys must hold xenc:EncryptedKey elements")
	}
	out := make([]encKey, 0, len(els))
	for _, el := range els {
		if !is(el, ns.XEnc, "EncryptedKey") {
			return nil, badEnc("ep:keys must hold only xenc:EncryptedKey")
		}
		ski, err := keySKI(el)
		if err != nil {
			return nil, err
		}
		cv, err := cipherValue(el)
		if err != nil {
			return nil, err
		}
		out = append(out, encKey{el: el, ski: ski, cipher: cv})
	}
	return out, nil
}

// keySKI returns the EncryptedKey's KeyInfo/X509Data/X509SKI, requiring
// exactly one of each.
func keySKI(ek *etree.Element) ([]byte, error) {
	ki := namedChildren(ek, ns.DSig, "KeyInfo")
	if len(ki) != 1 {
		return nil, badEnc("EncryptedKey must have one KeyInfo")
	}
	xd := namedChildren(ki[0], ns.DSig, "X509Data")
	if len(xd) != 1 {
		return nil, badEnc("EncryptedKey KeyInfo must hold exactly one X509Data")
	}
	skis := namedChildren(xd[0], ns.DSig, "X509SKI")
	if len(skis) != 1 {
		return nil, badEnc("EncryptedKey X509Data must hold exactly one X509SKI")
	}
	text, _ := textOf(skis[0])
	ski, err := DecodeBase64(text)
	if err != nil || len(ski) == 0 {
		return nil, badEnc("bad X509SKI")
	}
	return ski, nil
}

func matchKey(eks []encKey, keys []KeyPair) (encKey, KeyPair, bool) {
	for _, ek := range eks {
		for _, kp := range keys {
			if kp.Cert != nil && kp.Key != nil && len(kp.Cert.SubjectKeyId) > 0 &&
				bytes.Equal(ek.ski, kp.Cert.SubjectKeyId) {
				return ek, kp, true
			}
		}
	}
	return encKey{}, KeyPair{}, false
}

// checkDataReference requires that a ReferenceList, if present, names the
// EncryptedData.
func checkDataReference(ek *etree.Element, dataID string) error {
	rl := namedChildren(ek, ns.XEnc, "ReferenceList")
	if len(rl) == 0 {
		return nil
	}
	for _, r := range namedChildren(rl[0], ns.XEnc, "DataReference") {
		if uri, _ := attr(r, "URI"); dataID != "" && uri == "#"+dataID {
			return nil
		}
	}
	return badEnc("EncryptedKey does not reference the EncryptedData")
}

// unwrapFunc returns the session key of keyLen bytes. It never fails: on
// any error it returns random bytes, so the failure surfaces later as the
// one generic fault.
type unwrapFunc func(priv *rsa.PrivateKey, cipherValue string, keyLen int) []byte

// keyTransport checks the EncryptedKey's EncryptionMethod.
func keyTransport(ek *etree.Element) (unwrapFunc, error) {
	m := namedChildren(ek, ns.XEnc, "EncryptionMethod")
	if len(m) != 1 {
		return nil, badEnc("EncryptedKey must have one EncryptionMethod")
	}
	switch uri, _ := attr(m[0], "Algorithm"); uri {
	case AlgRSA15:
		return unwrapPKCS1v15, nil
	case AlgRSAOAEPMGF1P:
		return oaepParams(m[0])
	}
	return nil, fault.New(fault.BadAlgorithmKeyEncryption, "key transport algorithm not supported")
}

func randomKey(n int) []byte {
	k := make([]byte, n)
	_, _ = rand.Read(k) // crypto/rand.Read never fails (Go ≥ 1.24)
	return k
}

func unwrapPKCS1v15(priv *rsa.PrivateKey, cv string, keyLen int) []byte {
	key := randomKey(keyLen)
	ct, err := DecodeBase64(cv)
	if err != nil {
		return key
	}
	// The random key stays in place unless the padding is valid and the
	// message is exactly keyLen bytes, in constant time (no Bleichenbacher
	// oracle). rsa-1_5 is what XSPP peers send (SMD.md §1.5).
	_ = rsa.DecryptPKCS1v15SessionKey(nil, priv, ct, key) //nolint:staticcheck // SA1019: rsa-1_5 is mandated by XSPP interop.
	return key
}

// oaepParams reads the optional ds:DigestMethod (default SHA-1) and
// xenc:OAEPparams of rsa-oaep-mgf1p; MGF1 always uses SHA-1.
func oaepParams(method *etree.Element) (unwrapFunc, error) {
	h := crypto.SHA1
	if dm := namedChildren(method, ns.DSig, "DigestMethod"); len(dm) > 0 {
		uri, _ := attr(dm[0], "Algorithm")
		var err error
		if h, err = digestMethod(uri); err != nil || len(dm) > 1 {
			return nil, fault.New(fault.BadAlgorithmKeyEncryption, "OAEP digest not supported")
		}
	}
	var label []byte
	if p := namedChildren(method, ns.XEnc, "OAEPparams"); len(p) > 0 {
		text, _ := textOf(p[0])
		var err error
		if label, err = DecodeBase64(text); err != nil || len(p) > 1 {
			return nil, badEnc("bad OAEPparams")
		}
	}
	return func(priv *rsa.PrivateKey, cv string, keyLen int) []byte {
		ct, err := DecodeBase64(cv)
		if err != nil {
			return randomKey(keyLen)
		}
		key, err := priv.Decrypt(nil, ct, &rsa.OAEPOptions{Hash: h, MGFHash: crypto.SHA1, Label: label})
		if err != nil || len(key) != keyLen {
			return randomKey(keyLen)
		}
		return key
	}, nil
}

// openData decrypts the EncryptedData. ok is false on any failure;
// callers must not distinguish failures.
func openData(ed *encData, key []byte) (string, bool) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return "", false
	}
	if !ed.alg.gcm {
		return openCBC(block, ed.cipher)
	}
	data, err := DecodeBase64(ed.cipher)
	if err != nil {
		return "", false
	}
	aead, err := cipher.NewGCM(block)
	if err != nil || len(data) < aead.NonceSize()+aead.Overhead() {
		return "", false
	}
	n := aead.NonceSize()
	plain, err := aead.Open(data[n:n], data[:n], data[n:], nil)
	return string(plain), err == nil
}
