package provider_test

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opensmd/portal/internal/provider"
	"github.com/opensmd/portal/internal/smd/pki"
	"github.com/opensmd/portal/internal/store"
	"github.com/opensmd/portal/internal/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

const (
	gpURI     = "http://ns.electronichealth.net.au/id/hi/hpio/1.0/8003620000000013"
	physioURI = "http://ns.electronichealth.net.au/id/hi/hpio/1.0/8003620000000021"
	refCat    = "http://ns.hl7.org.au/hl7v2/profiles/HL7AU-OO-REF-SIMPLIFIED-201706"
)

var master = []byte(strings.Repeat("m", 32))

// pair is a certificate and key in PEM, as an operator would hand them in.
type pair struct {
	cert    *x509.Certificate
	key     *rsa.PrivateKey
	certPEM []byte
	keyPEM  []byte
}

type fixture struct {
	ca, ca2  *pki.CA
	caPEM    []byte
	gp       pair // UsageAll, valid now
	gpNext   pair // UsageAll, valid from now+1h (rollover)
	gpSign   pair // signing only (no keyEncipherment)
	physio   pair
	issuedAt time.Time
}

var fixtureOnce = sync.OnceValues(newFixture)

// certs returns the test PKI, generated once per test binary (RSA key
// generation is the slow part).
func certs(t *testing.T) *fixture {
	t.Helper()
	f, err := fixtureOnce()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func newFixture() (*fixture, error) {
	f := &fixture{issuedAt: time.Now()}
	var err error
	if f.ca, err = pki.NewCA("Provider TEST CA", pki.Options{}); err != nil {
		return nil, err
	}
	if f.ca2, err = pki.NewCA("Provider TEST CA 2", pki.Options{}); err != nil {
		return nil, err
	}
	f.caPEM = pki.EncodeCertPEM(f.ca.Cert)
	reqs := []struct {
		p   *pair
		req pki.Request
	}{
		{&f.gp, pki.Request{OrgURI: gpURI, Name: "GP", Usage: pki.UsageAll}},
		{&f.gpNext, pki.Request{OrgURI: gpURI, Name: "GP next", Usage: pki.UsageAll,
			NotBefore: f.issuedAt.Add(time.Hour), NotAfter: f.issuedAt.Add(48 * time.Hour)}},
		{&f.gpSign, pki.Request{OrgURI: gpURI, Name: "GP sign", Usage: pki.UsageSign}},
		{&f.physio, pki.Request{OrgURI: physioURI, Name: "Physio", Usage: pki.UsageAll}},
	}
	for _, r := range reqs {
		c, k, err := f.ca.Issue(r.req, pki.Options{})
		if err != nil {
			return nil, err
		}
		kp, err := pki.EncodeKeyPEM(k)
		if err != nil {
			return nil, err
		}
		*r.p = pair{cert: c, key: k, certPEM: pki.EncodeCertPEM(c), keyPEM: kp}
	}
	return f, nil
}

func newStore(t *testing.T) (*store.Store, *pgxpool.Pool) {
	t.Helper()
	db := storetest.DB(t)
	return store.New(db), db
}

func addOrg(t *testing.T, st *store.Store, uri, name string, p pair) store.Organisation {
	t.Helper()
	o, err := provider.AddOrg(context.Background(), st, master, uri, name, p.certPEM, p.keyPEM)
	if err != nil {
		t.Fatalf("add org: %v", err)
	}
	return o
}

func load(t *testing.T, st *store.Store) *provider.Keyring {
	t.Helper()
	kr, err := provider.Load(context.Background(), st, master)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return kr
}

func count(t *testing.T, db *pgxpool.Pool, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestAddOrg_RoundTripThroughKeyring(t *testing.T) {
	t.Parallel()
	f := certs(t)
	st, db := newStore(t)
	ctx := context.Background()
	org := addOrg(t, st, gpURI, "Greenfield GP", f.gp)
	if org.HPIO != "8003620000000013" || org.Name != "Greenfield GP" {
		t.Fatalf("organisation %+v", org)
	}
	pairs := load(t, st).KeyPairs(org.ID)
	if len(pairs) != 1 || !pairs[0].Key.Equal(f.gp.key) || !pairs[0].Cert.Equal(f.gp.cert) {
		t.Fatalf("key pairs after load do not match what was added: %d", len(pairs))
	}

	// The sealed value holds no 32-byte run of the plain PKCS#8 DER.
	der, err := x509.MarshalPKCS8PrivateKey(f.gp.key)
	if err != nil {
		t.Fatal(err)
	}
	var enc []byte
	if err := db.QueryRow(ctx, `SELECT key_enc FROM org_keys WHERE organisation_id = $1`, org.ID).Scan(&enc); err != nil {
		t.Fatal(err)
	}
	for i := 0; i+32 <= len(der); i += 16 {
		if bytes.Contains(enc, der[i:i+32]) {
			t.Fatalf("key_enc contains plain key bytes at offset %d", i)
		}
	}

	// Audit: one event with the SKI and subject, no key material.
	events, err := st.OrgAuditEvents(ctx, org.ID, 10)
	if err != nil || len(events) != 1 || events[0].Action != "org.key_added" {
		t.Fatalf("audit events %+v %v", events, err)
	}
	if d := events[0].Detail; d["ski"] == "" || !strings.Contains(d["subject"], "GP") || strings.Contains(strings.Join(mapValues(d), " "), "PRIVATE") {
		t.Fatalf("audit detail %v", d)
	}

	// Same HPI-O again: the organisation is reused, its name unchanged; the
	// same certificate twice is refused.
	again := addOrg(t, st, gpURI, "Other name", f.gpNext)
	if again.ID != org.ID || again.Name != "Greenfield GP" {
		t.Fatalf("second add: %+v", again)
	}
	_, err = provider.AddOrg(ctx, st, master, gpURI, "GP", f.gp.certPEM, f.gp.keyPEM)
	if !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), "already stored") {
		t.Fatalf("duplicate certificate: %v", err)
	}
	if n := count(t, db, "org_keys"); n != 2 {
		t.Fatalf("%d org keys, want 2", n)
	}
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func TestKeyring_SealedKeyIsBoundToItsRow(t *testing.T) {
	t.Parallel()
	f := certs(t)
	tampers := map[string]string{
		"key moved to another row": `UPDATE org_keys SET key_enc = (SELECT key_enc FROM org_keys k JOIN organisations o ON o.id = k.organisation_id WHERE o.hpio = '8003620000000013')
			WHERE organisation_id = (SELECT id FROM organisations WHERE hpio = '8003620000000021')`,
		"row id changed": `UPDATE org_keys SET id = gen_random_uuid()
			WHERE organisation_id = (SELECT id FROM organisations WHERE hpio = '8003620000000013')`,
		"row moved to another organisation": `UPDATE org_keys SET organisation_id = (SELECT id FROM organisations WHERE hpio = '8003620000000021')
			WHERE organisation_id = (SELECT id FROM organisations WHERE hpio = '8003620000000013')`,
		"ciphertext altered": `UPDATE org_keys SET key_enc = set_byte(key_enc, 20, get_byte(key_enc, 20) # 1)
			WHERE organisation_id = (SELECT id FROM organisations WHERE hpio = '8003620000000013')`,
	}
	for name, q := range tampers {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			st, db := newStore(t)
			addOrg(t, st, gpURI, "GP", f.gp)
			addOrg(t, st, physioURI, "Physio", f.physio)
			load(t, st) // loads before tampering
			if _, err := db.Exec(context.Background(), q); err != nil {
				t.Fatal(err)
			}
			_, err := provider.Load(context.Background(), st, master)
			if err == nil || !strings.Contains(err.Error(), "cannot decrypt") {
				t.Fatalf("load after tampering: %v", err)
			}
		})
	}
	t.Run("wrong master secret", func(t *testing.T) {
		t.Parallel()
		st, _ := newStore(t)
		addOrg(t, st, gpURI, "GP", f.gp)
		if _, err := provider.Load(context.Background(), st, []byte(strings.Repeat("x", 32))); err == nil {
			t.Fatal("loaded with another master secret")
		}
	})
}

func TestKeyring_Rollover(t *testing.T) {
	t.Parallel()
	f := certs(t)
	st, db := newStore(t)
	ctx := context.Background()
	org := addOrg(t, st, gpURI, "GP", f.gp)
	addOrg(t, st, gpURI, "GP", f.gpNext) // active from its notBefore, in an hour
	kr := load(t, st)

	pairs := kr.KeyPairs(org.ID)
	if len(pairs) != 2 || !pairs[0].Key.Equal(f.gpNext.key) || !pairs[1].Key.Equal(f.gp.key) {
		t.Fatalf("key pairs: want next then current, got %d", len(pairs))
	}
	now := time.Now() // the current key became active when added
	for _, tc := range []struct {
		at   time.Time
		want pair
	}{{now, f.gp}, {now.Add(2 * time.Hour), f.gpNext}} {
		s, err := kr.Signer(org.ID, tc.at)
		if err != nil || !s.Key.Equal(tc.want.key) || !s.Cert.Equal(tc.want.cert) {
			t.Fatalf("signer at %v: %v", tc.at, err)
		}
	}
	if _, err := kr.Signer(org.ID, now.Add(-time.Hour)); !errors.Is(err, provider.ErrNoSigningKey) {
		t.Fatalf("signer before any key is valid: %v", err)
	}
	if kr.KeyPairs("no-such-org") != nil {
		t.Fatal("key pairs for an unknown organisation")
	}

	// Retiring the current key leaves only the next one, not yet valid.
	var curID string
	if err := db.QueryRow(ctx, `SELECT id FROM org_keys WHERE sha256(cert_der) = sha256($1)`, f.gp.cert.Raw).Scan(&curID); err != nil {
		t.Fatal(err)
	}
	if err := st.RetireOrgKey(ctx, org.ID, curID); err != nil {
		t.Fatal(err)
	}
	kr = load(t, st)
	if len(kr.KeyPairs(org.ID)) != 1 {
		t.Fatal("retired key still loaded")
	}
	if _, err := kr.Signer(org.ID, now); !errors.Is(err, provider.ErrNoSigningKey) {
		t.Fatalf("signer with only a future key: %v", err)
	}
}

func TestAddOrg_RejectsBadInputAndWritesNothing(t *testing.T) {
	t.Parallel()
	f := certs(t)
	cases := []struct {
		name, uri, orgName string
		cert, key          []byte
		want               string
	}{
		{"not an HPI-O URI", "urn:example:gp", "GP", f.gp.certPEM, f.gp.keyPEM, "followed by the 16-digit HPI-O"},
		{"bad check digit", strings.TrimSuffix(gpURI, "3") + "4", "GP", f.gp.certPEM, f.gp.keyPEM, "check digit"},
		{"short HPI-O", gpURI[:len(gpURI)-1], "GP", f.gp.certPEM, f.gp.keyPEM, "16 digits"},
		{"empty name", gpURI, " ", f.gp.certPEM, f.gp.keyPEM, "name is empty"},
		{"SAN names another organisation", gpURI, "GP", f.physio.certPEM, f.physio.keyPEM, "does not name " + gpURI},
		{"key of another certificate", gpURI, "GP", f.gp.certPEM, f.gpNext.keyPEM, "private key does not match"},
		{"no keyEncipherment", gpURI, "GP", f.gpSign.certPEM, f.gpSign.keyPEM, "lacks key usage keyEncipherment"},
		{"garbage key", gpURI, "GP", f.gp.certPEM, []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), "not a PEM RSA private key"},
		{"key file given as cert", gpURI, "GP", f.gp.keyPEM, f.gp.keyPEM, "no CERTIFICATE block"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st, db := newStore(t)
			_, err := provider.AddOrg(context.Background(), st, master, tc.uri, tc.orgName, tc.cert, tc.key)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "PRIVATE KEY") || strings.Contains(err.Error(), string(f.gp.keyPEM[40:80])) {
				t.Fatalf("error shows key material: %v", err)
			}
			for _, table := range []string{"organisations", "org_keys", "audit_events"} {
				if n := count(t, db, table); n != 0 {
					t.Fatalf("%d rows in %s after a refused add", n, table)
				}
			}
		})
	}
}

func TestAddTrustAnchor(t *testing.T) {
	t.Parallel()
	f := certs(t)
	st, db := newStore(t)
	ctx := context.Background()

	// Without anchors nothing is trusted.
	if err := load(t, st).Trust().CheckSigner(f.gp.cert, gpURI, time.Time{}); err == nil {
		t.Fatal("signer trusted with no anchors")
	}
	// A bundle holding a non-CA certificate is refused as a whole.
	_, err := provider.AddTrustAnchor(ctx, st, append(append([]byte{}, f.caPEM...), f.gp.certPEM...))
	if err == nil || !strings.Contains(err.Error(), "certificate 2") || !strings.Contains(err.Error(), "not a CA certificate") {
		t.Fatalf("non-CA anchor: %v", err)
	}
	if n := count(t, db, "trust_anchors"); n != 0 {
		t.Fatalf("%d anchors after a refused bundle", n)
	}
	// Two CAs in one file, then the first again: two anchors.
	both := append(append([]byte{}, f.caPEM...), pki.EncodeCertPEM(f.ca2.Cert)...)
	got, err := provider.AddTrustAnchor(ctx, st, both)
	if err != nil || len(got) != 2 {
		t.Fatalf("add two anchors: %d %v", len(got), err)
	}
	again, err := provider.AddTrustAnchor(ctx, st, f.caPEM)
	if err != nil || len(again) != 1 || again[0].ID != got[0].ID {
		t.Fatalf("re-add anchor: %+v %v", again, err)
	}
	if n := count(t, db, "trust_anchors"); n != 2 {
		t.Fatalf("%d anchors, want 2", n)
	}
	if err := load(t, st).Trust().CheckSigner(f.gp.cert, gpURI, time.Time{}); err != nil {
		t.Fatalf("signer not trusted after adding its CA: %v", err)
	}
}

func TestAddDirectoryEntry(t *testing.T) {
	t.Parallel()
	f := certs(t)
	st, db := newStore(t)
	ctx := context.Background()
	good := provider.DirectoryEntry{OrgURI: physioURI, Name: "Physio", Endpoint: "https://physio.example/smd",
		CertPEM: f.physio.certPEM, Categories: []string{refCat, refCat}}

	bad := []struct {
		name   string
		modify func(*provider.DirectoryEntry)
		want   string
	}{
		{"http endpoint", func(e *provider.DirectoryEntry) { e.Endpoint = "http://physio.example/smd" }, "must be an https:// URL"},
		{"relative org URI", func(e *provider.DirectoryEntry) { e.OrgURI = "8003620000000021" }, "not an absolute URI"},
		{"empty name", func(e *provider.DirectoryEntry) { e.Name = "" }, "name is empty"},
		{"cert without keyEncipherment", func(e *provider.DirectoryEntry) { e.CertPEM = f.gpSign.certPEM }, "lacks key usage keyEncipherment"},
		{"no cert", func(e *provider.DirectoryEntry) { e.CertPEM = nil }, "encryption certificate"},
		{"no category", func(e *provider.DirectoryEntry) { e.Categories = nil }, "at least one service category"},
		{"relative category", func(e *provider.DirectoryEntry) { e.Categories = []string{"referral"} }, "service category"},
	}
	for _, tc := range bad {
		e := good
		tc.modify(&e)
		if _, err := provider.AddDirectoryEntry(ctx, st, e); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	if n := count(t, db, "directory_entries"); n != 0 {
		t.Fatalf("%d entries after refused adds", n)
	}

	first, err := provider.AddDirectoryEntry(ctx, st, good)
	if err != nil || len(first.ServiceCategories) != 1 || !bytes.Equal(first.EncryptionCertDER, f.physio.cert.Raw) {
		t.Fatalf("add: %+v %v", first, err)
	}
	good.Name, good.Endpoint = "Physio Renamed", "https://new.physio.example/smd"
	second, err := provider.AddDirectoryEntry(ctx, st, good)
	if err != nil || second.ID != first.ID || second.Name != "Physio Renamed" || second.EndpointURL != good.Endpoint {
		t.Fatalf("upsert: %+v %v", second, err)
	}
	if n := count(t, db, "directory_entries"); n != 1 {
		t.Fatalf("%d entries, want 1", n)
	}
	var audited int
	err = db.QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE action = 'directory.entry_saved' AND detail->>'org_uri' = $1`, physioURI).Scan(&audited)
	if err != nil || audited != 2 {
		t.Fatalf("%d directory audit events, want 2 (%v)", audited, err)
	}
}
