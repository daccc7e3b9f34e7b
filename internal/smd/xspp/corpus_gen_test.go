package xspp

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"testing/cryptotest"
	"time"

	"github.com/beevik/etree"

	"github.com/opensmd/portal/internal/smd/fault"
	"github.com/opensmd/portal/internal/smd/ns"
	"github.com/opensmd/portal/internal/smd/pki"
	"github.com/opensmd/portal/internal/smd/safexml"
)

// The corpus generator (run by TestCorpus under -update).

// corpusGen builds the corpus with fixed randomness.
type corpusGen struct {
	t     *testing.T
	f     *fixtures
	files map[string][]byte
	seed  byte
}

func writeCorpus(t *testing.T, f *fixtures, dir string) {
	cryptotest.SetGlobalRandom(t, 7)
	g := &corpusGen{t: t, f: f, files: map[string][]byte{}}
	g.decryptCases()
	g.rawCases()
	g.verifyCases()
	g.trustCases()
	g.parseCases()
	old, _ := filepath.Glob(filepath.Join(dir, "*.xml"))
	for _, o := range old {
		os.Remove(o)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(g.files))
	for n := range g.files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n+".xml"), g.files[n], 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func (g *corpusGen) rnd() *detReader {
	g.seed++
	return &detReader{detRand(g.seed)}
}

type detReader struct {
	r interface{ Read([]byte) (int, error) }
}

func (d *detReader) Read(p []byte) (int, error) { return d.r.Read(p) }

func (g *corpusGen) add(code fault.Code, name string, b []byte) {
	g.files[string(code)+"__"+name] = b
}

// signed returns a fresh signed container of a small msg:message.
func (g *corpusGen) signed(signers ...Signer) *etree.Element {
	if len(signers) == 0 {
		signers = []Signer{g.f.Sender.signer()}
	}
	sp, err := Sign(message("SGVsbG8gY29ycHVz"), signers, SignOptions{Rand: g.rnd()})
	if err != nil {
		g.t.Fatal(err)
	}
	return sp
}

// sealed encrypts sp for the fixture recipient and returns the wire bytes.
func (g *corpusGen) sealed(sp *etree.Element, to ...*x509.Certificate) []byte {
	if len(to) == 0 {
		to = g.f.Recipient.certs()
	}
	ep, err := Encrypt(sp, to, EncryptOptions{Rand: g.rnd()})
	if err != nil {
		g.t.Fatal(err)
	}
	return wire(g.t, ep)
}

// edit parses wire bytes, applies fn to the root and re-serializes.
func (g *corpusGen) edit(b []byte, fn func(root *etree.Element)) []byte {
	root := mustParse(g.t, string(b))
	fn(root)
	return wire(g.t, root)
}

// findEl returns the first element {uri}local under root (depth first).
func findEl(root *etree.Element, uri, local string) *etree.Element {
	var out *etree.Element
	walk(root, func(e *etree.Element) {
		if out == nil && is(e, uri, local) {
			out = e
		}
	})
	return out
}

func setAttr(el *etree.Element, key, value string) { el.CreateAttr(key, value) }

func (g *corpusGen) decryptCases() {
	ok := g.sealed(g.signed())
	g.add("ok", "valid-sha1", ok)
	edCV := func(fn func(string) string) []byte {
		return g.edit(ok, func(r *etree.Element) {
			cv := findEl(findEl(r, ns.XEnc, "EncryptedData"), ns.XEnc, "CipherValue")
			cv.SetText(fn(cv.Text()))
		})
	}
	flip := func(s string, at int) string {
		raw, _ := DecodeBase64(s)
		raw[at] ^= 0x80
		return EncodeBase64(raw)
	}
	g.add(fault.BadEncryption, "undecryptable-tampered-last-block", edCV(func(s string) string {
		raw, _ := DecodeBase64(s)
		return flip(s, len(raw)-17) // the byte XORed into the padding length
	}))
	g.add(fault.BadEncryption, "undecryptable-tampered-middle", edCV(func(s string) string {
		raw, _ := DecodeBase64(s)
		return flip(s, len(raw)/2)
	}))
	g.add(fault.BadEncryption, "undecryptable-truncated-base64", edCV(func(s string) string { return s[:len(s)-3] }))
	g.add(fault.BadEncryption, "undecryptable-not-base64", edCV(func(s string) string { return "!!!!" + s[4:] }))
	g.add(fault.BadEncryption, "undecryptable-not-block-multiple", edCV(func(string) string { return EncodeBase64(make([]byte, 16+33)) }))
	g.add(fault.BadEncryption, "undecryptable-short-ciphertext", edCV(func(string) string { return EncodeBase64(make([]byte, 16)) }))
	g.add(fault.BadEncryption, "undecryptable-empty-ciphertext", edCV(func(string) string { return "" }))
	// EncryptedKey tampering: SKI still matches, unwrapping yields garbage.
	ekCV := func(fn func(string) string) []byte {
		return g.edit(ok, func(r *etree.Element) {
			cv := findEl(findEl(r, ns.XEnc, "EncryptedKey"), ns.XEnc, "CipherValue")
			cv.SetText(fn(cv.Text()))
		})
	}
	g.add(fault.BadEncryption, "undecryptable-tampered-wrapped-key", ekCV(func(s string) string { return flip(s, 100) }))
	g.add(fault.BadEncryption, "undecryptable-short-wrapped-key", ekCV(func(string) string { return EncodeBase64(make([]byte, 10)) }))
	other, err := rsa.EncryptPKCS1v15(nil, g.f.Recipient.Cert.PublicKey.(*rsa.PublicKey), make([]byte, 32)) //nolint:staticcheck // test vector for rsa-1_5
	if err != nil {
		g.t.Fatal(err)
	}
	g.add(fault.BadEncryption, "undecryptable-other-session-key", ekCV(func(string) string { return EncodeBase64(other) }))
	g.add(fault.BadEncryption, "key-for-other-recipient", g.sealed(g.signed(), g.f.Recipient2.Cert))
	g.add(fault.BadEncryption, "missing-ski", g.edit(ok, func(r *etree.Element) {
		x := findEl(r, ns.DSig, "X509Data")
		x.RemoveChildAt(0)
		x.CreateElement("ds:X509SubjectName").SetText("CN=TEST")
	}))
	g.add(fault.BadEncryption, "two-skis", g.edit(ok, func(r *etree.Element) {
		x := findEl(r, ns.DSig, "X509Data")
		x.AddChild(x.ChildElements()[0].Copy())
	}))
	g.add(fault.BadEncryption, "content-type", g.edit(ok, func(r *etree.Element) {
		setAttr(findEl(r, ns.XEnc, "EncryptedData"), "Type", "http://www.w3.org/2001/04/xmlenc#Content")
	}))
	g.add(fault.BadEncryption, "cipher-reference", g.edit(ok, func(r *etree.Element) {
		cd := findEl(findEl(r, ns.XEnc, "EncryptedData"), ns.XEnc, "CipherData")
		cd.RemoveChildAt(0)
		cd.CreateElement("xenc:CipherReference").CreateAttr("URI", "file:///etc/passwd")
	}))
	g.add(fault.BadEncryption, "data-reference-mismatch", g.edit(ok, func(r *etree.Element) {
		setAttr(findEl(r, ns.XEnc, "DataReference"), "URI", "#_elsewhere")
	}))
	g.add(fault.BadEncryption, "no-keys", g.edit(ok, func(r *etree.Element) {
		k := findEl(r, ns.EncryptedPayload, "keys")
		k.RemoveChildAt(0)
	}))
	g.add(fault.BadAlgorithmDataEncryption, "tripledes", g.edit(ok, func(r *etree.Element) {
		setAttr(findEl(findEl(r, ns.XEnc, "EncryptedData"), ns.XEnc, "EncryptionMethod"), "Algorithm", "http://www.w3.org/2001/04/xmlenc#tripledes-cbc")
	}))
	g.add(fault.BadAlgorithmKeyEncryption, "rsa-oaep-xmlenc11", g.edit(ok, func(r *etree.Element) {
		setAttr(findEl(findEl(r, ns.XEnc, "EncryptedKey"), ns.XEnc, "EncryptionMethod"), "Algorithm", "http://www.w3.org/2009/xmlenc11#rsa-oaep")
	}))
	g.add(fault.BadAlgorithmKeyEncryption, "oaep-md5", g.edit(ok, func(r *etree.Element) {
		m := findEl(findEl(r, ns.XEnc, "EncryptedKey"), ns.XEnc, "EncryptionMethod")
		setAttr(m, "Algorithm", AlgRSAOAEPMGF1P)
		d := m.CreateElement("ds:DigestMethod")
		d.CreateAttr("xmlns:ds", ns.DSig)
		d.CreateAttr("Algorithm", "http://www.w3.org/2001/04/xmldsig-more#md5")
	}))
	g.add(fault.BadlyFormedMsg, "unencrypted-signed-payload", wire(g.t, g.signed()))
}

// rawContainer encrypts arbitrary plaintext bytes (with padding pad, or
// PKCS#7 if pad is 0) for the fixture recipient.
func (g *corpusGen) rawContainer(plain []byte, pad byte) []byte {
	key := make([]byte, 32)
	iv := make([]byte, 16)
	g.rnd().Read(key)
	g.rnd().Read(iv)
	n := 16 - len(plain)%16
	if pad == 0 {
		pad = byte(n)
	}
	for range n {
		plain = append(plain, pad)
	}
	block, _ := aes.NewCipher(key)
	ct := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, plain)
	wrapped, err := rsa.EncryptPKCS1v15(nil, g.f.Recipient.Cert.PublicKey.(*rsa.PublicKey), key) //nolint:staticcheck // test vector for rsa-1_5
	if err != nil {
		g.t.Fatal(err)
	}
	return []byte(fmt.Sprintf(`<ep:encryptedPayload xmlns:ep="%s"><ep:keys><xenc:EncryptedKey xmlns:xenc="%s"><xenc:EncryptionMethod Algorithm="%s"/><ds:KeyInfo xmlns:ds="%s"><ds:X509Data><ds:X509SKI>%s</ds:X509SKI></ds:X509Data></ds:KeyInfo><xenc:CipherData><xenc:CipherValue>%s</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey></ep:keys><ep:encryptedPayloadData><xenc:EncryptedData xmlns:xenc="%s" Id="_raw" Type="%s"><xenc:EncryptionMethod Algorithm="%s"/><xenc:CipherData><xenc:CipherValue>%s</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData></ep:encryptedPayloadData></ep:encryptedPayload>`,
		ns.EncryptedPayload, ns.XEnc, AlgRSA15, ns.DSig, EncodeBase64(g.f.Recipient.Cert.SubjectKeyId),
		EncodeBase64(wrapped), ns.XEnc, TypeElement, AlgAES256CBC, EncodeBase64(append(iv, ct...))))
}

func (g *corpusGen) rawCases() {
	signed := wire(g.t, g.signed())
	g.add("ok", "raw-container", g.rawContainer(signed, 0))
	// A last byte of 0 or > 16 is invalid; other pad bytes are ignored.
	g.add(fault.BadEncryption, "undecryptable-pad-length-zero", g.rawContainer(append(signed, make([]byte, 15)...), 0x00))
	g.add(fault.BadEncryption, "undecryptable-pad-length-17", g.rawContainer(signed, 17))
	g.add(fault.BadEncryption, "undecryptable-plaintext-not-xml", g.rawContainer([]byte("MSH|^~\\&|not xml"), 0))
	g.add(fault.BadEncryption, "undecryptable-plaintext-doctype", g.rawContainer([]byte(`<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>`+string(signed)), 0))
	g.add(fault.BadEncryption, "undecryptable-plaintext-billion-laughs", g.rawContainer([]byte(`<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><l>&b;</l>`), 0))
	g.add(fault.BadSigEncOrder, "plaintext-is-message", g.rawContainer(wire(g.t, message("SGk=")), 0))
	g.add(fault.BadSigEncOrder, "plaintext-is-encrypted-payload", g.rawContainer(g.sealed(g.signed()), 0))
}

// mutate signs, applies fn to the signed container, then encrypts.
func (g *corpusGen) mutate(fn func(sp *etree.Element)) []byte {
	sp := g.signed()
	fn(sp)
	return g.sealed(sp)
}

func (g *corpusGen) verifyCases() {
	sha256 := g.f.Sender2.signer()
	sha256.Hash = crypto.SHA256
	g.add("ok", "valid-two-signers-sha256", g.sealed(g.signed(g.f.Sender.signer(), sha256)))
	data := func(sp *etree.Element) *etree.Element { return findEl(sp, ns.SignedPayload, "signedPayloadData") }
	algo := func(local string) func(sp *etree.Element) *etree.Element {
		return func(sp *etree.Element) *etree.Element { return findEl(sp, ns.DSig, local) }
	}
	g.add(fault.BadSignature, "tampered-signed-data", g.mutate(func(sp *etree.Element) {
		findEl(sp, ns.Message, "data").SetText("SGVsbG8gZXZpbA==")
	}))
	g.add(fault.BadSignature, "tampered-whitespace", g.mutate(func(sp *etree.Element) {
		data(sp).CreateText(" ")
	}))
	g.add(fault.BadSignature, "tampered-signature-value", g.mutate(func(sp *etree.Element) {
		sv := findEl(sp, ns.DSig, "SignatureValue")
		sv.SetText(flipBase64(sv.Text()))
	}))
	g.add(fault.BadSignature, "tampered-digest-value", g.mutate(func(sp *etree.Element) {
		dv := findEl(sp, ns.DSig, "DigestValue")
		dv.SetText(flipBase64(dv.Text()))
	}))
	g.add(fault.BadSignature, "xsw-second-signed-payload-data", g.mutate(func(sp *etree.Element) {
		evil := data(sp).Copy()
		evil.SelectElement("message").SelectElement("data").SetText("ZXZpbA==")
		sp.AddChild(evil)
	}))
	g.add(fault.BadSignature, "xsw-evil-first-original-in-object", g.mutate(func(sp *etree.Element) {
		orig := data(sp)
		evil := orig.Copy()
		evil.SelectElement("message").SelectElement("data").SetText("ZXZpbA==")
		sp.RemoveChild(orig)
		sp.AddChild(evil)
		obj := findEl(sp, ns.DSig, "Signature").CreateElement("ds:Object")
		obj.AddChild(orig)
	}))
	g.add(fault.BadSignature, "xsw-original-wrapped-in-signatures", g.mutate(func(sp *etree.Element) {
		orig := data(sp)
		evil := orig.Copy()
		evil.SelectElement("message").SelectElement("data").SetText("ZXZpbA==")
		setAttr(evil, "id", "_evil")
		sp.RemoveChild(orig)
		sp.AddChild(evil)
		findEl(sp, ns.SignedPayload, "signatures").AddChild(orig)
	}))
	g.add(fault.BadSignature, "xsw-duplicate-id-in-keyinfo", g.mutate(func(sp *etree.Element) {
		id, _ := attr(data(sp), "id")
		kn := findEl(sp, ns.DSig, "KeyInfo").CreateElement("ds:KeyName")
		kn.CreateAttr("Id", id)
		kn.SetText("evil")
	}))
	g.add(fault.BadSignature, "xsw-duplicate-id-in-signed-payload", g.dupIDInPayload())
	g.add(fault.BadSignature, "reference-other-element", g.mutate(func(sp *etree.Element) {
		setAttr(findEl(sp, ns.DSig, "KeyInfo"), "Id", "_keyinfo")
		setAttr(findEl(sp, ns.DSig, "Reference"), "URI", "#_keyinfo")
	}))
	g.add(fault.BadSignature, "reference-empty-uri", g.mutate(func(sp *etree.Element) {
		setAttr(findEl(sp, ns.DSig, "Reference"), "URI", "")
	}))
	g.add(fault.BadSignature, "two-references", g.mutate(func(sp *etree.Element) {
		ref := findEl(sp, ns.DSig, "Reference")
		ref.Parent().AddChild(ref.Copy())
	}))
	g.add(fault.BadSignature, "two-transforms", g.mutate(func(sp *etree.Element) {
		tr := findEl(sp, ns.DSig, "Transform")
		tr.Parent().InsertChildAt(0, tr.Copy())
	}))
	g.add(fault.BadSignature, "no-signatures", g.mutate(func(sp *etree.Element) {
		s := findEl(sp, ns.SignedPayload, "signatures")
		s.RemoveChildAt(0)
	}))
	g.add(fault.BadSignature, "payload-two-elements", g.mutate(func(sp *etree.Element) {
		data(sp).AddChild(message("eA=="))
	}))
	g.add(fault.BadSignature, "signature-object", g.mutate(func(sp *etree.Element) {
		findEl(sp, ns.DSig, "Signature").CreateElement("ds:Object").SetText("x")
	}))
	g.add(fault.BadAlgorithmC14N, "inclusive-c14n", g.mutate(func(sp *etree.Element) {
		setAttr(algo("CanonicalizationMethod")(sp), "Algorithm", "http://www.w3.org/TR/2001/REC-xml-c14n-20010315")
	}))
	g.add(fault.BadAlgorithmC14N, "exc-c14n-with-comments", g.mutate(func(sp *etree.Element) {
		setAttr(algo("CanonicalizationMethod")(sp), "Algorithm", AlgExcC14N+"WithComments")
	}))
	g.add(fault.BadAlgorithmC14N, "transform-enveloped-signature", g.mutate(func(sp *etree.Element) {
		setAttr(algo("Transform")(sp), "Algorithm", "http://www.w3.org/2000/09/xmldsig#enveloped-signature")
	}))
	g.add(fault.BadAlgorithmC14N, "transform-xslt", g.mutate(func(sp *etree.Element) {
		setAttr(algo("Transform")(sp), "Algorithm", "http://www.w3.org/TR/1999/REC-xslt-19991116")
	}))
	g.add(fault.BadAlgorithmC14N, "inclusive-namespaces-prefix-list", g.mutate(func(sp *etree.Element) {
		in := algo("Transform")(sp).CreateElement("ec:InclusiveNamespaces")
		in.CreateAttr("xmlns:ec", AlgExcC14N)
		in.CreateAttr("PrefixList", "sp")
	}))
	g.add(fault.BadAlgorithmSignature, "rsa-md5", g.mutate(func(sp *etree.Element) {
		setAttr(algo("SignatureMethod")(sp), "Algorithm", "http://www.w3.org/2001/04/xmldsig-more#rsa-md5")
	}))
	g.add(fault.BadAlgorithmSignature, "hmac-sha1", g.mutate(func(sp *etree.Element) {
		setAttr(algo("SignatureMethod")(sp), "Algorithm", "http://www.w3.org/2000/09/xmldsig#hmac-sha1")
	}))
	g.add(fault.BadAlgorithmDigest, "md5", g.mutate(func(sp *etree.Element) {
		setAttr(algo("DigestMethod")(sp), "Algorithm", "http://www.w3.org/2001/04/xmldsig-more#md5")
	}))
	g.add(fault.BadAlgorithmDigest, "sha512", g.mutate(func(sp *etree.Element) {
		setAttr(algo("DigestMethod")(sp), "Algorithm", "http://www.w3.org/2001/04/xmlenc#sha512")
	}))
	g.add(fault.BadCertificateTransmitted, "no-x509data", g.mutate(func(sp *etree.Element) {
		ki := findEl(sp, ns.DSig, "KeyInfo")
		ki.RemoveChildAt(0)
		ki.CreateElement("ds:KeyName").SetText("sender")
	}))
	g.add(fault.BadCertificateTransmitted, "two-x509data", g.mutate(func(sp *etree.Element) {
		ki := findEl(sp, ns.DSig, "KeyInfo")
		ki.AddChild(ki.ChildElements()[0].Copy())
	}))
	g.add(fault.BadCertificateTransmitted, "two-certificates", g.mutate(func(sp *etree.Element) {
		x := findEl(sp, ns.DSig, "X509Data")
		c := x.ChildElements()[0].Copy()
		c.SetText(EncodeBase64(g.f.CA.Cert.Raw))
		x.AddChild(c)
	}))
	g.add(fault.BadCertificateTransmitted, "garbage-certificate", g.mutate(func(sp *etree.Element) {
		findEl(sp, ns.DSig, "X509Certificate").SetText("AAAA")
	}))
	g.add(fault.BadSignature, "certificate-of-other-key", g.mutate(func(sp *etree.Element) {
		findEl(sp, ns.DSig, "X509Certificate").SetText(EncodeBase64(g.f.Sender2.Cert.Raw))
	}))
}

// dupIDInPayload signs a payload that itself carries the id the signature
// references (predicted from the fixed id randomness): the signature is
// valid, but the id no longer names one element.
func (g *corpusGen) dupIDInPayload() []byte {
	seed := g.seed + 1
	id, err := newID(&detReader{detRand(seed)})
	if err != nil {
		g.t.Fatal(err)
	}
	payload := message("SGVsbG8=")
	payload.CreateElement("msg:extra").CreateAttr("id", id)
	g.seed = seed
	sp, err := Sign(payload, []Signer{g.f.Sender.signer()}, SignOptions{Rand: &detReader{detRand(seed)}})
	if err != nil {
		g.t.Fatal(err)
	}
	if got, _ := attr(findEl(sp, ns.SignedPayload, "signedPayloadData"), "id"); got != id {
		g.t.Fatalf("id prediction failed: %s != %s", got, id)
	}
	return g.sealed(sp)
}

func flipBase64(s string) string {
	raw, err := DecodeBase64(s)
	if err != nil || len(raw) == 0 {
		return s
	}
	raw[len(raw)/2] ^= 1
	return EncodeBase64(raw)
}

// trustCases produce cryptographically valid messages whose signer fails
// the pki checks.
func (g *corpusGen) trustCases() {
	nb := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	opts := pki.Options{Rand: g.rnd(), Now: func() time.Time { return nb }}
	ca := &pki.CA{Cert: g.f.CA.Cert, Key: g.f.CA.Key}
	issue := func(ca *pki.CA, req pki.Request) Signer {
		c, k, err := ca.Issue(req, opts)
		if err != nil {
			g.t.Fatal(err)
		}
		return Signer{Key: k, Cert: c}
	}
	untrustedCA, err := pki.NewCA("TEST untrusted CA", opts)
	if err != nil {
		g.t.Fatal(err)
	}
	g.add(fault.BadCertificateTransmitted, "untrusted-ca", g.sealed(g.signed(
		issue(untrustedCA, pki.Request{OrgURI: orgSender, Name: "Impostor", Usage: pki.UsageSign}))))
	g.add(fault.BadCertificateTransmitted, "expired-signer", g.sealed(g.signed(
		issue(ca, pki.Request{OrgURI: orgSender, Name: "Expired", Usage: pki.UsageSign, NotBefore: nb, NotAfter: nb.AddDate(0, 11, 0)}))))
	g.add(fault.BadCertificateTransmitted, "not-yet-valid-signer", g.sealed(g.signed(
		issue(ca, pki.Request{OrgURI: orgSender, Name: "Future", Usage: pki.UsageSign, NotBefore: corpusNow.AddDate(1, 0, 0), NotAfter: corpusNow.AddDate(3, 0, 0)}))))
	g.add(fault.NotAuthorised, "san-not-sender", g.sealed(g.signed(
		issue(ca, pki.Request{OrgURI: orgOther, Name: "Other Practice", Usage: pki.UsageSign, NotBefore: nb, NotAfter: nb.AddDate(100, 0, 0)}))))
	g.add(fault.CertificateKeyUsage, "encryption-only-signer", g.sealed(g.signed(g.f.Recipient.signer())))
	// One bad signer among good ones fails the message.
	g.add(fault.NotAuthorised, "second-signer-san-not-sender", g.sealed(g.signed(g.f.Sender.signer(),
		issue(ca, pki.Request{OrgURI: orgOther, Name: "Other Practice 2", Usage: pki.UsageSign, NotBefore: nb, NotAfter: nb.AddDate(100, 0, 0)}))))
}

// parseCases attack the outer document.
func (g *corpusGen) parseCases() {
	ok := string(g.sealed(g.signed()))
	g.add(fault.BadlyFormedMsg, "doctype", []byte(`<!DOCTYPE ep:encryptedPayload>`+ok))
	g.add(fault.BadlyFormedMsg, "billion-laughs", []byte(`<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">]><lolz>&lol2;</lolz>`))
	g.add(fault.BadlyFormedMsg, "external-entity", []byte(`<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><x>&xxe;</x>`))
	g.add(fault.BadlyFormedMsg, "undefined-entity-in-cipher-value", []byte(strings.Replace(ok, "<xenc:CipherValue>", "<xenc:CipherValue>&xxe;", 1)))
	g.add(fault.BadlyFormedMsg, "deep-nesting", []byte(strings.Repeat("<a>", safexml.MaxDepth+10)+strings.Repeat("</a>", safexml.MaxDepth+10)))
	g.add(fault.BadlyFormedMsg, "truncated", []byte(ok[:len(ok)/2]))
	g.add(fault.BadlyFormedMsg, "wrong-root", []byte(`<x:encryptedPayload xmlns:x="urn:not-xspp"/>`))
}
