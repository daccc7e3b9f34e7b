package xspp

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"regexp"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/opensmd/portal/internal/smd/fault"
	"github.com/opensmd/portal/internal/smd/ns"
)

func TestSignRejectsBadInput(t *testing.T) {
	f := loadFixtures(t)
	mismatched := Signer{Key: f.Sender2.Key, Cert: f.Sender.Cert}
	md5 := f.Sender.signer()
	md5.Hash = crypto.MD5
	tests := []struct {
		name    string
		payload *etree.Element
		signers []Signer
	}{
		{"NilPayload", nil, []Signer{f.Sender.signer()}},
		{"NoSigners", message("eA=="), nil},
		{"NilKey", message("eA=="), []Signer{{Cert: f.Sender.Cert}}},
		{"CertOfOtherKey", message("eA=="), []Signer{mismatched}},
		{"UnsupportedHash", message("eA=="), []Signer{md5}},
		{"UndeclaredPrefix", etree.NewElement("p:x"), []Signer{f.Sender.signer()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if sp, err := Sign(tt.payload, tt.signers, SignOptions{}); err == nil {
				t.Fatalf("signed: %s", wire(t, sp))
			}
		})
	}
}

// TestSignInheritedNamespaces signs an element taken from inside a larger
// document: the namespaces it inherits must travel with the copy, and the
// original must stay untouched.
func TestSignInheritedNamespaces(t *testing.T) {
	f := loadFixtures(t)
	doc := mustParse(t, `<outer xmlns="urn:default" xmlns:h="urn:hl7" xmlns:unused="urn:u"><h:ORU a="1"><PID>x</PID></h:ORU></outer>`)
	payload := doc.ChildElements()[0]
	before := string(wire(t, doc))
	sp, err := Sign(payload, []Signer{f.Sender.signer()}, SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after := string(wire(t, doc)); after != before || payload.Parent() != doc {
		t.Fatalf("payload modified:\n%s\n%s", before, after)
	}
	v, err := Verify(mustParse(t, string(wire(t, sp))))
	if err != nil {
		t.Fatal(err)
	}
	const want = `<h:ORU xmlns:h="urn:hl7" a="1"><PID xmlns="urn:default">x</PID></h:ORU>`
	if got := string(wire(t, v.Payload)); got != want {
		t.Fatalf("payload %s, want %s", got, want)
	}
}

func TestSignID(t *testing.T) {
	f := loadFixtures(t)
	ncname := regexp.MustCompile(`^_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	ids := map[string]bool{}
	for range 3 {
		sp, err := Sign(message("eA=="), []Signer{f.Sender.signer()}, SignOptions{})
		if err != nil {
			t.Fatal(err)
		}
		id, _ := attr(sp.SelectElement("signedPayloadData"), "id")
		if !ncname.MatchString(id) {
			t.Fatalf("id %q is not _+UUIDv4", id)
		}
		if ref, _ := attr(findEl(sp, ns.DSig, "Reference"), "URI"); ref != "#"+id {
			t.Fatalf("Reference URI %q for id %q", ref, id)
		}
		ids[id] = true
	}
	if len(ids) != 3 {
		t.Fatal("ids repeat")
	}
}

func TestEncryptRejectsBadInput(t *testing.T) {
	f := loadFixtures(t)
	sp, err := Sign(message("eA=="), []Signer{f.Sender.signer()}, SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	noSKI := *f.Recipient.Cert
	noSKI.SubjectKeyId = nil
	tests := []struct {
		name string
		el   *etree.Element
		to   []*x509.Certificate
		alg  string
		code fault.Code // "" for a plain error
	}{
		{"NotSignedPayload", message("eA=="), f.Recipient.certs(), "", ""},
		{"Nil", nil, f.Recipient.certs(), "", ""},
		{"NoRecipients", sp, nil, "", ""},
		{"NilRecipient", sp, []*x509.Certificate{nil}, "", ""},
		{"UnknownAlgorithm", sp, f.Recipient.certs(), "http://www.w3.org/2001/04/xmlenc#tripledes-cbc", fault.BadAlgorithmDataEncryption},
		{"MissingSKI", sp, []*x509.Certificate{f.Recipient.Cert, &noSKI}, "", fault.CertificateSkiMissing},
		{"NotRSA", sp, []*x509.Certificate{ecdsaCert(t)}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep, err := Encrypt(tt.el, tt.to, EncryptOptions{DataAlgorithm: tt.alg})
			if err == nil {
				t.Fatalf("encrypted: %s", wire(t, ep))
			}
			if tt.code != "" {
				wantCode(t, err, tt.code)
			}
		})
	}
}

func ecdsaCert(t *testing.T) *x509.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "TEST ecdsa"}, SubjectKeyId: []byte{1, 2, 3}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestEncryptFresh: the same input encrypts differently every time (fresh
// session key and IV), and the CipherValue layout is IV || whole blocks.
func TestEncryptFresh(t *testing.T) {
	f := loadFixtures(t)
	sp, err := Sign(message("eA=="), []Signer{f.Sender.signer()}, SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var ivs, keys [2]string
	for i := range 2 {
		ep, err := Encrypt(sp, f.Recipient.certs(), EncryptOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cv, err := DecodeBase64(findEl(findEl(ep, ns.XEnc, "EncryptedData"), ns.XEnc, "CipherValue").Text())
		if err != nil {
			t.Fatal(err)
		}
		if len(cv)%16 != 0 || len(cv) < 32 {
			t.Fatalf("CipherValue of %d bytes", len(cv))
		}
		ivs[i] = string(cv[:16])
		keys[i] = findEl(findEl(ep, ns.XEnc, "EncryptedKey"), ns.XEnc, "CipherValue").Text()
		if m, _ := attr(findEl(findEl(ep, ns.XEnc, "EncryptedData"), ns.XEnc, "EncryptionMethod"), "Algorithm"); m != AlgAES256CBC {
			t.Fatalf("default algorithm %s", m)
		}
	}
	if ivs[0] == ivs[1] || keys[0] == keys[1] {
		t.Fatal("IV or wrapped key repeated")
	}
}

// oaepContainer encrypts plain for the fixture recipient with
// rsa-oaep-mgf1p key transport using the given OAEP options.
func oaepContainer(t *testing.T, f *fixtures, plain []byte, opts rsa.OAEPOptions, methodBody string) []byte {
	key := make([]byte, 32)
	iv := make([]byte, 16)
	rand.Read(key)
	rand.Read(iv)
	n := 16 - len(plain)%16
	plain = append(plain, bytes.Repeat([]byte{byte(n)}, n)...)
	block, _ := aes.NewCipher(key)
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(plain, plain)
	wrapped, err := rsa.EncryptOAEPWithOptions(rand.Reader, f.Recipient.Cert.PublicKey.(*rsa.PublicKey), key, &opts)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(fmt.Sprintf(`<ep:encryptedPayload xmlns:ep="%s" xmlns:xenc="%s" xmlns:ds="%s"><ep:keys><xenc:EncryptedKey><xenc:EncryptionMethod Algorithm="%s">%s</xenc:EncryptionMethod><ds:KeyInfo><ds:X509Data><ds:X509SKI>%s</ds:X509SKI></ds:X509Data></ds:KeyInfo><xenc:CipherData><xenc:CipherValue>%s</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey></ep:keys><ep:encryptedPayloadData><xenc:EncryptedData Type="%s"><xenc:EncryptionMethod Algorithm="%s"/><xenc:CipherData><xenc:CipherValue>%s</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData></ep:encryptedPayloadData></ep:encryptedPayload>`,
		ns.EncryptedPayload, ns.XEnc, ns.DSig, AlgRSAOAEPMGF1P, methodBody, EncodeBase64(f.Recipient.Cert.SubjectKeyId),
		EncodeBase64(wrapped), TypeElement, AlgAES256CBC, EncodeBase64(append(iv, plain...))))
}

func TestDecryptOAEP(t *testing.T) {
	f := loadFixtures(t)
	sp, err := Sign(message("eA=="), []Signer{f.Sender.signer()}, SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	plain := wire(t, sp)
	sha256Method := `<ds:DigestMethod Algorithm="` + AlgSHA256 + `"/>`
	label := []byte("smd label")
	tests := []struct {
		name   string
		opts   rsa.OAEPOptions
		method string
		ok     bool
	}{
		{"DefaultSHA1", rsa.OAEPOptions{Hash: crypto.SHA1}, "", true},
		{"ExplicitSHA1", rsa.OAEPOptions{Hash: crypto.SHA1}, `<ds:DigestMethod Algorithm="` + AlgSHA1 + `"/>`, true},
		{"SHA256DigestMGF1SHA1", rsa.OAEPOptions{Hash: crypto.SHA256, MGFHash: crypto.SHA1}, sha256Method, true},
		{"Label", rsa.OAEPOptions{Hash: crypto.SHA1, Label: label}, `<xenc:OAEPparams>` + EncodeBase64(label) + `</xenc:OAEPparams>`, true},
		// mgf1p fixes MGF1 to SHA-1; MGF1-SHA256 under this URI is wrong.
		{"MGF1SHA256Rejected", rsa.OAEPOptions{Hash: crypto.SHA256, MGFHash: crypto.SHA256}, sha256Method, false},
		{"LabelMismatch", rsa.OAEPOptions{Hash: crypto.SHA1, Label: label}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := oaepContainer(t, f, append([]byte(nil), plain...), tt.opts, tt.method)
			got, err := Decrypt(mustParse(t, string(in)), f.Recipient.pair())
			if !tt.ok {
				wantCode(t, err, fault.BadEncryption)
				if !strings.Contains(err.Error(), msgUndecrypt) {
					t.Fatalf("not the generic fault: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(wire(t, got), plain) {
				t.Fatal("plaintext differs")
			}
		})
	}
}

// TestVerifyUsesOnlyVerifiedBytes: the result is rebuilt from the digested
// bytes; changing the input tree afterwards changes nothing.
func TestVerifyUsesOnlyVerifiedBytes(t *testing.T) {
	f := loadFixtures(t)
	sp, err := Sign(message("b3JpZ2luYWw="), []Signer{f.Sender.signer()}, SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	in := mustParse(t, string(wire(t, sp)))
	v, err := Verify(in)
	if err != nil {
		t.Fatal(err)
	}
	findEl(in, ns.Message, "data").SetText("ZXZpbA==")
	if got := findEl(v.Payload, ns.Message, "data").Text(); got != "b3JpZ2luYWw=" {
		t.Fatalf("payload follows the input tree: %s", got)
	}
	doc := mustParse(t, string(v.Data))
	if !bytes.Equal(wire(t, doc.ChildElements()[0]), wire(t, v.Payload)) {
		t.Fatal("Payload is not the element of Data")
	}
	if sum := sha1.Sum(v.Data); !bytes.Equal(sum[:], v.DigestValue) {
		t.Fatal("DigestValue is not SHA-1(Data)")
	}
}

// TestVerifyEmbedded verifies a container inside a larger document, where
// the id must be unique in the whole document, not just the container.
func TestVerifyEmbedded(t *testing.T) {
	f := loadFixtures(t)
	sp, err := Sign(message("eA=="), []Signer{f.Sender.signer()}, SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	id, _ := attr(sp.SelectElement("signedPayloadData"), "id")
	inner := string(wire(t, sp))
	ok := mustParse(t, `<env xmlns="urn:env"><body>`+inner+`</body></env>`)
	if _, err := Verify(findEl(ok, ns.SignedPayload, "signedPayload")); err != nil {
		t.Fatalf("embedded: %v", err)
	}
	bad := mustParse(t, `<env xmlns="urn:env"><hdr ID="`+id+`"/><body>`+inner+`</body></env>`)
	_, err = Verify(findEl(bad, ns.SignedPayload, "signedPayload"))
	wantCode(t, err, fault.BadSignature)
}

func TestWrongRootElements(t *testing.T) {
	f := loadFixtures(t)
	_, err := Verify(nil)
	wantCode(t, err, fault.BadlyFormedMsg)
	_, err = Verify(message("eA=="))
	wantCode(t, err, fault.BadlyFormedMsg)
	_, err = Decrypt(nil, f.Recipient.pair())
	wantCode(t, err, fault.BadlyFormedMsg)
	ep := mustParse(t, string(mustReadCorpus(t, "ok__valid-sha1.xml")))
	_, err = Decrypt(ep, nil)
	wantCode(t, err, fault.BadEncryption)
	if !strings.Contains(err.Error(), msgNoKey) {
		t.Fatalf("want %q: %v", msgNoKey, err)
	}
}

func mustReadCorpus(t *testing.T, name string) []byte {
	t.Helper()
	b, err := readFile("testdata/corpus/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
