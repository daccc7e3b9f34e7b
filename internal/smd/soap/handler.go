package soap

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"

	"github.com/beevik/etree"

	"github.com/opensmd/portal/internal/smd/fault"
	"github.com/opensmd/portal/internal/smd/wire"
)

// HandlerFunc serves one operation. It returns the response body element,
// or an error: a wire.ServiceError declared by the operation (sent as that
// fault), a *fault.Error (sent as se:standardError), or any other error
// (sent as serviceTemporaryUnavailable "internal error"; see FaultFromError).
type HandlerFunc func(ctx context.Context, env *Envelope) (*etree.Element, error)

// Handler is a net/http handler for SOAP 1.2 SMD/ELS endpoints. It reads
// the request under Limits, parses and checks it (see Parse), dispatches by
// wsa:Action to the registered HandlerFunc and writes the reply or fault
// with wsa:RelatesTo set to the request's wsa:MessageID. Status codes follow
// the SOAP 1.2 HTTP binding: 200 for replies, 400 for env:Sender faults, 500
// for the others; 405 for a method other than POST, 415 for a content type
// other than application/soap+xml. It never logs.
type Handler struct {
	// Limits bounds each request (defaults as in Limits).
	Limits Limits
	// To, if set, is this endpoint's URL: a request whose wsa:To is
	// missing or different is answered with badWsaTo.
	To string
	// Rand is the source for reply wsa:MessageIDs; nil means crypto/rand.
	Rand io.Reader
	// OnError, if set, receives every error that produced a fault (parse
	// errors, handler errors) and response write errors. Error values may
	// hold internal detail; the peer only ever gets peer-safe messages.
	OnError func(error)

	routes map[string]route
}

type route struct {
	op Operation
	fn HandlerFunc
}

// Handle registers fn for op; a later registration for the same op
// replaces an earlier one. Register every operation before serving: Handle
// must not run concurrently with ServeHTTP.
func (h *Handler) Handle(op Operation, fn HandlerFunc) {
	if h.routes == nil {
		h.routes = map[string]route{}
	}
	h.routes[op.RequestAction()] = route{op: op, fn: fn}
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if !soapContentType(r.Header.Get("Content-Type")) {
		h.fail(w, Operation{}, "", http.StatusUnsupportedMediaType,
			fault.New(fault.BadlyFormedMsg, "content type must be application/soap+xml"))
		return
	}
	env, err := parse(r.Body, h.Limits, modeRequest)
	if err != nil {
		h.fail(w, Operation{}, relatesTo(env), 0, err)
		return
	}
	rt, ok := h.routes[env.Header.Action]
	if !ok {
		h.fail(w, Operation{}, env.Header.MessageID, 0,
			fault.New(fault.BadWsaAction, "wsa:Action is not served at this endpoint"))
		return
	}
	if h.To != "" && env.Header.To != h.To {
		h.fail(w, rt.op, env.Header.MessageID, 0,
			fault.New(fault.BadWsaTo, "wsa:To is missing or does not address this endpoint"))
		return
	}
	body, err := rt.fn(r.Context(), env)
	if err == nil && body == nil {
		err = errors.New("soap: handler returned neither body nor error")
	}
	if err != nil {
		h.fail(w, rt.op, env.Header.MessageID, 0, err)
		return
	}
	h.write(w, http.StatusOK, &Envelope{
		Header: Header{Action: rt.op.ResponseAction(), MessageID: wire.NewInvocationID(h.Rand),
			RelatesTo: env.Header.MessageID},
		Body: body,
	})
}

func relatesTo(env *Envelope) string {
	if env == nil {
		return ""
	}
	return env.Header.MessageID
}

// soapContentType accepts application/soap+xml, or no content type at all.
func soapContentType(v string) bool {
	if v == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(v)
	return err == nil && mt == ContentType
}

// fail reports err to OnError and writes the fault for it; status 0 means
// the status implied by the fault code.
func (h *Handler) fail(w http.ResponseWriter, op Operation, relates string, status int, err error) {
	h.report(err)
	f := FaultFromError(op, err)
	if status == 0 {
		status = f.HTTPStatus()
	}
	h.write(w, status, &Envelope{
		Header: Header{Action: f.Action, MessageID: wire.NewInvocationID(h.Rand), RelatesTo: relates},
		Body:   f.Element(),
	})
}

func (h *Handler) write(w http.ResponseWriter, status int, env *Envelope) {
	b, err := Build(env)
	if err != nil {
		h.report(err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", mime.FormatMediaType(ContentType,
		map[string]string{"charset": "utf-8", "action": env.Header.Action}))
	w.WriteHeader(status)
	if _, err := w.Write(b); err != nil {
		h.report(err)
	}
}

func (h *Handler) report(err error) {
	if h.OnError != nil {
		h.OnError(err)
	}
}
