package pipeline_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opensmd/portal/internal/hi"
	"github.com/opensmd/portal/internal/jobs/jobstest"
	"github.com/opensmd/portal/internal/pipeline"
	"github.com/opensmd/portal/internal/provider"
	"github.com/opensmd/portal/internal/smd"
	"github.com/opensmd/portal/internal/smd/fault"
	"github.com/opensmd/portal/internal/smd/ns"
	"github.com/opensmd/portal/internal/smd/pki"
	"github.com/opensmd/portal/internal/smd/soap"
	"github.com/opensmd/portal/internal/smd/wire"
	"github.com/opensmd/portal/internal/smd/xspp"
	"github.com/opensmd/portal/internal/store"
	"github.com/opensmd/portal/internal/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// Organisations of the tests. gp and org39 are hosted by provider A,
// physio by provider B; org47 is hosted nowhere.
var (
	gpURI     = ns.QualifierHPIO + "8003620000000013"
	physioURI = ns.QualifierHPIO + "8003620000000021"
	org39URI  = ns.QualifierHPIO + "8003620000000039"
	org47URI  = ns.QualifierHPIO + "8003620000000047"
	// unlistedURI is a valid HPI-O no directory lists.
	unlistedURI = ns.QualifierHPIO + hi.WithCheckDigit("800362000000005")
)

const refCat = "http://ns.hl7.org.au/hl7v2/profiles/HL7AU-OO-REF-SIMPLIFIED-201706"

// wait bounds every poll of the tests: generous for a noisy 2-core
// machine, never reached when the pipeline works.
const wait = 20 * time.Second

// identity is a certificate with its key, as PEM and as a TLS identity.
type identity struct {
	cert    *x509.Certificate
	key     *rsa.PrivateKey
	certPEM []byte
	keyPEM  []byte
	tls     tls.Certificate
}

func (id identity) signer() xspp.Signer { return xspp.Signer{Key: id.key, Cert: id.cert} }

func (id identity) pair() xspp.KeyPair { return xspp.KeyPair{Cert: id.cert, Key: id.key} }

// fixture is the test PKI, made once per test binary (RSA key generation
// is the slow part).
type fixture struct {
	ca      *pki.CA
	caPEM   []byte
	anchors *x509.CertPool
	// Organisation certificates (UsageAll, no IP SANs): payload signing
	// and encryption, and the TLS client identity of an organisation's
	// own software (SMR, TRR).
	gp, physio, physioNext, org39, org47 identity
	// Provider TLS identities naming only their own loopback address.
	tlsA, tlsB, tlsC identity
	// untrusted chains to a CA no provider trusts.
	untrusted identity
}

var fixtureOnce = sync.OnceValues(newFixture)

func certs(t *testing.T) *fixture {
	t.Helper()
	f, err := fixtureOnce()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func newFixture() (*fixture, error) {
	ca, err := pki.NewCA("Pipeline Test CA", pki.Options{})
	if err != nil {
		return nil, err
	}
	other, err := pki.NewCA("Untrusted Test CA", pki.Options{})
	if err != nil {
		return nil, err
	}
	f := &fixture{ca: ca, caPEM: pki.EncodeCertPEM(ca.Cert), anchors: x509.NewCertPool()}
	f.anchors.AddCert(ca.Cert)
	ip := net.ParseIP
	for _, r := range []struct {
		id  *identity
		ca  *pki.CA
		req pki.Request
	}{
		{&f.gp, ca, pki.Request{OrgURI: gpURI, Name: "GP Clinic"}},
		{&f.physio, ca, pki.Request{OrgURI: physioURI, Name: "Physio Clinic"}},
		{&f.physioNext, ca, pki.Request{OrgURI: physioURI, Name: "Physio Clinic 2"}},
		{&f.org39, ca, pki.Request{OrgURI: org39URI, Name: "Dental Clinic"}},
		{&f.org47, ca, pki.Request{OrgURI: org47URI, Name: "Nowhere Clinic"}},
		{&f.tlsA, ca, pki.Request{OrgURI: "urn:opensmd:test:provider:a", Name: "Provider A", IPAddresses: []net.IP{ip("127.0.0.1")}}},
		{&f.tlsB, ca, pki.Request{OrgURI: "urn:opensmd:test:provider:b", Name: "Provider B", IPAddresses: []net.IP{ip("127.0.0.2")}}},
		{&f.tlsC, ca, pki.Request{OrgURI: "urn:opensmd:test:provider:c", Name: "Provider C", IPAddresses: []net.IP{ip("127.0.0.3")}}},
		{&f.untrusted, other, pki.Request{OrgURI: "urn:opensmd:test:provider:x", Name: "Provider X",
			IPAddresses: []net.IP{ip("127.0.0.1"), ip("127.0.0.2")}}},
	} {
		r.req.Usage = pki.UsageAll
		cert, key, err := r.ca.Issue(r.req, pki.Options{})
		if err != nil {
			return nil, err
		}
		keyPEM, err := pki.EncodeKeyPEM(key)
		if err != nil {
			return nil, err
		}
		*r.id = identity{cert: cert, key: key, certPEM: pki.EncodeCertPEM(cert), keyPEM: keyPEM,
			tls: tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}}
	}
	return f, nil
}

// node is one SMD provider: its own database, listener, pipeline and
// River client.
type node struct {
	name   string
	ip     string
	st     *store.Store
	pool   *pgxpool.Pool
	master []byte
	keys   *provider.KeyCache
	p      *pipeline.Pipeline
	id     identity // TLS identity
	addr   string   // host:port of the listener
	url    string   // EndpointURL
	orgs   map[string]store.Organisation

	mu  sync.Mutex
	srv *httptest.Server
}

// options tunes a harness.
type options struct {
	maxBytes int64 // per provider; 0: 1 MiB
}

// harness is provider A (127.0.0.1: gp, org39) and provider B (127.0.0.2:
// physio), each knowing the other's organisations in its directory. A
// reaches its own org39 without a directory entry (hosted organisations
// resolve to the provider's own listener).
type harness struct {
	f    *fixture
	a, b *node
}

func newHarness(t *testing.T, o options) *harness {
	t.Helper()
	f := certs(t)
	if o.maxBytes == 0 {
		o.maxBytes = 1 << 20
	}
	h := &harness{f: f}
	h.a = newNode(t, f, "A", "127.0.0.1", f.tlsA, o, map[string]identity{gpURI: f.gp, org39URI: f.org39})
	h.b = newNode(t, f, "B", "127.0.0.2", f.tlsB, o, map[string]identity{physioURI: f.physio})
	h.a.addDirectory(t, physioURI, h.b.url, f.physio)
	h.b.addDirectory(t, gpURI, h.a.url, f.gp)
	h.a.start(t)
	h.b.start(t)
	return h
}

func newNode(t *testing.T, f *fixture, name, ip string, id identity, o options, orgs map[string]identity) *node {
	t.Helper()
	ctx := t.Context()
	pcfg, err := pgxpool.ParseConfig(storetest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	pcfg.MaxConns = 16 // River, the workers and the handlers share it, as in portal serve
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close) // before the database is dropped
	n := &node{name: name, ip: ip, st: store.New(pool), pool: pool, id: id, orgs: map[string]store.Organisation{}}
	n.master = make([]byte, 32)
	if _, err := rand.Read(n.master); err != nil {
		t.Fatal(err)
	}
	if _, err := provider.AddTrustAnchor(ctx, n.st, f.caPEM); err != nil {
		t.Fatal(err)
	}
	for uri, oid := range orgs {
		org, err := provider.AddOrg(ctx, n.st, n.master, uri, "Org "+uri[len(uri)-4:], oid.certPEM, oid.keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		n.orgs[uri] = org
	}
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatalf("listen on %s (Linux routes all of 127/8): %v", ip, err)
	}
	n.addr = ln.Addr().String()
	n.url = "https://" + n.addr + provider.EndpointPath
	n.keys = provider.NewKeyCache(n.st, n.master, 0)
	n.p, err = pipeline.New(pipeline.Config{
		Store: n.st, Master: n.master, Keys: n.keys, TLS: pipeline.ClientTLS(id.tls, f.anchors),
		EndpointURL: n.url, ProviderURI: "urn:opensmd:test:provider:" + strings.ToLower(name),
		MaxBytes: o.maxBytes, RetryMax: time.Second, Logger: testLogger(t, name),
	})
	if err != nil {
		t.Fatal(err)
	}
	n.serve(t, ln)
	return n
}

// start runs the node's River client until the test ends, then stops
// the node.
func (n *node) start(t *testing.T) {
	t.Helper()
	t.Cleanup(n.stop) // after the client has stopped (cleanups run last first)
	n.p.SetJobs(jobstest.Start(t, n.pool, n.p.Workers()))
}

// serve starts the mutual-TLS SMD listener on ln.
func (n *node) serve(t *testing.T, ln net.Listener) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	_ = srv.Listener.Close()
	srv.Listener = ln
	srv.Config.Handler = n.p.Handler()
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point of some tests
	srv.TLS = provider.ServerTLS(n.id.tls, certs(t).anchors)
	srv.StartTLS()
	n.mu.Lock()
	n.srv = srv
	n.mu.Unlock()
}

// stop closes the listener (the provider is down); restart brings it back
// on the same address.
func (n *node) stop() {
	n.mu.Lock()
	srv := n.srv
	n.srv = nil
	n.mu.Unlock()
	if srv != nil {
		srv.CloseClientConnections()
		srv.Close()
	}
}

func (n *node) restart(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", n.addr)
	if err != nil {
		t.Fatalf("listen again on %s: %v", n.addr, err)
	}
	n.serve(t, ln)
}

func (n *node) org(uri string) store.Organisation { return n.orgs[uri] }

func (n *node) addDirectory(t *testing.T, orgURI, endpoint string, enc identity) {
	t.Helper()
	_, err := provider.AddDirectoryEntry(t.Context(), n.st, provider.DirectoryEntry{
		OrgURI: orgURI, Name: "Directory " + orgURI[len(orgURI)-4:], Endpoint: endpoint,
		CertPEM: enc.certPEM, Categories: []string{refCat},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (n *node) submit(t *testing.T, o pipeline.Outbound) store.Message {
	t.Helper()
	if o.Category == "" {
		o.Category = refCat
	}
	m, err := n.p.Submit(t.Context(), o)
	if err != nil {
		t.Fatalf("%s: submit: %v", n.name, err)
	}
	return m
}

// message loads message id with its payload and sealed form.
func (n *node) message(t *testing.T, id string) store.Message {
	t.Helper()
	m, err := n.st.Message(t.Context(), id)
	if err != nil {
		t.Fatalf("%s: load message: %v", n.name, err)
	}
	return m
}

// count runs a count(*) query on the node's database.
func (n *node) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var c int
	if err := n.pool.QueryRow(t.Context(), query, args...).Scan(&c); err != nil {
		t.Fatalf("%s: %s: %v", n.name, query, err)
	}
	return c
}

func (n *node) inboundRows(t *testing.T) int {
	return n.count(t, `SELECT count(*) FROM messages WHERE direction = 'inbound'`)
}

func (n *node) jobRows(t *testing.T) int { return n.count(t, `SELECT count(*) FROM river_job`) }

// find returns orgID's message with invocationID and its timeline.
func find(ctx context.Context, st *store.Store, orgID, invocationID string) (store.Message, []store.MessageEvent, bool, error) {
	msgs, events, err := st.OrgMessages(ctx, orgID, 1000)
	if err != nil {
		return store.Message{}, nil, false, err
	}
	for _, m := range msgs {
		if m.InvocationID == invocationID {
			return m, events[m.ID], true, nil
		}
	}
	return store.Message{}, nil, false, nil
}

// waitStatus polls until organisation orgID's message with invocationID
// has status want, and returns it with its timeline. It fails at once
// when the message reaches another final status.
func waitStatus(t *testing.T, st *store.Store, orgID, invocationID, want string, timeout time.Duration) (store.Message, []store.MessageEvent) {
	t.Helper()
	var last store.Message
	var lastEvents []store.MessageEvent
	ok := poll(t, timeout, func() bool {
		m, ev, found, err := find(t.Context(), st, orgID, invocationID)
		if err != nil {
			t.Fatal(err)
		}
		last, lastEvents = m, ev
		if found && m.Status != want && isFinal(m.Status) && !(want == store.StatusRetrieved && m.Status == store.StatusHeld) {
			t.Fatalf("message %s is %s (%s), want %s; timeline %s", invocationID, m.Status, m.StatusDetail, want, timeline(ev))
		}
		return found && m.Status == want
	})
	if !ok {
		t.Fatalf("message %s: status %q (%s) after %s, want %q; timeline %s", invocationID, last.Status,
			last.StatusDetail, timeout, want, timeline(lastEvents))
	}
	return last, lastEvents
}

func isFinal(status string) bool {
	return slices.Contains([]string{store.StatusDelivered, store.StatusFailed, store.StatusRetrieved}, status)
}

// poll calls cond every 50 ms until it holds or timeout passes.
func poll(t *testing.T, timeout time.Duration, cond func() bool) bool {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-t.Context().Done():
			return false
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func statuses(ev []store.MessageEvent) []string {
	out := make([]string, len(ev))
	for i, e := range ev {
		out[i] = e.Status
	}
	return out
}

func timeline(ev []store.MessageEvent) string {
	var b strings.Builder
	for _, e := range ev {
		fmt.Fprintf(&b, "\n\t%s: %s", e.Status, e.Detail)
	}
	return b.String()
}

// waitSealed polls until the outbound message id has been sealed (it
// records its endpoint before the first delivery attempt).
func waitSealed(t *testing.T, n *node, id string) store.Message {
	t.Helper()
	var m store.Message
	if !poll(t, wait, func() bool { m = n.message(t, id); return m.Sealed != nil }) {
		t.Fatalf("%s: message %s never sealed (status %s: %s)", n.name, id, m.Status, m.StatusDetail)
	}
	return m
}

// deadEndpoint is an SMD URL on host ip where nothing listens.
func deadEndpoint(t *testing.T, ip string) string {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return "https://" + addr + provider.EndpointPath
}

// httpClient is a client presenting cert (none when nil) and trusting the
// test CA. It presents cert even when the server's list of acceptable CAs
// does not name its issuer, so the server's own check is what refuses an
// untrusted certificate.
func httpClient(t *testing.T, cert *tls.Certificate) *http.Client {
	t.Helper()
	tc := &tls.Config{RootCAs: certs(t).anchors, MinVersion: tls.VersionTLS12}
	if cert != nil {
		tc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
	}
	tr := &http.Transport{TLSClientConfig: tc}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: wait}
}

// call sends one SOAP request with soap.Client as identity id (nil: no
// client certificate).
func call(t *testing.T, id *identity, url string, op soap.Operation, body *etree.Element) (*soap.Envelope, error) {
	t.Helper()
	var cert *tls.Certificate
	if id != nil {
		cert = &id.tls
	}
	c := soap.Client{HTTPClient: httpClient(t, cert)}
	return c.Call(t.Context(), url, op, body)
}

// deliver posts sm with SMD deliver as identity id and returns the status.
func deliver(t *testing.T, id identity, url string, sm wire.SealedMessage) (wire.DeliverStatus, error) {
	t.Helper()
	env, err := call(t, &id, url, soap.SMDDeliver, wire.SMDDeliver{Message: sm}.Element())
	if err != nil {
		return "", err
	}
	r, err := wire.ParseSMDDeliverResponse(env.Body)
	if err != nil {
		t.Fatalf("deliver response: %v", err)
	}
	return r.Status, nil
}

// postRaw posts body as-is over mutual TLS as id and returns the HTTP
// status and the reply body.
func postRaw(t *testing.T, id identity, url, contentType string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := httpClient(t, &id.tls).Do(req)
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read reply: %v", err)
	}
	return resp.StatusCode, b
}

// postEnvelope posts a SOAP envelope with the header hdr (which may be
// wrong on purpose) and returns the HTTP status and the fault it got, if
// any.
func postEnvelope(t *testing.T, id identity, url string, hdr soap.Header, body *etree.Element) (int, *soap.FaultError) {
	t.Helper()
	b, err := soap.Build(&soap.Envelope{Header: hdr, Body: body})
	if err != nil {
		t.Fatal(err)
	}
	status, reply := postRaw(t, id, url, soap.ContentType+`; charset=utf-8`, b)
	return status, replyFault(t, reply)
}

// replyFault parses a reply; nil when it is not a fault.
func replyFault(t *testing.T, reply []byte) *soap.FaultError {
	t.Helper()
	env, err := soap.ParseReply(bytes.NewReader(reply), soap.Limits{})
	if err != nil {
		t.Fatalf("reply is not a SOAP envelope: %v\n%s", err, reply)
	}
	if !env.IsFault() {
		return nil
	}
	fe, err := soap.ParseFaultError(env)
	if err != nil {
		t.Fatalf("malformed fault: %v", err)
	}
	return fe
}

// wantStandardFault checks that err is a SOAP fault with StandardError code.
func wantStandardFault(t *testing.T, err error, code fault.Code) {
	t.Helper()
	var fe *soap.FaultError
	if !errors.As(err, &fe) {
		t.Fatalf("got %v, want a SOAP fault %s", err, code)
	}
	if got, _ := fe.Code(); got != code {
		t.Fatalf("fault %v, want standardError %s", fe, code)
	}
}

// sealAs seals payload from sender (organisation from, signing with
// signer) to the receiver organisation to, encrypted for recipient, with
// transport responses going to trdURL; edit may change the metadata.
func sealAs(t *testing.T, signer identity, from, to string, recipient *x509.Certificate, trdURL string, payload []byte,
	edit func(*wire.MessageMetadata)) (wire.SealedMessage, []byte) {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Millisecond)
	meta := wire.MessageMetadata{
		CreationTime: now, ExpiryTime: now.Add(time.Hour), InvocationID: wire.NewInvocationID(nil),
		ReceiverOrganisation: to, SenderOrganisation: from, ServiceCategory: refCat, ServiceInterface: ns.IntfSMD,
		RouteRecord: []wire.RouteRecordEntry{{Interaction: wire.Interaction{
			Target: from, ServiceCategory: ns.ServiceCategoryTRD, ServiceInterface: ns.IntfTRD,
			ServiceEndpoint: trdURL, ServiceProvider: "urn:opensmd:test:provider:a",
		}}},
	}
	if edit != nil {
		edit(&meta)
	}
	sm, digest, err := smd.SealDigest(meta, smd.WrapBytes(payload), smd.SealOptions{
		Signers: []xspp.Signer{signer.signer()}, Recipients: []*x509.Certificate{recipient}})
	if err != nil {
		t.Fatal(err)
	}
	return sm, digest
}

// testLogger writes the pipeline's logs to the test log, and nowhere once
// the test has ended (workers may outlive it by a moment).
func testLogger(t *testing.T, name string) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(w.close)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo})).With("provider", name)
}

type testWriter struct {
	mu   sync.Mutex
	t    *testing.T
	done bool
}

func (w *testWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimSuffix(string(b), "\n"))
	}
	return len(b), nil
}

func (w *testWriter) close() {
	w.mu.Lock()
	w.done = true
	w.mu.Unlock()
}
