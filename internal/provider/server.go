package provider

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"

	"github.com/opensmd/portal/internal/smd/soap"
	"github.com/opensmd/portal/internal/store"
)

// EndpointPath is where the SMD listener serves every SOAP interface; the
// operation is chosen by the WS-Addressing Action, not the path.
const EndpointPath = "/smd"

// ServerTLS is the TLS configuration of the SMD listener (ATS 5820-2010 TLS
// profile, SMD.md §1.8): TLS 1.2 or later and a client certificate that
// chains to one of this provider's trust anchors, checked in the handshake.
func ServerTLS(cert tls.Certificate, anchors *x509.CertPool) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    anchors,
		MinVersion:   tls.VersionTLS12,
	}
}

// Handler routes the SMD listener: the SOAP interfaces this provider
// serves at EndpointPath, within maxBytes per request.
func Handler(st *store.Store, providerURI string, maxBytes int64) http.Handler {
	h := &soap.Handler{Limits: soap.Limits{MaxBytes: maxBytes}}
	h.Handle(soap.ELSListInteractions, ELSHandler(st, providerURI))
	mux := http.NewServeMux()
	mux.Handle("POST "+EndpointPath, h)
	return mux
}
