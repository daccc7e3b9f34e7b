package pipeline

import (
	"net/http"

	"github.com/opensmd/portal/internal/provider"
	"github.com/opensmd/portal/internal/smd/soap"
)

// Handler serves every SOAP interface of the SMD listener at
// provider.EndpointPath, dispatched by wsa:Action: SMD deliver, TRD
// deliver, SMR list/retrieve, TRR retrieve/remove and ELS
// listInteractions. Requests must address Config.EndpointURL (wsa:To) and
// stay within Config.MaxBytes. Serve it with provider.ServerTLS: the
// handlers rely on the verified client certificate.
func (p *Pipeline) Handler() http.Handler {
	h := &soap.Handler{
		Limits: soap.Limits{MaxBytes: p.cfg.MaxBytes},
		To:     p.endpointURL(),
		OnError: func(err error) {
			p.log.Info("SMD request refused", "error", safeReason(err))
		},
	}
	h.Handle(soap.SMDDeliver, p.handleDeliver)
	h.Handle(soap.TRDDeliver, p.handleTRD)
	h.Handle(soap.SMRList, p.handleSMRList)
	h.Handle(soap.SMRRetrieve, p.handleSMRRetrieve)
	h.Handle(soap.TRRRetrieve, p.handleTRRRetrieve)
	h.Handle(soap.TRRRemove, p.handleTRRRemove)
	h.Handle(soap.ELSListInteractions, provider.ELSHandler(p.st, p.providerURI()))
	mux := http.NewServeMux()
	mux.Handle("POST "+provider.EndpointPath, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			// ServerTLS requires a verified client certificate; without
			// TLS (a misconfigured test) nothing here may be trusted.
			http.Error(w, "client certificate required", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r.WithContext(withPeer(r.Context(), r.TLS.PeerCertificates[0])))
	}))
	return mux
}
