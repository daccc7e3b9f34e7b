package provider_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/opensmd/portal/internal/provider"
	"github.com/opensmd/portal/internal/smd/pki"
	"github.com/opensmd/portal/internal/smd/soap"
)

// TestSMDListener_MutualTLS: the listener refuses peers without a client
// certificate or with one from an untrusted CA in the handshake, before any
// SOAP is read, and serves a trusted peer.
func TestSMDListener_MutualTLS(t *testing.T) {
	t.Parallel()
	f := certs(t)
	st, _ := newStore(t)
	addEntry(t, st, gpURI, gpEndpoint, f.gp, refCat)

	serverCert, serverKey, err := f.ca.Issue(pki.Request{OrgURI: physioURI, Name: "Physio provider", Usage: pki.UsageTLS,
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}, pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	anchors := x509.NewCertPool()
	anchors.AddCert(f.ca.Cert)
	srv := httptest.NewUnstartedServer(provider.Handler(st, physioURI, 1<<20))
	srv.TLS = provider.ServerTLS(tls.Certificate{Certificate: [][]byte{serverCert.Raw}, PrivateKey: serverKey}, anchors)
	srv.StartTLS()
	t.Cleanup(srv.Close)

	untrustedCert, untrustedKey, err := f.ca2.Issue(pki.Request{OrgURI: gpURI, Name: "Impostor", Usage: pki.UsageTLS}, pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	client := func(cert *x509.Certificate, key any) *soap.Client {
		cfg := &tls.Config{RootCAs: anchors, MinVersion: tls.VersionTLS12}
		if cert != nil {
			cfg.Certificates = []tls.Certificate{{Certificate: [][]byte{cert.Raw}, PrivateKey: key}}
		}
		return &soap.Client{HTTPClient: &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}}
	}
	url := srv.URL + provider.EndpointPath
	for name, c := range map[string]*soap.Client{
		"no client certificate": client(nil, nil),
		"untrusted CA":          client(untrustedCert, untrustedKey),
	} {
		_, err := provider.ELSResolver{Client: c, URL: url}.Resolve(context.Background(), gpURI, refCat)
		var te *soap.TransportError
		if err == nil || !errors.As(err, &te) {
			t.Errorf("%s: got %v, want a TLS transport error", name, err)
		}
	}
	ep, err := provider.ELSResolver{Client: client(f.gp.cert, f.gp.key), URL: url}.Resolve(context.Background(), gpURI, refCat)
	if err != nil || ep.URL != gpEndpoint {
		t.Fatalf("trusted peer: %+v %v", ep, err)
	}
	// Only POST at the endpoint path is served.
	resp, err := client(f.gp.cert, f.gp.key).HTTPClient.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET %s: %d", provider.EndpointPath, resp.StatusCode)
	}
}
