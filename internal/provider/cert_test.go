package provider_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/opensmd/portal/internal/hi"
	"github.com/opensmd/portal/internal/provider"
	"github.com/opensmd/portal/internal/smd/pki"
	"github.com/opensmd/portal/internal/store"
)

const p12Password = "correct horse battery"

func makeP12(t *testing.T, key *rsa.PrivateKey, cert *x509.Certificate, cas ...*x509.Certificate) []byte {
	t.Helper()
	b, err := pkcs12.Modern2023.Encode(key, cert, cas, p12Password)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// gpOrg creates the GP organisation (HPI-O of gpURI) with no certificate
// and trusts the fixture CA.
func gpOrg(t *testing.T, st *store.Store) store.Organisation {
	t.Helper()
	f := certs(t)
	hpio, err := provider.HPIOFromURI(gpURI)
	if err != nil {
		t.Fatal(err)
	}
	org, err := st.CreateOrganisation(context.Background(), "Greenfield GP", hpio)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provider.AddTrustAnchor(context.Background(), st, f.caPEM); err != nil {
		t.Fatal(err)
	}
	return org
}

func issue(t *testing.T, ca *pki.CA, req pki.Request) (*x509.Certificate, *rsa.PrivateKey) {
	t.Helper()
	c, k, err := ca.Issue(req, pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c, k
}

// Each bad PKCS#12 upload is refused with its own reason and writes
// nothing; a good one imports, audited, and its key reaches the keyring.
func TestImportPKCS12(t *testing.T) {
	t.Parallel()
	f := certs(t)
	st, db := newStore(t)
	ctx := context.Background()
	org := gpOrg(t, st)
	expired, expiredKey := issue(t, f.ca, pki.Request{OrgURI: gpURI, Name: "GP old", Usage: pki.UsageAll,
		NotBefore: time.Now().Add(-400 * 24 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)})
	untrusted, untrustedKey := issue(t, f.ca2, pki.Request{OrgURI: gpURI, Name: "GP other CA", Usage: pki.UsageAll})

	tests := []struct {
		name, password, reason, field, msg string
		p12                                []byte
	}{
		{"wrong password", "not it", provider.ReasonPassword, "password", "password does not open", makeP12(t, f.gp.key, f.gp.cert)},
		{"not PKCS#12", p12Password, provider.ReasonFormat, "file", "not a PKCS#12", []byte("hello")},
		{"empty", p12Password, provider.ReasonFormat, "file", "Choose the PKCS#12", nil},
		{"other HPI-O", p12Password, provider.ReasonHPIO, "file", "must name HPI-O 8003620000000013", makeP12(t, f.physio.key, f.physio.cert)},
		{"expired", p12Password, provider.ReasonValidity, "file", "expired on", makeP12(t, expiredKey, expired)},
		{"signing only", p12Password, provider.ReasonUsage, "file", "keyEncipherment", makeP12(t, f.gpSign.key, f.gpSign.cert)},
		{"key mismatch", p12Password, provider.ReasonKeyMismatch, "file", "does not belong", makeP12(t, f.physio.key, f.gp.cert)},
		{"untrusted chain", p12Password, provider.ReasonUntrusted, "file", "not issued by a trusted", makeP12(t, untrustedKey, untrusted)},
	}
	for _, tt := range tests {
		_, err := provider.ImportPKCS12(ctx, st, master, org, tt.p12, tt.password, provider.ImportOptions{})
		var ce *provider.CertError
		if !errors.As(err, &ce) || ce.Reason != tt.reason || ce.Field != tt.field || !strings.Contains(ce.Msg, tt.msg) {
			t.Errorf("%s: got %#v (%v), want reason %s field %s containing %q", tt.name, ce, err, tt.reason, tt.field, tt.msg)
		}
		if ce != nil && strings.Contains(ce.Msg, p12Password) {
			t.Errorf("%s: the message shows the password", tt.name)
		}
	}
	if n := count(t, db, "org_keys"); n != 0 {
		t.Fatalf("refused imports stored %d keys", n)
	}

	k, err := provider.ImportPKCS12(ctx, st, master, org, makeP12(t, f.gp.key, f.gp.cert), p12Password,
		provider.ImportOptions{By: provider.Actor{OrganisationID: org.ID, IP: "192.0.2.7"}})
	if err != nil {
		t.Fatalf("good import: %v", err)
	}
	_, err = provider.ImportPKCS12(ctx, st, master, org, makeP12(t, f.gp.key, f.gp.cert), p12Password, provider.ImportOptions{})
	if ce := (*provider.CertError)(nil); !errors.As(err, &ce) || ce.Reason != provider.ReasonDuplicate {
		t.Fatalf("second import of the same certificate: %v", err)
	}
	kr := load(t, st)
	s, err := kr.Signer(org.ID, time.Now())
	if err != nil || !s.Cert.Equal(f.gp.cert) || !s.Key.PublicKey.Equal(&f.gp.key.PublicKey) {
		t.Fatalf("signer after import: %v", err)
	}
	events, err := st.FilterAuditEvents(ctx, store.AuditFilter{OrganisationID: org.ID, ActionPrefix: "certificate."})
	if err != nil || len(events) != 1 || events[0].Action != provider.AuditCertImported ||
		events[0].Detail["key_id"] != k.ID || events[0].IP != "192.0.2.7" || events[0].Detail["source"] != "pkcs12" {
		t.Fatalf("audit: %+v %v", events, err)
	}
	for _, e := range events {
		for _, v := range e.Detail {
			if strings.Contains(v, p12Password) || strings.Contains(v, "PRIVATE") {
				t.Fatalf("audit detail holds secret material: %q", v)
			}
		}
	}
}

// An intermediate CA delivered in the PKCS#12 file completes the chain and
// is kept to show it.
func TestImportPKCS12_Intermediate(t *testing.T) {
	t.Parallel()
	f := certs(t)
	st, _ := newStore(t)
	ctx := context.Background()
	org := gpOrg(t, st)
	inter := intermediateCA(t, f.ca)
	leaf, key := issue(t, inter, pki.Request{OrgURI: gpURI, Name: "GP via intermediate", Usage: pki.UsageAll})
	if _, err := provider.ImportPKCS12(ctx, st, master, org, makeP12(t, key, leaf), p12Password, provider.ImportOptions{}); err == nil {
		t.Fatal("imported without its intermediate")
	}
	k, err := provider.ImportPKCS12(ctx, st, master, org, makeP12(t, key, leaf, inter.Cert), p12Password, provider.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	info, err := provider.OrgCertificate(ctx, st, org.ID, k.ID, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Chain) != 3 || !info.Chain[2].Anchor || info.Chain[1].Subject != inter.Cert.Subject.String() || info.ChainError != "" {
		t.Fatalf("chain: %+v %q", info.Chain, info.ChainError)
	}
	if info.Status != provider.StatusActive || info.SKI == "" || len(info.URIs) != 1 || info.URIs[0] != gpURI {
		t.Fatalf("details: %+v", info)
	}
}

func intermediateCA(t *testing.T, root *pki.CA) *pki.CA {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: root.Cert.Subject,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true}
	tmpl.Subject.CommonName = "TEST Intermediate CA"
	der, err := x509.CreateCertificate(rand.Reader, tmpl, root.Cert, &key.PublicKey, root.Key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &pki.CA{Cert: c, Key: key}
}

// Rollover: a second certificate scheduled an hour ahead. Until then the
// old one signs and is published; after, the new one; both decrypt
// throughout. Retiring refuses the only valid certificate.
func TestRollover_ScheduleAndRetire(t *testing.T) {
	t.Parallel()
	f := certs(t)
	st, _ := newStore(t)
	ctx := context.Background()
	org := gpOrg(t, st)
	old, err := provider.ImportPKCS12(ctx, st, master, org, makeP12(t, f.gp.key, f.gp.cert), p12Password, provider.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := provider.RetireCertificate(ctx, st, org, old.ID, now, provider.Actor{}); !isReason(err, provider.ReasonOnlyValid) {
		t.Fatalf("retire the only certificate: %v", err)
	}
	nextCert, nextKey := issue(t, f.ca, pki.Request{OrgURI: gpURI, Name: "GP 2027", Usage: pki.UsageAll})
	switchAt := now.Add(time.Hour)
	next, err := provider.ImportPKCS12(ctx, st, master, org, makeP12(t, nextKey, nextCert), p12Password,
		provider.ImportOptions{ActiveFrom: switchAt})
	if err != nil {
		t.Fatal(err)
	}
	kr := load(t, st)
	for _, c := range []struct {
		at   time.Time
		want *x509.Certificate
	}{{now, f.gp.cert}, {switchAt.Add(-time.Second), f.gp.cert}, {switchAt.Add(time.Second), nextCert}} {
		s, err := kr.Signer(org.ID, c.at)
		if err != nil || !s.Cert.Equal(c.want) {
			t.Errorf("signer (the published certificate) at %v: %v, want %s", c.at.Sub(now), err, c.want.Subject)
		}
	}
	if n := len(kr.KeyPairs(org.ID)); n != 2 {
		t.Fatalf("decryption keys: %d, want both", n)
	}
	statuses := func(at time.Time) map[string]string {
		all, err := provider.OrgCertificates(ctx, st, org.ID, at)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, c := range all {
			m[c.Key.ID] = c.Status
		}
		return m
	}
	if s := statuses(now); s[old.ID] != provider.StatusActive || s[next.ID] != provider.StatusScheduled {
		t.Fatalf("before the switch: %v", s)
	}
	later := switchAt.Add(time.Minute)
	if s := statuses(later); s[old.ID] != provider.StatusPrevious || s[next.ID] != provider.StatusActive {
		t.Fatalf("after the switch: %v", s)
	}
	// Before the switch the new one is not yet usable: the old one is still
	// the only valid certificate in use.
	if err := provider.RetireCertificate(ctx, st, org, old.ID, now, provider.Actor{}); !isReason(err, provider.ReasonOnlyValid) {
		t.Fatalf("retire before the switch: %v", err)
	}
	if err := provider.RetireCertificate(ctx, st, org, old.ID, later, provider.Actor{UserID: ""}); err != nil {
		t.Fatalf("retire after the switch: %v", err)
	}
	if s := statuses(later); s[old.ID] != provider.StatusRetired {
		t.Fatalf("after retiring: %v", s)
	}
	if n := len(load(t, st).KeyPairs(org.ID)); n != 1 {
		t.Fatalf("retired key still loaded: %d keys", n)
	}
	// Another organisation cannot retire or see it.
	other, err := st.CreateOrganisation(ctx, "Other", hi.WithCheckDigit("800362000000009"))
	if err != nil {
		t.Fatal(err)
	}
	if err := provider.RetireCertificate(ctx, st, other, next.ID, later, provider.Actor{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("retire another organisation's certificate: %v", err)
	}
	if _, err := provider.OrgCertificate(ctx, st, other.ID, next.ID, later); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("see another organisation's certificate: %v", err)
	}
	if err := provider.ScheduleCertificate(ctx, st, org, next.ID, nextCert.NotAfter.Add(time.Hour), provider.Actor{}); !isReason(err, provider.ReasonActiveFrom) {
		t.Fatalf("schedule after expiry: %v", err)
	}
}

func isReason(err error, reason string) bool {
	var ce *provider.CertError
	return errors.As(err, &ce) && ce.Reason == reason
}

// The key generated for a CSR waits until the CA's certificate comes back;
// installing it matches the key by public key.
func TestCSR_Install(t *testing.T) {
	t.Parallel()
	f := certs(t)
	st, _ := newStore(t)
	ctx := context.Background()
	org := gpOrg(t, st)
	pk, csrPEM, err := provider.GenerateCSR(ctx, st, master, org, provider.Actor{})
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(csrPEM)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		t.Fatalf("CSR PEM: %q", csrPEM)
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil || csr.CheckSignature() != nil {
		t.Fatalf("CSR: %v", err)
	}
	if len(csr.URIs) != 1 || csr.URIs[0].String() != gpURI || csr.Subject.CommonName != org.Name {
		t.Fatalf("CSR names %v %q", csr.URIs, csr.Subject.CommonName)
	}
	// A certificate for another key is not matched.
	if _, err := provider.InstallCertificate(ctx, st, master, org, f.gp.certPEM, provider.ImportOptions{}); !isReason(err, provider.ReasonNoPending) {
		t.Fatalf("foreign certificate: %v", err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(42), Subject: csr.Subject, URIs: csr.URIs,
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(365 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, SubjectKeyId: []byte{1, 2, 3, 4}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, f.ca.Cert, csr.PublicKey, f.ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	k, err := provider.InstallCertificate(ctx, st, master, org, der, provider.ImportOptions{})
	if err != nil {
		t.Fatalf("install: %v", err)
	}
	if k.ID != pk.ID {
		t.Fatalf("installed under %s, want the pending key's id %s", k.ID, pk.ID)
	}
	if left, _ := st.PendingKeys(ctx, org.ID); len(left) != 0 {
		t.Fatalf("pending keys after install: %d", len(left))
	}
	s, err := load(t, st).Signer(org.ID, time.Now())
	if err != nil || s.Cert.SerialNumber.Int64() != 42 {
		t.Fatalf("signer: %v", err)
	}
}

func TestCheckExpiry(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	key := func(id string, activeFrom, notAfter time.Time) store.OrgKey {
		return store.OrgKey{ID: id, ActiveFrom: activeFrom, NotBefore: activeFrom.Add(-time.Hour), NotAfter: notAfter}
	}
	day := 24 * time.Hour
	tests := []struct {
		name string
		keys []store.OrgKey
		want string // "" for no warning
	}{
		{"none", nil, ""},
		{"far", []store.OrgKey{key("a", now.Add(-day), now.Add(60*day))}, ""},
		{"six weeks", []store.OrgKey{key("a", now.Add(-day), now.Add(42*day))}, provider.ExpiryWarning},
		{"eight days", []store.OrgKey{key("a", now.Add(-day), now.Add(8*day))}, provider.ExpiryWarning},
		{"one week", []store.OrgKey{key("a", now.Add(-day), now.Add(7*day))}, provider.ExpiryUrgent},
		{"replacement scheduled", []store.OrgKey{key("b", now.Add(day), now.Add(400*day)), key("a", now.Add(-day), now.Add(3*day))}, ""},
		{"replacement expires first", []store.OrgKey{key("b", now.Add(day), now.Add(2*day)), key("a", now.Add(-day), now.Add(3*day))}, provider.ExpiryUrgent},
	}
	for _, tt := range tests {
		e := provider.CheckExpiry(tt.keys, now)
		got := ""
		if e != nil {
			got = e.Level
		}
		if got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

// An anchor that hosted certificates chain to is removed only when
// confirmed; the removal is audited.
func TestRemoveTrustAnchor(t *testing.T) {
	t.Parallel()
	f := certs(t)
	st, _ := newStore(t)
	ctx := context.Background()
	org := gpOrg(t, st)
	if _, err := provider.ImportPKCS12(ctx, st, master, org, makeP12(t, f.gp.key, f.gp.cert), p12Password, provider.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	anchors, err := provider.TrustAnchorsFor(ctx, st, org.ID, time.Now())
	if err != nil || len(anchors) != 1 || len(anchors[0].OwnCerts) != 1 || anchors[0].OtherHosted != 0 {
		t.Fatalf("anchors: %+v %v", anchors, err)
	}
	other, err := provider.TrustAnchorsFor(ctx, st, "00000000-0000-0000-0000-000000000000", time.Now())
	if err != nil || len(other[0].OwnCerts) != 0 || other[0].OtherHosted != 1 {
		t.Fatalf("seen from another organisation: %+v %v", other, err)
	}
	id := anchors[0].Anchor.ID
	if err := provider.RemoveTrustAnchor(ctx, st, id, false, time.Now(), provider.Actor{}); !isReason(err, provider.ReasonDependents) {
		t.Fatalf("remove unconfirmed: %v", err)
	}
	if err := provider.RemoveTrustAnchor(ctx, st, id, true, time.Now(), provider.Actor{OrganisationID: org.ID}); err != nil {
		t.Fatalf("remove confirmed: %v", err)
	}
	if left, _ := st.TrustAnchors(ctx); len(left) != 0 {
		t.Fatalf("anchors left: %d", len(left))
	}
	events, _ := st.FilterAuditEvents(ctx, store.AuditFilter{OrganisationID: org.ID, ActionPrefix: provider.AuditTrustRemoved})
	if len(events) != 1 || events[0].Detail["hosted_dependents"] != "1" {
		t.Fatalf("audit: %+v", events)
	}
	if err := provider.RemoveTrustAnchor(ctx, st, id, true, time.Now(), provider.Actor{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("remove twice: %v", err)
	}
}
