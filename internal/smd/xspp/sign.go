package xspp

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	dsig "github.com/russellhaering/goxmldsig"
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

	for i, s := range signers {
		if err := appendSignature(sigs, data, s); err != nil {
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

// excC14N plugs safexml's exclusive canonicalizer into goxmldsig: it
// handles inherited namespaces without detaching, has no subtree size limit
// and renders default-namespace undeclarations as libxml2 (xmlsec1) does.
type excC14N struct{}

func (excC14N) Canonicalize(el *etree.Element) ([]byte, error) { return safexml.Canonicalize(el) }
func (excC14N) Algorithm() dsig.AlgorithmID                    { return dsig.CanonicalXML10ExclusiveAlgorithmId }

// appendSignature has goxmldsig build and sign one detached ds:Signature
// over data (its Reference is "#"+id, its one transform exc-c14n) and
// appends it to sigs.
func appendSignature(sigs, data *etree.Element, s Signer) error {
	ctx, err := dsig.NewSigningContext(s.Key, [][]byte{s.Cert.Raw})
	if err != nil {
		return err
	}
	ctx.Hash = s.hash()
	ctx.IdAttribute = "id"
	ctx.Prefix = "ds"
	ctx.Canonicalizer = excC14N{}
	sig, err := ctx.ConstructSignature(data, false)
	if err != nil {
		return err
	}
	sigs.AddChild(sig)
	return nil
}
