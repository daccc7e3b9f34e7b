package mailbox

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opensmd/portal/internal/jobs/jobstest"
	"github.com/opensmd/portal/internal/pipeline"
	"github.com/opensmd/portal/internal/provider"
	"github.com/opensmd/portal/internal/smd/ns"
	"github.com/opensmd/portal/internal/smd/pki"
	"github.com/opensmd/portal/internal/store"
	"github.com/opensmd/portal/internal/store/storetest"
)

// The mailbox end to end through real SMD: two providers on loopback,
// each with its own database, listener, pipeline, River workers and
// mailbox (modelled on internal/pipeline's harness). gp and org39 are
// hosted by provider A, physio by provider B.

func TestMain(m *testing.M) { storetest.Main(m) }

var (
	gpURI     = ns.QualifierHPIO + "8003620000000013"
	physioURI = ns.QualifierHPIO + "8003620000000021"
	org39URI  = ns.QualifierHPIO + "8003620000000039"
)

// wait bounds every poll: generous for a noisy 2-core machine.
const wait = 30 * time.Second

type identity struct {
	certPEM, keyPEM []byte
	tls             tls.Certificate
}

type fixture struct {
	caPEM             []byte
	anchors           *x509.CertPool
	gp, physio, org39 identity
	tlsA, tlsB        identity
}

var fixtureOnce = sync.OnceValues(func() (*fixture, error) {
	ca, err := pki.NewCA("Mailbox Test CA", pki.Options{})
	if err != nil {
		return nil, err
	}
	f := &fixture{caPEM: pki.EncodeCertPEM(ca.Cert), anchors: x509.NewCertPool()}
	f.anchors.AddCert(ca.Cert)
	for _, r := range []struct {
		id  *identity
		req pki.Request
	}{
		{&f.gp, pki.Request{OrgURI: gpURI, Name: "GP Clinic"}},
		{&f.physio, pki.Request{OrgURI: physioURI, Name: "Physio Clinic"}},
		{&f.org39, pki.Request{OrgURI: org39URI, Name: "Dental Clinic"}},
		{&f.tlsA, pki.Request{OrgURI: "urn:opensmd:test:provider:a", Name: "Provider A", IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}},
		{&f.tlsB, pki.Request{OrgURI: "urn:opensmd:test:provider:b", Name: "Provider B", IPAddresses: []net.IP{net.ParseIP("127.0.0.2")}}},
	} {
		r.req.Usage = pki.UsageAll
		cert, key, err := ca.Issue(r.req, pki.Options{})
		if err != nil {
			return nil, err
		}
		keyPEM, err := pki.EncodeKeyPEM(key)
		if err != nil {
			return nil, err
		}
		*r.id = identity{certPEM: pki.EncodeCertPEM(cert), keyPEM: keyPEM,
			tls: tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}}
	}
	return f, nil
})

type node struct {
	name string
	st   *store.Store
	pool *pgxpool.Pool
	p    *pipeline.Pipeline
	mail *Service
	url  string
	orgs map[string]store.Organisation
}

// newNodes starts providers A (gp, org39) and B (physio), each listing
// the other's organisations in its directory.
func newNodes(t *testing.T) (a, b *node) {
	t.Helper()
	f, err := fixtureOnce()
	if err != nil {
		t.Fatal(err)
	}
	a = newNode(t, f, "A", "127.0.0.1", f.tlsA, map[string]identity{gpURI: f.gp, org39URI: f.org39})
	b = newNode(t, f, "B", "127.0.0.2", f.tlsB, map[string]identity{physioURI: f.physio})
	a.addDirectory(t, physioURI, b.url, f.physio)
	b.addDirectory(t, gpURI, a.url, f.gp)
	a.start(t)
	b.start(t)
	return a, b
}

func newNode(t *testing.T, f *fixture, name, ip string, id identity, orgs map[string]identity) *node {
	t.Helper()
	ctx := t.Context()
	pcfg, err := pgxpool.ParseConfig(storetest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	pcfg.MaxConns = 12
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	n := &node{name: name, st: store.New(pool), pool: pool, orgs: map[string]store.Organisation{}}
	master := make([]byte, 32)
	_, _ = rand.Read(master)
	if _, err := provider.AddTrustAnchor(ctx, n.st, f.caPEM); err != nil {
		t.Fatal(err)
	}
	for uri, oid := range orgs {
		org, err := provider.AddOrg(ctx, n.st, master, uri, "Clinic "+uri[len(uri)-4:], oid.certPEM, oid.keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		n.orgs[uri] = org
	}
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatalf("listen on %s: %v", ip, err)
	}
	n.url = "https://" + ln.Addr().String() + provider.EndpointPath
	n.p, err = pipeline.New(pipeline.Config{Store: n.st, Master: master, Keys: provider.NewKeyCache(n.st, master, 0),
		TLS: pipeline.ClientTLS(id.tls, f.anchors), EndpointURL: n.url, ProviderURI: "urn:opensmd:test:provider:" + strings.ToLower(name),
		MaxBytes: 1 << 20, RetryMax: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if n.mail, err = New(Config{Store: n.st, Pipeline: n.p, Master: master}); err != nil {
		t.Fatal(err)
	}
	n.p.SetDelivered(n.mail.Delivered)
	srv := httptest.NewUnstartedServer(n.p.Handler())
	_ = srv.Listener.Close()
	srv.Listener = ln
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.TLS = provider.ServerTLS(id.tls, f.anchors)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return n
}

func (n *node) start(t *testing.T) {
	t.Helper()
	n.p.SetJobs(jobstest.Start(t, n.pool, n.p.Workers()))
}

func (n *node) addDirectory(t *testing.T, orgURI, endpoint string, enc identity) {
	t.Helper()
	if _, err := provider.AddDirectoryEntry(t.Context(), n.st, provider.DirectoryEntry{
		OrgURI: orgURI, Name: "Directory " + orgURI[len(orgURI)-4:], Endpoint: endpoint,
		CertPEM: enc.certPEM, Categories: []string{CategoryReferral, CategoryReferralResponse, CategoryReport, CategoryAck, CategoryReadAck},
	}); err != nil {
		t.Fatal(err)
	}
}

// user adds a clinician to organisation uri of n.
func (n *node) user(t *testing.T, uri, name string) store.User {
	t.Helper()
	u, err := n.st.CreateUser(t.Context(), store.NewUser{OrganisationID: n.orgs[uri].ID,
		Email: strings.ToLower(strings.ReplaceAll(name, " ", ".")) + "@" + n.name + ".test", DisplayName: name,
		Role: store.RoleClinician, PasswordHash: "not used"})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// poll calls cond every 50 ms until it holds or wait passes.
func poll(t *testing.T, cond func() bool) bool {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-t.Context().Done():
			return false
		case <-time.After(50 * time.Millisecond):
		}
	}
	return true
}
