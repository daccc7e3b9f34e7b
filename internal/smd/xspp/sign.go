package xspp

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/beevik/etree"

	"github.com/opensmd/portal/internal/smd/ns"
	"github.com/opensmd/portal/internal/smd/safexml"
)

// Signer is one signing identity for Sign.
type Signer struct {
	Key  *rsa.PrivateKey
	Cert *x509.Certificate
	// Hash selects RSA-SHA1 with SHA-1 digests (zero or crypto.SHA1; what
	// the national reference libraries send) or RSA-SHA256 with SHA-256
	// digests (crypto.SHA256).
	Hash crypto.Hash
}

// SignOptions tunes Sign.
type SignOptions struct {
	// Rand is the source for the signedPayloadData id; nil means
	// crypto/rand. (RSA PKCS#1 v1.5 signatures need no randomness.)
	Rand io.Reader
}

func randOr(r io.Reader) io.Reader {
	if r == nil {
		return rand.Reader
	}
	return r
}

func (s Signer) hash() crypto.Hash {
	if s.Hash == 0 {
		return crypto.SHA1
	}
	return s.Hash
}

func (s Signer) check() error {
	if s.Key == nil || s.Cert == nil {
		return errors.New("missing key or certificate")
	}
	pub, ok := s.Cert.PublicKey.(*rsa.PublicKey)
	if !ok || !pub.Equal(&s.Key.PublicKey) {
		return errors.New("certificate does not hold the signing key's RSA public key")
	}
	if _, _, ok := signURIs(s.Hash); !ok {
		return fmt.Errorf("unsupported hash %v", s.Hash)
	}
	return nil
}

// Sign wraps payload in the XSPP signed container (ATS 5821-2010; SMD.md
// §1.4):
//
//	sp:signedPayload
//	  sp:signatures/ds:Signature (one per signer, in order)
//	  sp:signedPayloadData @id
//	    payload (a copy; payload itself is never modified)
//
// Each ds:Signature uses exc-c14n for SignedInfo and as its single
// Reference transform, references "#"+id, and carries the signer's
// certificate in KeyInfo/X509Data/X509Certificate. Namespace declarations
// that payload inherits from its ancestors are copied onto the copy.
// Serialize the result once (Encrypt, safexml.WriteCanonical or etree) and do not
// re-indent it: whitespace is signed.
func Sign(payload *etree.Element, signers []Signer, opts SignOptions) (*etree.Element, error) {
	if payload == nil {
		return nil, errors.New("sign: nil payload")
	}
	if len(signers) == 0 {
		return nil, errors.New("sign: no signers")
	}
	for i, s := range signers {
		if err := s.check(); err != nil {
			return nil, fmt.Errorf("sign: signer %d: %w", i, err)
		}
	}
	id, err := newID(randOr(opts.Rand))
	if err != nil {
		return nil, fmt.Errorf("sign: generate id: %w", err)
	}
	root := etree.NewElement("sp:signedPayload")
	root.CreateAttr("xmlns:sp", ns.SignedPayload)
	sigs := root.CreateElement("sp:signatures")
	data := root.CreateElement("sp:signedPayloadData")
	data.CreateAttr("id", id)
	data.AddChild(detach(payload))

	digests, err := digestsFor(data, signers)
	if err != nil {
		return nil, fmt.Errorf("sign: canonicalize payload: %w", err)
	}
	for i, s := range signers {
		if err := appendSignature(sigs, s, id, digests[s.hash()]); err != nil {
			return nil, fmt.Errorf("sign: signer %d: %w", i, err)
		}
	}
	return root, nil
}

// detach copies el and declares on the copy every namespace it inherits.
func detach(el *etree.Element) *etree.Element {
	cp := el.Copy()
	seen := map[string]bool{}
	for i := range el.Attr {
		if p, ok := safexml.DeclPrefix(&el.Attr[i]); ok {
			seen[p] = true
		}
	}
	for a := el.Parent(); a != nil; a = a.Parent() {
		for i := range a.Attr {
			p, ok := safexml.DeclPrefix(&a.Attr[i])
			if !ok || seen[p] {
				continue
			}
			seen[p] = true
			if p == "" {
				cp.CreateAttr("xmlns", a.Attr[i].Value)
			} else {
				cp.CreateAttr("xmlns:"+p, a.Attr[i].Value)
			}
		}
	}
	return cp
}

// digestsFor canonicalizes data once, feeding every distinct hash.
func digestsFor(data *etree.Element, signers []Signer) (map[crypto.Hash][]byte, error) {
	hs := map[crypto.Hash]hash.Hash{}
	var ws []io.Writer
	for _, s := range signers {
		if _, ok := hs[s.hash()]; !ok {
			h := s.hash().New()
			hs[s.hash()] = h
			ws = append(ws, h)
		}
	}
	w := ws[0]
	if len(ws) > 1 {
		w = io.MultiWriter(ws...)
	}
	if err := safexml.WriteCanonical(w, data); err != nil {
		return nil, err
	}
	out := make(map[crypto.Hash][]byte, len(hs))
	for k, h := range hs {
		out[k] = h.Sum(nil)
	}
	return out, nil
}

// appendSignature builds one ds:Signature under sigs and signs it.
func appendSignature(sigs *etree.Element, s Signer, id string, digest []byte) error {
	sigURI, digURI, _ := signURIs(s.Hash)
	sig := sigs.CreateElement("ds:Signature")
	sig.CreateAttr("xmlns:ds", ns.DSig)
	si := sig.CreateElement("ds:SignedInfo")
	si.CreateElement("ds:CanonicalizationMethod").CreateAttr("Algorithm", AlgExcC14N)
	si.CreateElement("ds:SignatureMethod").CreateAttr("Algorithm", sigURI)
	ref := si.CreateElement("ds:Reference")
	ref.CreateAttr("URI", "#"+id)
	ref.CreateElement("ds:Transforms").CreateElement("ds:Transform").CreateAttr("Algorithm", AlgExcC14N)
	ref.CreateElement("ds:DigestMethod").CreateAttr("Algorithm", digURI)
	ref.CreateElement("ds:DigestValue").SetText(EncodeBase64(digest))

	h := s.hash().New()
	if err := safexml.WriteCanonical(h, si); err != nil {
		return fmt.Errorf("canonicalize SignedInfo: %w", err)
	}
	value, err := rsa.SignPKCS1v15(nil, s.Key, s.hash(), h.Sum(nil))
	if err != nil {
		return fmt.Errorf("rsa sign: %w", err)
	}
	sig.CreateElement("ds:SignatureValue").SetText(EncodeBase64(value))
	x509Data := sig.CreateElement("ds:KeyInfo").CreateElement("ds:X509Data")
	x509Data.CreateElement("ds:X509Certificate").SetText(EncodeBase64(s.Cert.Raw))
	return nil
}
