package xspp

import (
	"crypto"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"strings"

	"github.com/beevik/etree"

	"github.com/opensmd/portal/internal/smd/fault"
	"github.com/opensmd/portal/internal/smd/ns"
	"github.com/opensmd/portal/internal/smd/safexml"
)

// Verified is what Verify vouches for. Use only these fields afterwards,
// never the element that was passed to Verify.
type Verified struct {
	// Data is the exc-c14n form of sp:signedPayloadData that was digested:
	// the only bytes callers may trust.
	Data []byte
	// Payload is the single child element of sp:signedPayloadData,
	// re-parsed from Data (never taken from the input tree).
	Payload *etree.Element
	// Signers holds the certificate of each signature, in document order.
	// They are not yet trusted: check them with pki.Verifier.
	Signers []*x509.Certificate
	// DigestValue is the raw DigestValue of the first Reference of the
	// first Signature (the transport response digestValue).
	DigestValue []byte
}

// parsedSig is one structurally checked ds:Signature.
type parsedSig struct {
	signedInfo  *etree.Element
	sigHash     crypto.Hash
	digestHash  crypto.Hash
	digestValue []byte
	sigValue    []byte
	cert        *x509.Certificate
	pub         *rsa.PublicKey
}

func badSig(msg string) error { return fault.New(fault.BadSignature, msg) }

// Verify checks every ds:Signature of an XSPP signed container
// cryptographically (ATS 5821-2010; SMD.md §1.4; the receive pattern of
// DEPENDENCIES.md §2.6). It does not decide whether the signers are
// trusted: that is pki.Verifier's job, on Verified.Signers.
//
// The container must hold exactly one sp:signedPayloadData whose id is
// carried by no other element of the whole document, and at least one
// ds:Signature; every signature must have exactly one Reference to "#"+id
// with exactly one exc-c14n transform, allowed algorithms and exactly one
// X509Data/X509Certificate, and all of them must verify. For each one the
// SignedInfo is canonicalized and its SignatureValue checked with the
// certificate's RSA key first, then the digest of the canonical
// sp:signedPayloadData is compared in constant time.
//
// Failures are *fault.Error: BadlyFormedMsg (not a signedPayload),
// BadAlgorithmC14N / BadAlgorithmSignature / BadAlgorithmDigest,
// BadCertificateTransmitted (KeyInfo or certificate unusable), and
// BadSignature for everything else.
func Verify(signedPayload *etree.Element) (*Verified, error) {
	if !is(signedPayload, ns.SignedPayload, "signedPayload") {
		return nil, fault.New(fault.BadlyFormedMsg, "expected sp:signedPayload")
	}
	kids, ok := children(signedPayload, ns.SignedPayload, "signatures", "signedPayloadData")
	if !ok {
		return nil, badSig("sp:signedPayload must hold sp:signatures then sp:signedPayloadData")
	}
	data := kids[1]
	id, ok := attr(data, "id")
	if !ok || id == "" {
		return nil, badSig("sp:signedPayloadData has no id")
	}
	if payload, ok := elementChildren(data); !ok || len(payload) != 1 {
		return nil, badSig("sp:signedPayloadData must hold exactly one element")
	}
	if err := checkUnique(signedPayload, data, id); err != nil {
		return nil, err
	}
	sigs, err := parseSignatures(kids[0], id)
	if err != nil {
		return nil, err
	}
	for _, s := range sigs {
		if err := s.verifySignedInfo(); err != nil {
			return nil, err
		}
	}
	canon, err := safexml.Canonicalize(data)
	if err != nil {
		return nil, fault.Wrap(fault.BadSignature, "cannot canonicalize sp:signedPayloadData", err)
	}
	if err := checkDigests(sigs, canon); err != nil {
		return nil, err
	}
	return verified(canon, sigs)
}

// checkUnique rejects signature wrapping: any other element named
// signedPayloadData (whatever its namespace) in the container, or any other
// element in the document carrying the id in an id-like attribute. It is
// linear in the document size.
func checkUnique(sp, data *etree.Element, id string) error {
	second := false
	walk(sp, func(e *etree.Element) {
		second = second || (e != data && e.Tag == "signedPayloadData")
	})
	if second {
		return badSig("more than one sp:signedPayloadData")
	}
	bad := false
	walk(top(sp), func(e *etree.Element) {
		if e == data {
			return
		}
		for _, a := range e.Attr {
			if a.Value == id && strings.EqualFold(a.Key, "id") {
				bad = true
			}
		}
	})
	if bad {
		return badSig("signedPayloadData id is not unique in the document")
	}
	return nil
}

func parseSignatures(sigList *etree.Element, id string) ([]*parsedSig, error) {
	els, ok := elementChildren(sigList)
	if !ok || len(els) == 0 {
		return nil, badSig("sp:signatures must hold ds:Signature elements")
	}
	sigs := make([]*parsedSig, 0, len(els))
	for _, el := range els {
		if !is(el, ns.DSig, "Signature") {
			return nil, badSig("sp:signatures must hold only ds:Signature")
		}
		s, err := parseSignature(el, id)
		if err != nil {
			return nil, err
		}
		sigs = append(sigs, s)
	}
	return sigs, nil
}

func parseSignature(el *etree.Element, id string) (*parsedSig, error) {
	kids, ok := children(el, ns.DSig, "SignedInfo", "SignatureValue", "KeyInfo")
	if !ok {
		return nil, badSig("ds:Signature must hold SignedInfo, SignatureValue and KeyInfo")
	}
	s := &parsedSig{signedInfo: kids[0]}
	if err := s.parseSignedInfo(kids[0], id); err != nil {
		return nil, err
	}
	text, ok := textOf(kids[1])
	if !ok {
		return nil, badSig("bad SignatureValue")
	}
	var err error
	if s.sigValue, err = DecodeBase64(text); err != nil || len(s.sigValue) == 0 {
		return nil, badSig("bad SignatureValue")
	}
	if s.cert, s.pub, err = keyInfoCert(kids[2]); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *parsedSig) parseSignedInfo(si *etree.Element, id string) error {
	kids, ok := children(si, ns.DSig, "CanonicalizationMethod", "SignatureMethod", "Reference")
	if !ok {
		return badSig("ds:SignedInfo must hold CanonicalizationMethod, SignatureMethod and exactly one Reference")
	}
	if !isExcC14N(kids[0]) {
		return fault.New(fault.BadAlgorithmC14N, "canonicalization method not supported")
	}
	alg, _ := attr(kids[1], "Algorithm")
	m, err := signatureMethod(alg)
	if err != nil {
		return err
	}
	if k, _ := elementChildren(kids[1]); len(k) != 0 {
		return fault.New(fault.BadAlgorithmSignature, "signature method parameters not supported")
	}
	s.sigHash = m.hash
	return s.parseReference(kids[2], id)
}

// isExcC14N reports whether a CanonicalizationMethod or Transform is plain
// exc-c14n (no InclusiveNamespaces or other parameters).
func isExcC14N(el *etree.Element) bool {
	alg, _ := attr(el, "Algorithm")
	k, ok := elementChildren(el)
	return alg == AlgExcC14N && ok && len(k) == 0
}

func (s *parsedSig) parseReference(ref *etree.Element, id string) error {
	if uri, _ := attr(ref, "URI"); uri != "#"+id {
		return badSig("Reference does not point at sp:signedPayloadData")
	}
	kids, ok := children(ref, ns.DSig, "Transforms", "DigestMethod", "DigestValue")
	if !ok {
		return badSig("ds:Reference must hold Transforms, DigestMethod and DigestValue")
	}
	tr, ok := children(kids[0], ns.DSig, "Transform")
	if !ok {
		return badSig("ds:Reference must have exactly one Transform")
	}
	if !isExcC14N(tr[0]) {
		return fault.New(fault.BadAlgorithmC14N, "transform not supported")
	}
	alg, _ := attr(kids[1], "Algorithm")
	h, err := digestMethod(alg)
	if err != nil {
		return err
	}
	s.digestHash = h
	text, ok := textOf(kids[2])
	if !ok {
		return badSig("bad DigestValue")
	}
	if s.digestValue, err = DecodeBase64(text); err != nil || len(s.digestValue) != h.Size() {
		return badSig("bad DigestValue")
	}
	return nil
}

// keyInfoCert returns the single certificate of KeyInfo/X509Data.
func keyInfoCert(ki *etree.Element) (*x509.Certificate, *rsa.PublicKey, error) {
	bad := func(msg string, err error) (*x509.Certificate, *rsa.PublicKey, error) {
		return nil, nil, fault.Wrap(fault.BadCertificateTransmitted, msg, err)
	}
	x509Data := namedChildren(ki, ns.DSig, "X509Data")
	if len(x509Data) != 1 {
		return bad("KeyInfo must hold exactly one X509Data", nil)
	}
	certEls := namedChildren(x509Data[0], ns.DSig, "X509Certificate")
	if len(certEls) != 1 {
		return bad("X509Data must hold exactly one X509Certificate", nil)
	}
	text, ok := textOf(certEls[0])
	if !ok {
		return bad("bad X509Certificate", nil)
	}
	der, err := DecodeBase64(text)
	if err != nil {
		return bad("bad X509Certificate", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return bad("bad X509Certificate", err)
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return bad("certificate key is not RSA", nil)
	}
	return cert, pub, nil
}

// namedChildren returns the children of el named {uri}local.
func namedChildren(el *etree.Element, uri, local string) []*etree.Element {
	var out []*etree.Element
	for _, t := range el.Child {
		if c, ok := t.(*etree.Element); ok && is(c, uri, local) {
			out = append(out, c)
		}
	}
	return out
}

func (s *parsedSig) verifySignedInfo() error {
	h := s.sigHash.New()
	if err := safexml.WriteCanonical(h, s.signedInfo); err != nil {
		return fault.Wrap(fault.BadSignature, "cannot canonicalize SignedInfo", err)
	}
	if err := rsa.VerifyPKCS1v15(s.pub, s.sigHash, h.Sum(nil), s.sigValue); err != nil {
		return fault.Wrap(fault.BadSignature, "signature value does not verify", err)
	}
	return nil
}

func checkDigests(sigs []*parsedSig, canon []byte) error {
	sums := map[crypto.Hash][]byte{}
	for _, s := range sigs {
		sum, ok := sums[s.digestHash]
		if !ok {
			h := s.digestHash.New()
			h.Write(canon)
			sum = h.Sum(nil)
			sums[s.digestHash] = sum
		}
		if subtle.ConstantTimeCompare(sum, s.digestValue) != 1 {
			return badSig("digest does not match sp:signedPayloadData")
		}
	}
	return nil
}

// verified re-parses the digested bytes and builds the result from them.
func verified(canon []byte, sigs []*parsedSig) (*Verified, error) {
	doc, err := safexml.Parse(canon)
	if err != nil {
		return nil, fault.Wrap(fault.BadSignature, "signed data does not re-parse", err)
	}
	payload, ok := elementChildren(doc.Root())
	if !ok || len(payload) != 1 {
		return nil, badSig("sp:signedPayloadData must hold exactly one element")
	}
	v := &Verified{Data: canon, Payload: payload[0], DigestValue: sigs[0].digestValue}
	for _, s := range sigs {
		v.Signers = append(v.Signers, s.cert)
	}
	return v, nil
}
