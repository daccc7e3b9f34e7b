package smd_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/opensmd/portal/internal/smd"
	"github.com/opensmd/portal/internal/smd/fault"
	"github.com/opensmd/portal/internal/smd/ns"
	"github.com/opensmd/portal/internal/smd/pki"
	"github.com/opensmd/portal/internal/smd/wire"
	"github.com/opensmd/portal/internal/smd/xspp"
)

const (
	gpURI     = ns.QualifierHPIO + "8003620000000013"
	physioURI = ns.QualifierHPIO + "8003620000000021"
)

type party struct {
	cert *x509.Certificate
	key  *rsa.PrivateKey
}

type fixture struct {
	ca       *pki.CA
	gp       party
	physio   party
	verifier *pki.Verifier
}

func newFixture(t testing.TB) fixture {
	t.Helper()
	ca, err := pki.NewCA("TEST smd CA", pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	issue := func(uri, name string) party {
		c, k, err := ca.Issue(pki.Request{OrgURI: uri, Name: name, Usage: pki.UsageAll}, pki.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return party{c, k}
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	return fixture{ca: ca, gp: issue(gpURI, "GP"), physio: issue(physioURI, "Physio"), verifier: &pki.Verifier{Roots: roots}}
}

func meta(now time.Time) wire.MessageMetadata {
	return wire.MessageMetadata{CreationTime: now, ExpiryTime: now.Add(48 * time.Hour), InvocationID: wire.NewInvocationID(nil),
		ReceiverOrganisation: physioURI, SenderOrganisation: gpURI,
		ServiceCategory: "http://ns.hl7.org.au/hl7v2/profiles/HL7AU-OO-REF-SIMPLIFIED-201706", ServiceInterface: ns.IntfSMD}
}

func (f fixture) seal(t testing.TB, payload *etree.Element, recipients ...*x509.Certificate) wire.SealedMessage {
	t.Helper()
	sm, err := smd.Seal(meta(time.Now()), payload, smd.SealOptions{
		Signers: []xspp.Signer{{Key: f.gp.key, Cert: f.gp.cert}}, Recipients: recipients})
	if err != nil {
		t.Fatal(err)
	}
	return sm
}

// reparse serialises sm as the wire would carry it and parses it back.
func reparse(t testing.TB, sm wire.SealedMessage) wire.SealedMessage {
	t.Helper()
	b, err := smd.Marshal(sm)
	if err != nil {
		t.Fatal(err)
	}
	out, err := smd.Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestOpen_WrappedBytesRoundTripWithDigest(t *testing.T) {
	f := newFixture(t)
	payload := []byte("MSH|^~\\&|GP|GPFAC|PHYSIO|PHYFAC|20261124||REF^I12|1|P|2.4\r")
	sm := reparse(t, f.seal(t, smd.WrapBytes(payload), f.physio.cert))
	got, err := smd.Open(sm, smd.OpenOptions{Keys: []xspp.KeyPair{{Cert: f.physio.cert, Key: f.physio.key}}, Trust: f.verifier})
	if err != nil {
		t.Fatal(err)
	}
	if !got.Wrapped || !bytes.Equal(got.Payload, payload) {
		t.Fatalf("payload %q wrapped=%v", got.Payload, got.Wrapped)
	}
	if len(got.DigestValue) != 20 || got.Signers[0].Equal(f.gp.cert) == false {
		t.Fatalf("digest %d bytes, signer %v", len(got.DigestValue), got.Signers[0].Subject)
	}
	// The transport response proves the receiver opened exactly this payload.
	tr := wire.NewTransportResponse(got.Metadata, physioURI, wire.ResponseClass("Success"), "urn:test:ok", "delivered", got.DigestValue, true, time.Now(), wire.NewInvocationID(nil))
	if tr.Metadata.InvocationID != sm.Metadata.InvocationID || !bytes.Equal(tr.DeliveryResponse.DigestValue, got.DigestValue) {
		t.Fatalf("transport response does not correlate: %+v", tr.Metadata)
	}
}

func TestOpen_XMLPayloadAndDefaultNamespaceWrapper(t *testing.T) {
	f := newFixture(t)
	keys := []xspp.KeyPair{{Cert: f.physio.cert, Key: f.physio.key}}
	doc := etree.NewDocument()
	if err := doc.ReadFromString(`<ClinicalDocument xmlns="urn:hl7-org:v3"><title>Letter</title></ClinicalDocument>`); err != nil {
		t.Fatal(err)
	}
	got, err := smd.Open(reparse(t, f.seal(t, doc.Root(), f.physio.cert)), smd.OpenOptions{Keys: keys, Trust: f.verifier})
	if err != nil || got.Wrapped || !bytes.Contains(got.Payload, []byte("<title>Letter</title>")) {
		t.Fatalf("xml payload: %v wrapped=%v %s", err, got != nil && got.Wrapped, got.Payload)
	}
	doc = etree.NewDocument()
	if err := doc.ReadFromString(`<message xmlns="` + ns.Message + `"><data>aGVsbG8=</data></message>`); err != nil {
		t.Fatal(err)
	}
	got, err = smd.Open(reparse(t, f.seal(t, doc.Root(), f.physio.cert)), smd.OpenOptions{Keys: keys, Trust: f.verifier})
	if err != nil || !got.Wrapped || string(got.Payload) != "hello" {
		t.Fatalf("default-namespace wrapper: %v %q", err, got.Payload)
	}
}

func TestOpen_RolloverAcceptsOldAndNewKeys(t *testing.T) {
	f := newFixture(t)
	newCert, newKey, err := f.ca.Issue(pki.Request{OrgURI: physioURI, Name: "Physio 2027", Usage: pki.UsageAll}, pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	keys := []xspp.KeyPair{{Cert: newCert, Key: newKey}, {Cert: f.physio.cert, Key: f.physio.key}}
	for name, cert := range map[string]*x509.Certificate{"old": f.physio.cert, "new": newCert} {
		if _, err := smd.Open(reparse(t, f.seal(t, smd.WrapBytes([]byte(name)), cert)), smd.OpenOptions{Keys: keys, Trust: f.verifier}); err != nil {
			t.Errorf("sealed to the %s certificate: %v", name, err)
		}
	}
}

func TestOpen_Refusals(t *testing.T) {
	f := newFixture(t)
	keys := []xspp.KeyPair{{Cert: f.physio.cert, Key: f.physio.key}}
	other, err := pki.NewCA("TEST other CA", pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	otherRoots := x509.NewCertPool()
	otherRoots.AddCert(other.Cert)
	sm := f.seal(t, smd.WrapBytes([]byte("x")), f.physio.cert)
	spoofed := sm
	spoofed.Metadata.SenderOrganisation = physioURI
	cases := []struct {
		name string
		sm   wire.SealedMessage
		o    smd.OpenOptions
		want fault.Code
	}{
		{"UntrustedCA", sm, smd.OpenOptions{Keys: keys, Trust: &pki.Verifier{Roots: otherRoots}}, fault.BadCertificateTransmitted},
		{"SenderNotInSAN", spoofed, smd.OpenOptions{Keys: keys, Trust: f.verifier}, fault.NotAuthorised},
		{"WrongKey", sm, smd.OpenOptions{Keys: []xspp.KeyPair{{Cert: f.gp.cert, Key: f.gp.key}}, Trust: f.verifier}, fault.BadEncryption},
		{"NoPayload", wire.SealedMessage{Metadata: sm.Metadata}, smd.OpenOptions{Keys: keys, Trust: f.verifier}, fault.BadlyFormedMsg},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := smd.Open(c.sm, c.o)
			if code, _ := fault.CodeOf(err); code != c.want {
				t.Fatalf("got %v (%v), want %s", code, err, c.want)
			}
		})
	}
}

func TestCheckExpiry(t *testing.T) {
	now := time.Now()
	m := meta(now)
	if err := smd.CheckExpiry(m, now); err != nil {
		t.Fatal(err)
	}
	if code, _ := fault.CodeOf(smd.CheckExpiry(m, now.Add(49*time.Hour))); code != fault.BadTimestamp {
		t.Fatalf("expired: %v", code)
	}
	m.ExpiryTime = time.Time{}
	if err := smd.CheckExpiry(m, now.Add(1000*time.Hour)); err != nil {
		t.Fatal("absent expiryTime expired")
	}
}

// BenchmarkSealOpen measures a whole message: wrap, sign, encrypt,
// serialise, parse, decrypt, verify, unwrap.
func BenchmarkSealOpen(b *testing.B) {
	f := newFixture(b)
	keys := []xspp.KeyPair{{Cert: f.physio.cert, Key: f.physio.key}}
	for _, size := range []int{10 << 10, 100 << 10, 1 << 20, 10 << 20} {
		payload := make([]byte, size)
		if _, err := rand.Read(payload); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%dKB", size>>10), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				sm := reparse(b, f.seal(b, smd.WrapBytes(payload), f.physio.cert))
				got, err := smd.Open(sm, smd.OpenOptions{Keys: keys, Trust: f.verifier})
				if err != nil || len(got.Payload) != size {
					b.Fatal(err)
				}
			}
		})
	}
}

// The digest SealDigest reports is the one the receiver's Open computes,
// so a Success transport response can be checked against it.
func TestSealDigest_MatchesOpened(t *testing.T) {
	f := newFixture(t)
	sm, digest, err := smd.SealDigest(meta(time.Now()), smd.WrapBytes([]byte("report")), smd.SealOptions{
		Signers: []xspp.Signer{{Key: f.gp.key, Cert: f.gp.cert}}, Recipients: []*x509.Certificate{f.physio.cert}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := smd.Open(reparse(t, sm), smd.OpenOptions{Keys: []xspp.KeyPair{{Cert: f.physio.cert, Key: f.physio.key}}, Trust: f.verifier})
	if err != nil {
		t.Fatal(err)
	}
	if len(digest) != 20 || !bytes.Equal(digest, got.DigestValue) {
		t.Fatalf("SealDigest digest %x, opened %x", digest, got.DigestValue)
	}
}
