package provider

import (
	"crypto/tls"
	"crypto/x509"
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
