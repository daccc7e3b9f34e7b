package provider_test

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/opensmd/portal/internal/provider"
	"github.com/opensmd/portal/internal/smd/fault"
	"github.com/opensmd/portal/internal/smd/ns"
	"github.com/opensmd/portal/internal/smd/soap"
	"github.com/opensmd/portal/internal/smd/wire"
	"github.com/opensmd/portal/internal/smd/wire/wiretest"
	"github.com/opensmd/portal/internal/store"
)

const (
	elsProvider = "http://ns.example.test/els/provider/opensmd"
	dischCat    = "http://ns.hl7.org.au/hl7v2/profiles/HL7AU-OO-DISCHARGE-SUMMARY-201706"
	unknownURI  = "http://ns.electronichealth.net.au/id/hi/hpio/1.0/8003620000000099"
	gpEndpoint  = "https://gp.example.test/smd"
)

// addEntry stores a directory entry for uri with p's certificate.
func addEntry(t *testing.T, st *store.Store, uri, endpoint string, p pair, cats ...string) {
	t.Helper()
	_, err := provider.AddDirectoryEntry(context.Background(), st, provider.DirectoryEntry{
		OrgURI: uri, Name: "Entry " + uri[len(uri)-4:], Endpoint: endpoint, CertPEM: p.certPEM, Categories: cats,
	})
	if err != nil {
		t.Fatalf("add directory entry: %v", err)
	}
}

// serveSOAP starts a TLS server for h and returns an ELSResolver calling it.
func serveSOAP(t *testing.T, h *soap.Handler) provider.ELSResolver {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	return provider.ELSResolver{Client: &soap.Client{HTTPClient: srv.Client(), Rand: wiretest.Rand(7)}, URL: srv.URL}
}

// elsServer serves ELSHandler over st.
func elsServer(t *testing.T, st *store.Store) provider.ELSResolver {
	t.Helper()
	h := &soap.Handler{Rand: wiretest.Rand(5)}
	h.Handle(soap.ELSListInteractions, provider.ELSHandler(st, elsProvider))
	return serveSOAP(t, h)
}

// listInteractions calls the handler directly with r.
func listInteractions(t *testing.T, st *store.Store, r wire.InteractionRequest) (*etree.Element, error) {
	t.Helper()
	body := wire.ELSListInteractions{Request: r}.Element()
	return provider.ELSHandler(st, elsProvider)(context.Background(), &soap.Envelope{Body: body})
}

func TestELS_RoundTrip(t *testing.T) {
	t.Parallel()
	f := certs(t)
	st, _ := newStore(t)
	addEntry(t, st, gpURI, gpEndpoint, f.gp, refCat, dischCat)
	els := elsServer(t, st)

	for _, cat := range []string{refCat, dischCat} {
		ep, err := els.Resolve(context.Background(), gpURI, cat)
		if err != nil {
			t.Fatalf("resolve %s: %v", cat, err)
		}
		if ep.URL != gpEndpoint || ep.ServiceProvider != elsProvider {
			t.Fatalf("endpoint %+v", ep)
		}
		if ep.EncryptionCert == nil || !ep.EncryptionCert.Equal(f.gp.cert) {
			t.Fatal("ELS certificate differs from the stored one")
		}
	}
}

func TestELS_UnknownTarget(t *testing.T) {
	t.Parallel()
	f := certs(t)
	st, _ := newStore(t)
	addEntry(t, st, gpURI, gpEndpoint, f.gp, refCat)
	els := elsServer(t, st)

	_, err := els.Resolve(context.Background(), unknownURI, refCat)
	if !errors.Is(err, provider.ErrUnknownTarget) || errors.Is(err, provider.ErrNoEndpoint) {
		t.Fatalf("want ErrUnknownTarget, got %v", err)
	}
	if soap.IsTransient(err) {
		t.Fatal("unknown target must not be transient")
	}
	var fe *soap.FaultError
	if !errors.As(err, &fe) {
		t.Fatalf("no FaultError in %v", err)
	}
	le, ok := fe.ServiceError.(wire.ELSLookupError)
	if !ok || le.ErrorCode != wire.UnknownTargetID {
		t.Fatalf("service error %#v", fe.ServiceError)
	}
	if d := fe.Fault.Detail; d == nil || d.Tag != "lookupError" || d.NamespaceURI() != ns.SvcELS {
		t.Fatalf("fault detail %v", d)
	}
	if fe.Fault.Action != soap.ELSListInteractions.FaultAction("lookupError") {
		t.Fatalf("fault action %q", fe.Fault.Action)
	}
}

func TestELS_NoInteractionFor(t *testing.T) {
	t.Parallel()
	f := certs(t)
	st, _ := newStore(t)
	addEntry(t, st, gpURI, gpEndpoint, f.gp, refCat)

	// Over the wire: a distinct error for a known target.
	_, err := elsServer(t, st).Resolve(context.Background(), gpURI, dischCat)
	if !errors.Is(err, provider.ErrNoEndpoint) || errors.Is(err, provider.ErrUnknownTarget) {
		t.Fatalf("want ErrNoEndpoint, got %v", err)
	}

	// The handler answers with an empty (valid) response.
	cases := map[string]wire.InteractionRequest{
		"category not accepted":   {Target: gpURI, ServiceCategories: []string{dischCat}},
		"interface not SMD TLS":   {Target: gpURI, ServiceCategories: []string{refCat}, ServiceInterfaces: []string{ns.SvcSMR}},
		"only the SIMD interface": {Target: gpURI, ServiceCategories: []string{refCat, refCat}, ServiceInterfaces: []string{ns.SvcSIMD}},
	}
	for name, r := range cases {
		el, err := listInteractions(t, st, r)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		resp, err := wire.ParseELSListInteractionsResponse(el)
		if err != nil || len(resp.Interactions) != 0 {
			t.Fatalf("%s: %d interactions, %v", name, len(resp.Interactions), err)
		}
	}
}

func TestELSHandler_ResponseMatchesSchema(t *testing.T) {
	t.Parallel()
	f := certs(t)
	st, _ := newStore(t)
	addEntry(t, st, gpURI, gpEndpoint, f.gp, refCat, dischCat)

	el, err := listInteractions(t, st, wire.InteractionRequest{
		Target:            gpURI,
		ServiceCategories: []string{dischCat, "http://example.test/not-accepted", refCat, refCat},
		ServiceInterfaces: []string{ns.SvcSMR, ns.IntfSMD},
	})
	if err != nil {
		t.Fatal(err)
	}
	wiretest.Validate(t, wiretest.WSDLSchema(t, "els-2010/wsdl/els-LookupInterface-2010.wsdl"), el)

	resp, err := wire.ParseELSListInteractionsResponse(el)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Interactions) != 2 || resp.Interactions[0].ServiceCategory != dischCat || resp.Interactions[1].ServiceCategory != refCat {
		t.Fatalf("interactions %+v", resp.Interactions)
	}
	for _, in := range resp.Interactions {
		if in.Target != gpURI || in.ServiceInterface != ns.IntfSMD || in.ServiceEndpoint != gpEndpoint || in.ServiceProvider != elsProvider {
			t.Fatalf("interaction %+v", in)
		}
		if len(in.CertRefs) != 1 || in.CertRefs[0].UseQualifier != ns.CertUsePayloadKeyEnc || in.CertRefs[0].Type != ns.CertRefTypePEM ||
			in.CertRefs[0].Value != string(f.gp.certPEM) {
			t.Fatalf("certRefs %+v", in.CertRefs)
		}
	}
}

func TestELSHandler_BadRequest(t *testing.T) {
	t.Parallel()
	st, _ := newStore(t)
	body := etree.NewElement("listInteractions")
	body.Space = "lkp"
	body.CreateAttr("xmlns:lkp", ns.SvcELS)
	body.CreateElement("lkp:unexpected")
	_, err := provider.ELSHandler(st, elsProvider)(context.Background(), &soap.Envelope{Body: body})
	if code, ok := fault.CodeOf(err); !ok || code != fault.BadlyFormedMsg {
		t.Fatalf("want badlyFormedMsg, got %v", err)
	}
}

// cannedELS answers every listInteractions with interactions.
func cannedELS(t *testing.T, interactions ...wire.Interaction) provider.ELSResolver {
	t.Helper()
	h := &soap.Handler{Rand: wiretest.Rand(9)}
	h.Handle(soap.ELSListInteractions, func(context.Context, *soap.Envelope) (*etree.Element, error) {
		return wire.ELSListInteractionsResponse{Interactions: interactions}.Element(), nil
	})
	return serveSOAP(t, h)
}

func TestELSResolver_BadInteraction(t *testing.T) {
	t.Parallel()
	f := certs(t)
	good := wire.CertRef{UseQualifier: ns.CertUsePayloadKeyEnc, Type: ns.CertRefTypePEM, Value: string(f.gp.certPEM)}
	interaction := func(endpoint string, refs ...wire.CertRef) wire.Interaction {
		return wire.Interaction{Target: gpURI, ServiceCategory: refCat, ServiceInterface: ns.IntfSMD,
			ServiceEndpoint: endpoint, ServiceProvider: elsProvider, CertRefs: refs}
	}
	cases := []struct {
		name     string
		in       wire.Interaction
		want     error
		contains string
	}{
		{"PEM is garbage", interaction(gpEndpoint, wire.CertRef{UseQualifier: ns.CertUsePayloadKeyEnc, Type: ns.CertRefTypePEM,
			Value: "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n"}), provider.ErrBadCertRef, "certificate"},
		{"PEM has no block", interaction(gpEndpoint, wire.CertRef{UseQualifier: ns.CertUsePayloadKeyEnc, Type: ns.CertRefTypePEM,
			Value: "hello"}), provider.ErrBadCertRef, ""},
		{"no certRef", interaction(gpEndpoint), provider.ErrBadCertRef, "no PEM certRef"},
		{"only a signing use qualifier", interaction(gpEndpoint, wire.CertRef{UseQualifier: "http://example.test/use/sign",
			Type: ns.CertRefTypePEM, Value: good.Value}), provider.ErrBadCertRef, "no PEM certRef"},
		{"certificate cannot encrypt", interaction(gpEndpoint, wire.CertRef{UseQualifier: ns.CertUsePayloadKeyEnc,
			Type: ns.CertRefTypePEM, Value: string(f.gpSign.certPEM)}), provider.ErrBadCertRef, "keyEncipherment"},
		{"endpoint not https", interaction("http://gp.example.test/smd", good), nil, "https"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := cannedELS(t, c.in).Resolve(context.Background(), gpURI, refCat)
			if err == nil || (c.want != nil && !errors.Is(err, c.want)) || !strings.Contains(err.Error(), c.contains) {
				t.Fatalf("want %v containing %q, got %v", c.want, c.contains, err)
			}
			if errors.Is(err, provider.ErrUnknownTarget) || errors.Is(err, provider.ErrNoEndpoint) {
				t.Fatalf("wrong class: %v", err)
			}
		})
	}

	// The matching interaction is picked among others; a second
	// (keyenc, PEM) certRef after a foreign one is used.
	other := interaction("https://other.example.test/smd", good)
	other.ServiceCategory = dischCat
	wrongIntf := interaction("https://other.example.test/smr", good)
	wrongIntf.ServiceInterface = ns.SvcSMR
	want := interaction(gpEndpoint, wire.CertRef{UseQualifier: "http://example.test/use/sign", Type: ns.CertRefTypePEM,
		Value: string(f.physio.certPEM)}, good)
	ep, err := cannedELS(t, other, wrongIntf, want).Resolve(context.Background(), gpURI, refCat)
	if err != nil || ep.URL != gpEndpoint || !ep.EncryptionCert.Equal(f.gp.cert) {
		t.Fatalf("picked %+v, %v", ep, err)
	}
}

func TestELSResolver_TransportErrorPassesThrough(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(nil)
	url, client := srv.URL, srv.Client()
	srv.Close()
	els := provider.ELSResolver{Client: &soap.Client{HTTPClient: client}, URL: url}
	_, err := els.Resolve(context.Background(), gpURI, refCat)
	var te *soap.TransportError
	if !errors.As(err, &te) || !soap.IsTransient(err) {
		t.Fatalf("want a transient transport error, got %v", err)
	}
	if errors.Is(err, provider.ErrUnknownTarget) || errors.Is(err, provider.ErrNoEndpoint) {
		t.Fatalf("transport error misclassified: %v", err)
	}
	// A chain does not hide it behind a fallback.
	st, _ := newStore(t)
	_, err = provider.Chain{provider.DirectoryResolver{Store: st}, els}.Resolve(context.Background(), gpURI, refCat)
	if !soap.IsTransient(err) {
		t.Fatalf("chain: want transient, got %v", err)
	}
}

func TestDirectoryResolver(t *testing.T) {
	t.Parallel()
	f := certs(t)
	st, _ := newStore(t)
	addEntry(t, st, gpURI, gpEndpoint, f.gp, refCat)
	d := provider.DirectoryResolver{Store: st}
	ctx := context.Background()

	ep, err := d.Resolve(ctx, gpURI, refCat)
	if err != nil || ep.URL != gpEndpoint || !ep.EncryptionCert.Equal(f.gp.cert) || ep.ServiceProvider != "" {
		t.Fatalf("resolve: %+v %v", ep, err)
	}
	if _, err := d.Resolve(ctx, unknownURI, refCat); !errors.Is(err, provider.ErrUnknownTarget) {
		t.Fatalf("unknown: %v", err)
	}
	if _, err := d.Resolve(ctx, gpURI, dischCat); !errors.Is(err, provider.ErrNoEndpoint) || errors.Is(err, provider.ErrUnknownTarget) {
		t.Fatalf("category: %v", err)
	}
}

func TestChain_PrefersDirectoryThenELS(t *testing.T) {
	t.Parallel()
	f := certs(t)
	local, _ := newStore(t)
	remote, _ := newStore(t)
	addEntry(t, local, gpURI, gpEndpoint, f.gp, refCat)
	addEntry(t, remote, gpURI, "https://stale.example.test/smd", f.physio, refCat, dischCat)
	addEntry(t, remote, physioURI, "https://physio.example.test/smd", f.physio, refCat)
	chain := provider.Chain{provider.DirectoryResolver{Store: local}, elsServer(t, remote)}
	ctx := context.Background()

	cases := []struct {
		name, target, cat string
		url               string
		cert              *x509.Certificate
		provider          string
		err               error
	}{
		{"local entry wins", gpURI, refCat, gpEndpoint, f.gp.cert, "", nil},
		{"local entry without category is final", gpURI, dischCat, "", nil, "", provider.ErrNoEndpoint},
		{"ELS fallback", physioURI, refCat, "https://physio.example.test/smd", f.physio.cert, elsProvider, nil},
		{"nobody knows it", unknownURI, refCat, "", nil, "", provider.ErrUnknownTarget},
	}
	for _, c := range cases {
		ep, err := chain.Resolve(ctx, c.target, c.cat)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Fatalf("%s: want %v, got %v", c.name, c.err, err)
			}
			continue
		}
		if err != nil || ep.URL != c.url || !ep.EncryptionCert.Equal(c.cert) || ep.ServiceProvider != c.provider {
			t.Fatalf("%s: %+v %v", c.name, ep, err)
		}
	}
	if _, err := (provider.Chain{}).Resolve(ctx, gpURI, refCat); !errors.Is(err, provider.ErrUnknownTarget) {
		t.Fatalf("empty chain: %v", err)
	}
}
