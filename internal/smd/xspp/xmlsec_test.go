package xspp

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/opensmd/portal/internal/smd/ns"
	"github.com/opensmd/portal/internal/smd/pki"
)

// xmlsec1 (Debian 1.2.37, libxml2 + OpenSSL) is the independent
// implementation our containers must interoperate with in both directions.
//
// How xmlsec1 is pointed at SMD's layout:
//   - Signatures: sp:signedPayloadData/@id is xsd:string, not xsd:ID, so it
//     is registered with --id-attr:id <sp-ns>:signedPayloadData; with
//     several signatures, --node-xpath picks the one to sign or verify.
//   - Decryption: xmlsec1 only looks for the session key inside
//     EncryptedData/ds:KeyInfo, while XSPP puts the EncryptedKey beside it
//     in ep:keys. The test copies the recipient's EncryptedKey element,
//     byte for byte, into a ds:KeyInfo after EncryptedData's
//     EncryptionMethod; every other byte (CipherValues included) is our
//     output unchanged.
//   - Encryption: xmlsec1 encrypts from an EncryptedData template whose
//     KeyInfo holds an rsa-1_5 (or OAEP) EncryptedKey template; the test
//     then moves that EncryptedKey into ep:keys, as an SMD sender would.

const idAttrNode = ns.SignedPayload + ":signedPayloadData"

// xmlsecEnv holds PEM files written with package pki in a temp dir.
type xmlsecEnv struct {
	bin, dir string
	f        *fixtures
}

func newXmlsecEnv(t *testing.T) *xmlsecEnv {
	e := &xmlsecEnv{bin: requireTool(t, "xmlsec1"), dir: t.TempDir(), f: loadFixtures(t)}
	for name, id := range map[string]identity{
		"ca": e.f.CA, "sender": e.f.Sender, "sender2": e.f.Sender2,
		"recipient": e.f.Recipient, "recipient2": e.f.Recipient2,
	} {
		if err := pki.WriteFiles(e.path(name+".pem"), e.path(name+".key.pem"), id.Cert, id.Key); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func (e *xmlsecEnv) path(name string) string { return filepath.Join(e.dir, name) }

func (e *xmlsecEnv) write(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := e.path(name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// run executes xmlsec1 and returns its combined output.
func (e *xmlsecEnv) run(args ...string) (string, error) {
	out, err := exec.Command(e.bin, args...).CombinedOutput()
	return string(out), err
}

// verify runs xmlsec1 --verify on file, checking the n-th signature (1-based).
func (e *xmlsecEnv) verify(file string, n int) (string, error) {
	return e.run("--verify", "--id-attr:id", idAttrNode, "--trusted-pem", e.path("ca.pem"),
		"--node-xpath", fmt.Sprintf("(//*[local-name()='Signature'])[%d]", n), file)
}

// richPayloads exercise c14n through the signature: namespaces inherited
// and rebound, escaping, whitespace, non-ASCII, PIs.
func richPayloads(t *testing.T) map[string]*etree.Element {
	out := map[string]*etree.Element{"Message": message(benchPayload(3000))}
	for _, name := range []string{"namespaces", "escaping", "xmlattrs"} {
		b, err := os.ReadFile(filepath.Join("..", "safexml", "testdata", "c14n", name+".xml"))
		if err != nil {
			t.Fatal(err)
		}
		out[name] = mustParse(t, string(b))
	}
	return out
}

func TestXmlsecVerifiesOurSignature(t *testing.T) {
	e := newXmlsecEnv(t)
	sha256 := Signer{Key: e.f.Sender2.Key, Cert: e.f.Sender2.Cert, Hash: crypto.SHA256}
	for name, payload := range richPayloads(t) {
		t.Run(name, func(t *testing.T) {
			sp, err := Sign(payload, []Signer{e.f.Sender.signer(), sha256}, SignOptions{})
			if err != nil {
				t.Fatal(err)
			}
			file := e.write(t, "signed.xml", wire(t, sp))
			for n := 1; n <= 2; n++ {
				if out, err := e.verify(file, n); err != nil || !strings.Contains(out, "OK") {
					t.Fatalf("xmlsec1 rejects signature %d: %v\n%s", n, err, out)
				}
			}
			// Negative control: the same check must fail once the data changes.
			tampered := bytes.Replace(wire(t, sp), []byte("</sp:signedPayloadData>"), []byte(" </sp:signedPayloadData>"), 1)
			if out, err := e.verify(e.write(t, "tampered.xml", tampered), 1); err == nil {
				t.Fatalf("xmlsec1 accepted tampered data:\n%s", out)
			}
		})
	}
}

// inlineKey copies the n-th EncryptedKey of our wire bytes into
// EncryptedData/ds:KeyInfo, where xmlsec1 looks for it.
func inlineKey(t *testing.T, b []byte, n int) []byte {
	t.Helper()
	s := string(b)
	start := 0
	for range n {
		i := strings.Index(s[start:], "<xenc:EncryptedKey")
		if i < 0 {
			t.Fatalf("EncryptedKey %d not found", n)
		}
		start += i + 1
	}
	start--
	end := strings.Index(s[start:], "</xenc:EncryptedKey>") + start + len("</xenc:EncryptedKey>")
	ek := s[start:end]
	ed := strings.Index(s, "<xenc:EncryptedData")
	at := strings.Index(s[ed:], "</xenc:EncryptionMethod>") + ed + len("</xenc:EncryptionMethod>")
	return []byte(s[:at] + `<ds:KeyInfo xmlns:ds="` + ns.DSig + `">` + ek + `</ds:KeyInfo>` + s[at:])
}

func TestXmlsecDecryptsOurEncryption(t *testing.T) {
	e := newXmlsecEnv(t)
	recipients := []*x509.Certificate{e.f.Recipient.Cert, e.f.Recipient2.Cert}
	for _, alg := range []string{AlgAES256CBC, AlgAES128CBC, AlgAES256GCM} {
		sp, err := Sign(message(benchPayload(5000)), []Signer{e.f.Sender.signer()}, SignOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ep, err := Encrypt(sp, recipients, EncryptOptions{DataAlgorithm: alg})
		if err != nil {
			t.Fatal(err)
		}
		ours := wire(t, ep)
		for n, name := range []string{"recipient", "recipient2"} {
			t.Run(alg[strings.Index(alg, "#")+1:]+"/"+name, func(t *testing.T) {
				in := e.write(t, "enc.xml", inlineKey(t, ours, n+1))
				outFile := e.path("dec.xml")
				if out, err := e.run("--decrypt", "--privkey-pem", e.path(name+".key.pem"), "--output", outFile, in); err != nil {
					t.Fatalf("xmlsec1 --decrypt: %v\n%s", err, out)
				}
				if out, err := e.verify(outFile, 1); err != nil || !strings.Contains(out, "OK") {
					t.Fatalf("xmlsec1 rejects the signature after decryption: %v\n%s", err, out)
				}
				dec, err := os.ReadFile(outFile)
				if err != nil {
					t.Fatal(err)
				}
				theirs := mustParse(t, string(dec)).FindElement("//signedPayload")
				keys := []KeyPair{e.f.Recipient.keyPair(), e.f.Recipient2.keyPair()}
				mine, err := Decrypt(mustParse(t, string(ours)), keys[n:n+1])
				if err != nil {
					t.Fatal(err)
				}
				if a, b := wire(t, theirs), wire(t, mine); !bytes.Equal(a, b) {
					t.Fatalf("xmlsec1 plaintext differs from ours:\n%s\n%s", a, b)
				}
			})
		}
	}
}

// signTemplate is an XSPP container with empty ds:Signature templates.
func signTemplate(payload string, hashes ...crypto.Hash) string {
	var sigs strings.Builder
	for _, h := range hashes {
		sig, dig, _ := signURIs(h)
		fmt.Fprintf(&sigs, `
    <ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
      <ds:SignedInfo>
        <ds:CanonicalizationMethod Algorithm="%s"/>
        <ds:SignatureMethod Algorithm="%s"/>
        <ds:Reference URI="#Id_6b1d1bd6-3c7e-4a2e-9a53-2b0f3f1c0001">
          <ds:Transforms><ds:Transform Algorithm="%s"/></ds:Transforms>
          <ds:DigestMethod Algorithm="%s"/>
          <ds:DigestValue/>
        </ds:Reference>
      </ds:SignedInfo>
      <ds:SignatureValue/>
      <ds:KeyInfo><ds:X509Data><ds:X509Certificate/></ds:X509Data></ds:KeyInfo>
    </ds:Signature>`, AlgExcC14N, sig, AlgExcC14N, dig)
	}
	return `<?xml version="1.0" encoding="UTF-8"?>
<sp:signedPayload xmlns:sp="` + ns.SignedPayload + `" xmlns="urn:inherited-default">
  <sp:signatures>` + sigs.String() + `
  </sp:signatures>
  <sp:signedPayloadData id="Id_6b1d1bd6-3c7e-4a2e-9a53-2b0f3f1c0001">` + payload + `</sp:signedPayloadData>
</sp:signedPayload>
`
}

const richXML = `
    <hl7:ORU xmlns:hl7="urn:hl7-org:v2xml" xmlns:unused="urn:x" b="2" a="1&#10;x	y">
      <hl7:MSH a:x="y" xmlns:a="urn:a">text &amp; &lt; &gt; "q" 'a' é 𝄞 &#13;</hl7:MSH>
      <!-- comment -->
      <inner xmlns="">no namespace</inner><dflt>inherited default namespace</dflt>
      <![CDATA[ <cdata> & ]]>
      <?pi data?>
    </hl7:ORU>
  `

// xmlsecSign signs the n signatures of a template with xmlsec1, in turn.
func (e *xmlsecEnv) xmlsecSign(t *testing.T, tmpl string, keys []string) []byte {
	t.Helper()
	file := e.write(t, "tmpl.xml", []byte(tmpl))
	for i, k := range keys {
		out, err := e.run("--sign", "--privkey-pem", e.path(k+".key.pem")+","+e.path(k+".pem"),
			"--id-attr:id", idAttrNode, "--node-xpath", fmt.Sprintf("(//*[local-name()='Signature'])[%d]", i+1),
			"--output", file, file)
		if err != nil {
			t.Fatalf("xmlsec1 --sign: %v\n%s", err, out)
		}
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVerifyXmlsecSigned(t *testing.T) {
	e := newXmlsecEnv(t)
	msg := string(wire(t, message(benchPayload(2000))))
	tests := []struct {
		name    string
		payload string
		hashes  []crypto.Hash
		keys    []string
	}{
		{"SHA1", richXML, []crypto.Hash{crypto.SHA1}, []string{"sender"}},
		{"SHA256", richXML, []crypto.Hash{crypto.SHA256}, []string{"sender"}},
		{"TwoSigners", richXML, []crypto.Hash{crypto.SHA1, crypto.SHA256}, []string{"sender", "sender2"}},
		{"Message", msg, []crypto.Hash{crypto.SHA1}, []string{"sender"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			signed := e.xmlsecSign(t, signTemplate(tt.payload, tt.hashes...), tt.keys)
			v, err := Verify(mustParse(t, string(signed)))
			if err != nil {
				t.Fatalf("Verify: %v\n%s", err, signed)
			}
			if len(v.Signers) != len(tt.keys) {
				t.Fatalf("%d signers", len(v.Signers))
			}
			// Tampering with the xmlsec1 output must break our verification.
			bad := strings.Replace(string(signed), "</sp:signedPayloadData>", "<!---->x</sp:signedPayloadData>", 1)
			if _, err := Verify(mustParse(t, bad)); err == nil {
				t.Fatal("tampered xmlsec1 signature verified")
			}
		})
	}
}

// encTemplate is an EncryptedData template with an EncryptedKey template.
func encTemplate(dataAlg, keyAlg string) string {
	keyMethod := `<xenc:EncryptionMethod Algorithm="` + keyAlg + `"/>`
	if keyAlg == AlgRSAOAEPMGF1P {
		keyMethod = `<xenc:EncryptionMethod Algorithm="` + keyAlg + `"><ds:DigestMethod Algorithm="` + AlgSHA1 + `"/></xenc:EncryptionMethod>`
	}
	return `<?xml version="1.0" encoding="UTF-8"?>
<xenc:EncryptedData xmlns:xenc="` + ns.XEnc + `" Id="_ed1" Type="` + TypeElement + `">
  <xenc:EncryptionMethod Algorithm="` + dataAlg + `"/>
  <ds:KeyInfo xmlns:ds="` + ns.DSig + `">
    <xenc:EncryptedKey>
      ` + keyMethod + `
      <ds:KeyInfo><ds:X509Data><ds:X509SKI/></ds:X509Data></ds:KeyInfo>
      <xenc:CipherData><xenc:CipherValue/></xenc:CipherData>
      <xenc:ReferenceList><xenc:DataReference URI="#_ed1"/></xenc:ReferenceList>
    </xenc:EncryptedKey>
  </ds:KeyInfo>
  <xenc:CipherData><xenc:CipherValue/></xenc:CipherData>
</xenc:EncryptedData>
`
}

// toSMDLayout moves the EncryptedKey out of an xmlsec1 EncryptedData into
// ep:keys and wraps both in ep:encryptedPayload.
func toSMDLayout(t *testing.T, ed *etree.Element) *etree.Element {
	t.Helper()
	ki := ed.SelectElement("KeyInfo")
	ek := detach(ki.SelectElement("EncryptedKey"))
	ed.RemoveChild(ki)
	ep := etree.NewElement("ep:encryptedPayload")
	ep.CreateAttr("xmlns:ep", ns.EncryptedPayload)
	ep.CreateElement("ep:keys").AddChild(ek)
	ep.CreateElement("ep:encryptedPayloadData").AddChild(detach(ed))
	return ep
}

func TestDecryptXmlsecEncrypted(t *testing.T) {
	e := newXmlsecEnv(t)
	signed := e.xmlsecSign(t, signTemplate(richXML, crypto.SHA1), []string{"sender"})
	data := e.write(t, "signed.xml", signed)
	tests := []struct{ name, dataAlg, keyAlg string }{
		{"AES256CBC_RSA15", AlgAES256CBC, AlgRSA15},
		{"AES128CBC_RSA15", AlgAES128CBC, AlgRSA15},
		{"AES192CBC_OAEP", AlgAES192CBC, AlgRSAOAEPMGF1P},
		{"AES256GCM_RSA15", AlgAES256GCM, AlgRSA15},
		{"AES128GCM_OAEP", AlgAES128GCM, AlgRSAOAEPMGF1P},
	}
	sessionKey := map[string]string{
		AlgAES128CBC: "aes-128", AlgAES192CBC: "aes-192", AlgAES256CBC: "aes-256",
		AlgAES128GCM: "aes-128", AlgAES256GCM: "aes-256",
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl := e.write(t, "enc-tmpl.xml", []byte(encTemplate(tt.dataAlg, tt.keyAlg)))
			outFile := e.path("enc.xml")
			out, err := e.run("--encrypt", "--pubkey-cert-pem", e.path("recipient.pem"),
				"--session-key", sessionKey[tt.dataAlg], "--xml-data", data,
				"--node-name", ns.SignedPayload+":signedPayload", "--output", outFile, tmpl)
			if err != nil {
				t.Fatalf("xmlsec1 --encrypt: %v\n%s", err, out)
			}
			enc, err := os.ReadFile(outFile)
			if err != nil {
				t.Fatal(err)
			}
			ep := toSMDLayout(t, mustParse(t, string(enc)))
			sp, err := Decrypt(mustParse(t, string(wire(t, ep))), e.f.Recipient.pair())
			if err != nil {
				t.Fatalf("Decrypt: %v\n%s", err, enc)
			}
			if _, err := Verify(sp); err != nil {
				t.Fatalf("Verify after decrypt: %v", err)
			}
			if _, err := Decrypt(ep, e.f.Recipient2.pair()); err == nil {
				t.Fatal("decrypted with another recipient's key")
			}
		})
	}
}
