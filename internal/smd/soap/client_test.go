package soap_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/google/go-cmp/cmp"

	"github.com/opensmd/portal/internal/smd/fault"
	"github.com/opensmd/portal/internal/smd/ns"
	"github.com/opensmd/portal/internal/smd/soap"
	"github.com/opensmd/portal/internal/smd/wire"
	"github.com/opensmd/portal/internal/smd/wire/wiretest"
)

// echoServer registers every exchange: each handler checks it received the
// expected request body and answers with the exchange's response.
func echoServer(t *testing.T, tlsServer bool) (*httptest.Server, *errLog) {
	t.Helper()
	elog := &errLog{}
	h := &soap.Handler{Rand: wiretest.Rand(31), OnError: elog.add}
	for _, x := range exchanges() {
		want := xmlString(t, x.request)
		resp := x.response
		h.Handle(x.op, func(_ context.Context, env *soap.Envelope) (*etree.Element, error) {
			if got := xmlString(t, env.Body); got != want {
				return nil, errors.New("request body differs:\n" + got)
			}
			if env.Header.To == "" || env.Header.MessageID == "" {
				return nil, errors.New("addressing headers missing")
			}
			return resp, nil
		})
	}
	var srv *httptest.Server
	if tlsServer {
		srv = httptest.NewTLSServer(h)
	} else {
		srv = httptest.NewServer(h)
	}
	t.Cleanup(srv.Close)
	return srv, elog
}

type errLog struct {
	mu   sync.Mutex
	errs []error
}

func (l *errLog) add(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, err)
}

func (l *errLog) all() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]error(nil), l.errs...)
}

// TestClientHandler_Operations calls every operation through Client and
// Handler, over plain HTTP and TLS, and checks the typed reply.
func TestClientHandler_Operations(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		srv, elog := echoServer(t, useTLS)
		c := &soap.Client{HTTPClient: srv.Client(), Rand: wiretest.Rand(32)}
		for _, x := range exchanges() {
			t.Run(x.name+map[bool]string{false: "HTTP", true: "TLS"}[useTLS], func(t *testing.T) {
				env, err := c.Call(context.Background(), srv.URL+"/smd", x.op, x.request)
				if err != nil {
					t.Fatalf("call: %v", err)
				}
				if env.Header.Action != x.op.ResponseAction() || env.Header.RelatesTo == "" {
					t.Errorf("reply header %+v", env.Header)
				}
				if w, g := xmlString(t, x.response), xmlString(t, env.Body); w != g {
					t.Errorf("reply body:\nwant %s\n got %s", w, g)
				}
			})
		}
		if errs := elog.all(); len(errs) != 0 {
			t.Errorf("OnError called: %v", errs)
		}
	}
}

// TestClientHandler_TypedSMDDeliver runs the SMD deliver use case end to
// end with the typed wire API.
func TestClientHandler_TypedSMDDeliver(t *testing.T) {
	msg := wiretest.SealedMessage(wiretest.Rand(40))
	var received wire.SealedMessage
	h := &soap.Handler{To: "", Rand: wiretest.Rand(41)}
	h.Handle(soap.SMDDeliver, func(_ context.Context, env *soap.Envelope) (*etree.Element, error) {
		d, err := wire.ParseSMDDeliver(env.Body)
		if err != nil {
			return nil, err
		}
		received = d.Message
		return wire.SMDDeliverResponse{Status: wire.StatusDuplicate}.Element(), nil
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	c := &soap.Client{Rand: wiretest.Rand(42)}
	env, err := c.Call(context.Background(), srv.URL, soap.SMDDeliver, wire.SMDDeliver{Message: msg}.Element())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := wire.ParseSMDDeliverResponse(env.Body)
	if err != nil || resp.Status != wire.StatusDuplicate {
		t.Fatalf("response %+v, %v", resp, err)
	}
	eq := cmp.Comparer(func(a, b *etree.Element) bool { return xmlString(t, a) == xmlString(t, b) })
	if diff := cmp.Diff(msg, received, eq); diff != "" {
		t.Errorf("server received (-sent +received):\n%s", diff)
	}
}

// TestClientHandler_Faults round-trips every declared fault of every
// operation and the handler's error mapping.
func TestClientHandler_Faults(t *testing.T) {
	type result struct {
		op  soap.Operation
		err error
	}
	var cases []result
	for _, x := range exchanges() {
		for _, f := range x.faults {
			cases = append(cases, result{x.op, f})
		}
		for _, se := range standardErrors() {
			cases = append(cases, result{x.op, se})
		}
	}
	for _, tc := range cases {
		name := tc.op.String() + "/" + tc.err.(wire.ServiceError).FaultName()
		t.Run(name, func(t *testing.T) {
			h := &soap.Handler{}
			h.Handle(tc.op, func(context.Context, *soap.Envelope) (*etree.Element, error) { return nil, tc.err })
			srv := httptest.NewServer(h)
			defer srv.Close()
			_, err := (&soap.Client{}).Call(context.Background(), srv.URL, tc.op, wire.SMRList{}.Element())
			var fe *soap.FaultError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want *FaultError", err)
			}
			if diff := cmp.Diff(tc.err, fe.ServiceError); diff != "" {
				t.Errorf("detail (-sent +received):\n%s", diff)
			}
			se := tc.err.(wire.ServiceError)
			if fe.Fault.Action != tc.op.FaultAction(se.FaultName()) {
				t.Errorf("fault action %s", fe.Fault.Action)
			}
			wantTransient := false
			switch d := tc.err.(type) {
			case wire.StandardError:
				wantTransient = d.ErrorCode == fault.ServiceTemporaryUnavailable
				if fe.StandardError == nil || *fe.StandardError != d {
					t.Errorf("StandardError = %v", fe.StandardError)
				}
			case wire.SIMDTimeoutError:
				wantTransient = d.ErrorCode == wire.BusyRetryLater
			}
			if soap.IsTransient(err) != wantTransient {
				t.Errorf("IsTransient = %v, want %v", soap.IsTransient(err), wantTransient)
			}
		})
	}
}

func TestHandler_ErrorMapping(t *testing.T) {
	elog := &errLog{}
	h := &soap.Handler{OnError: elog.add}
	h.Handle(soap.TRDDeliver, func(context.Context, *soap.Envelope) (*etree.Element, error) {
		return nil, errInternal
	})
	h.Handle(soap.TRRRemove, func(context.Context, *soap.Envelope) (*etree.Element, error) {
		return nil, nil
	})
	h.Handle(soap.SMRList, func(context.Context, *soap.Envelope) (*etree.Element, error) {
		return nil, fault.Wrap(fault.NotAuthorised, "not authorised for this receiver", errors.New("cert CN=x"))
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	c := &soap.Client{}

	_, err := c.Call(context.Background(), srv.URL, soap.TRDDeliver, wire.SMRList{}.Element())
	var fe *soap.FaultError
	if !errors.As(err, &fe) || fe.Fault.Code != soap.CodeReceiver || !soap.IsTransient(err) {
		t.Fatalf("internal error: %v", err)
	}
	if strings.Contains(fe.Error(), "secret") || strings.Contains(fe.Fault.Reason, "secret") {
		t.Error("internal detail leaked to the peer")
	}
	_, err = c.Call(context.Background(), srv.URL, soap.TRRRemove, wire.SMRList{}.Element())
	if code, _ := faultCode(err); code != fault.ServiceTemporaryUnavailable {
		t.Errorf("nil body: %v", err)
	}
	_, err = c.Call(context.Background(), srv.URL, soap.SMRList, wire.SMRList{}.Element())
	if code, _ := faultCode(err); code != fault.NotAuthorised || soap.IsTransient(err) {
		t.Errorf("fault.Error: %v", err)
	}
	if errors.As(err, &fe) && (fe.Fault.Code != soap.CodeSender || strings.Contains(fe.Fault.Reason, "CN=x")) {
		t.Errorf("fault %+v", fe.Fault)
	}
	errs := elog.all()
	if len(errs) != 3 || !errors.Is(errs[0], errInternal) {
		t.Errorf("OnError got %v", errs)
	}
}

func faultCode(err error) (fault.Code, bool) {
	var fe *soap.FaultError
	if !errors.As(err, &fe) {
		return "", false
	}
	return fe.Code()
}

// rawPost sends body to the handler and returns the status and the parsed
// fault reply.
func rawPost(t *testing.T, url, contentType, body string) (int, *soap.FaultError, string) {
	t.Helper()
	resp, err := http.Post(url, contentType, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	env, err := soap.Parse(strings.NewReader(string(b)), soap.Limits{})
	if err != nil {
		return resp.StatusCode, nil, string(b)
	}
	if !env.IsFault() {
		return resp.StatusCode, nil, env.Header.RelatesTo
	}
	f, err := soap.ParseFault(env.Body)
	if err != nil {
		t.Fatalf("malformed fault: %s", b)
	}
	se, _ := wire.ParseStandardError(f.Detail)
	f.Action = env.Header.Action
	return resp.StatusCode, &soap.FaultError{Fault: f, StandardError: &se}, env.Header.RelatesTo
}

func TestHandler_RequestErrors(t *testing.T) {
	h := &soap.Handler{To: "https://me.example/smd"}
	h.Handle(soap.SMRList, func(context.Context, *soap.Envelope) (*etree.Element, error) {
		return wire.SMRListResponse{}.Element(), nil
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	const id = "urn:uuid:7d1c1d0e-1f52-4b1e-9a35-0b7f1c3e2a10"
	hdr := func(action, to string) string {
		return `<wsa:Action>` + action + `</wsa:Action><wsa:MessageID>` + id + `</wsa:MessageID>` + to
	}
	to := `<wsa:To>https://me.example/smd</wsa:To>`
	tests := []struct {
		name, ctype, body string
		status            int
		code              fault.Code
		faultCode         string
		relates           string
	}{
		{"OK", soap.ContentType, envelopeXML(hdr(okAction, to), okBody), 200, "", "", id},
		{"UnservedAction", soap.ContentType, envelopeXML(hdr(soap.TRRRemove.RequestAction(), to), okBody), 400,
			fault.BadWsaAction, soap.CodeSender, id},
		{"UnknownAction", soap.ContentType, envelopeXML(hdr("urn:x", to), okBody), 400, fault.BadWsaAction, soap.CodeSender, id},
		{"MissingTo", soap.ContentType, envelopeXML(hdr(okAction, ""), okBody), 400, fault.BadWsaTo, soap.CodeSender, id},
		{"WrongTo", soap.ContentType, envelopeXML(hdr(okAction, `<wsa:To>https://other.example</wsa:To>`), okBody), 400,
			fault.BadWsaTo, soap.CodeSender, id},
		{"BadMessageID", soap.ContentType, envelopeXML(`<wsa:Action>`+okAction+`</wsa:Action><wsa:MessageID>x y</wsa:MessageID>`+to,
			okBody), 400, fault.BadWsaMessageID, soap.CodeSender, "x y"},
		{"Malformed", soap.ContentType, `<nope`, 400, fault.BadlyFormedMsg, soap.CodeSender, ""},
		{"SOAP11", soap.ContentType, `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>`,
			500, fault.BadlyFormedMsg, soap.CodeVersionMismatch, ""},
		{"TextXML", "text/xml; charset=utf-8", envelopeXML(hdr(okAction, to), okBody), 415, fault.BadlyFormedMsg,
			soap.CodeSender, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, fe, relates := rawPost(t, srv.URL, tt.ctype, tt.body)
			if status != tt.status {
				t.Fatalf("status %d, want %d", status, tt.status)
			}
			if relates != tt.relates {
				t.Errorf("RelatesTo %q, want %q", relates, tt.relates)
			}
			if tt.code == "" {
				if fe != nil {
					t.Fatalf("unexpected fault %+v", fe.Fault)
				}
				return
			}
			if fe == nil || fe.StandardError.ErrorCode != tt.code || fe.Fault.Code != tt.faultCode {
				t.Fatalf("fault %+v", fe)
			}
		})
	}
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != http.MethodPost {
		t.Errorf("GET: %d", resp.StatusCode)
	}
}

// TestClient_RequestHeaders checks what the client puts on the wire.
func TestClient_RequestHeaders(t *testing.T) {
	var got *http.Request
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		body, _ = io.ReadAll(r.Body)
		http.Error(w, "nope", http.StatusNotFound)
	}))
	defer srv.Close()
	c := &soap.Client{Rand: wiretest.Rand(50), From: "https://me.example/smd"}
	_, err := c.Call(context.Background(), srv.URL+"/x", soap.SMDDeliver, wire.SMRList{}.Element())
	var te *soap.TransportError
	if !errors.As(err, &te) || te.StatusCode != 404 || soap.IsTransient(err) {
		t.Fatalf("404: %v", err)
	}
	want := `application/soap+xml; action="` + soap.SMDDeliver.RequestAction() + `"; charset=utf-8`
	if ct := got.Header.Get("Content-Type"); ct != want {
		t.Errorf("Content-Type %q, want %q", ct, want)
	}
	env, err := soap.Parse(strings.NewReader(string(body)), soap.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	wantHdr := soap.Header{To: srv.URL + "/x", Action: soap.SMDDeliver.RequestAction(),
		MessageID: wire.NewInvocationID(wiretest.Rand(50)), From: "https://me.example/smd"}
	if diff := cmp.Diff(wantHdr, env.Header); diff != "" {
		t.Errorf("header (-want +got):\n%s", diff)
	}
}

// TestClient_ReplyChecks: the client rejects replies that do not relate to
// its request or carry the wrong action.
func TestClient_ReplyChecks(t *testing.T) {
	tests := []struct {
		name    string
		header  func(reqID string) soap.Header
		status  int
		wantErr bool
	}{
		{"Good", func(id string) soap.Header {
			return soap.Header{Action: soap.SMRList.ResponseAction(), MessageID: "urn:uuid:r", RelatesTo: id}
		}, 200, false},
		{"WrongRelatesTo", func(string) soap.Header {
			return soap.Header{Action: soap.SMRList.ResponseAction(), RelatesTo: "urn:uuid:other"}
		}, 200, true},
		{"NoRelatesTo", func(string) soap.Header { return soap.Header{Action: soap.SMRList.ResponseAction()} }, 200, true},
		{"WrongAction", func(id string) soap.Header {
			return soap.Header{Action: soap.SMRRetrieve.ResponseAction(), RelatesTo: id}
		}, 200, true},
		{"ErrorStatusWithoutFault", func(id string) soap.Header {
			return soap.Header{Action: soap.SMRList.ResponseAction(), RelatesTo: id}
		}, 500, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				req, err := soap.Parse(r.Body, soap.Limits{})
				if err != nil {
					http.Error(w, err.Error(), 400)
					return
				}
				b, _ := soap.Build(&soap.Envelope{Header: tt.header(req.Header.MessageID), Body: wire.SMRListResponse{}.Element()})
				w.WriteHeader(tt.status)
				_, _ = w.Write(b)
			}))
			defer srv.Close()
			_, err := (&soap.Client{}).Call(context.Background(), srv.URL, soap.SMRList, wire.SMRList{}.Element())
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil && tt.status == 200 && soap.IsTransient(err) {
				t.Errorf("protocol error classified transient: %v", err)
			}
		})
	}
}

func TestClient_TransientClassification(t *testing.T) {
	plain := func(status int) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "upstream trouble", status)
		}))
	}
	refusedURL := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return "http://" + addr + "/smd"
	}
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // lets the server notice the client hanging up
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer slow.Close()
	defer close(release) // before slow.Close, which waits for handlers
	tlsSrv := httptest.NewUnstartedServer(http.NotFoundHandler())
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake failure is the point
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	// A server that requires a client certificate from a CA ours is not
	// from: its TLS alert refuses us, and retrying will not help.
	mtlsSrv := httptest.NewUnstartedServer(http.NotFoundHandler())
	mtlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0)
	mtlsSrv.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: x509.NewCertPool()}
	mtlsSrv.StartTLS()
	defer mtlsSrv.Close()
	refusedClient := func(maxVersion uint16) *soap.Client {
		tr := mtlsSrv.Client().Transport.(*http.Transport).Clone()
		tr.TLSClientConfig.Certificates = mtlsSrv.TLS.Certificates // any certificate the server does not trust
		tr.TLSClientConfig.MaxVersion = maxVersion
		return &soap.Client{HTTPClient: &http.Client{Transport: tr}}
	}
	// A server that dies mid-reply: the request may have been processed,
	// so the failure is transient (the SMD sender resends; duplicates are
	// answered "duplicate").
	cutOff := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml\r\nContent-Length: 4096\r\n\r\n<env:Envelope")
		_ = buf.Flush()
		_ = conn.Close()
	}))
	defer cutOff.Close()
	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(strings.Repeat(" ", 2048)))
	}))
	defer big.Close()

	tests := []struct {
		name      string
		url       func() string
		client    *soap.Client
		ctx       func() (context.Context, context.CancelFunc)
		transient bool
	}{
		{"HTTP503", func() string { s := plain(503); t.Cleanup(s.Close); return s.URL }, &soap.Client{}, nil, true},
		{"HTTP502", func() string { s := plain(502); t.Cleanup(s.Close); return s.URL }, &soap.Client{}, nil, true},
		{"HTTP429", func() string { s := plain(429); t.Cleanup(s.Close); return s.URL }, &soap.Client{}, nil, true},
		{"HTTP403", func() string { s := plain(403); t.Cleanup(s.Close); return s.URL }, &soap.Client{}, nil, false},
		{"ConnectionRefused", refusedURL, &soap.Client{}, nil, true},
		{"ReplyCutOff", func() string { return cutOff.URL }, &soap.Client{}, nil, true},
		{"ClientTimeout", func() string { return slow.URL }, &soap.Client{HTTPClient: &http.Client{Timeout: 100 * time.Millisecond}}, nil, true},
		{"ContextDeadline", func() string { return slow.URL }, &soap.Client{}, func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 100*time.Millisecond)
		}, true},
		{"ContextCanceled", func() string { return slow.URL }, &soap.Client{}, func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(50*time.Millisecond, cancel)
			return ctx, cancel
		}, false},
		{"UnknownCA", func() string { return tlsSrv.URL }, &soap.Client{}, nil, false},
		{"ClientCertRefusedTLS12", func() string { return mtlsSrv.URL }, refusedClient(tls.VersionTLS12), nil, false},
		{"ClientCertRefusedTLS13", func() string { return mtlsSrv.URL }, refusedClient(tls.VersionTLS13), nil, false},
		{"BadScheme", func() string { return "ftp://x.example/" }, &soap.Client{}, nil, false},
		{"ReplyTooLarge", func() string { return big.URL }, &soap.Client{MaxResponseBytes: 1024}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.ctx != nil {
				var cancel context.CancelFunc
				ctx, cancel = tt.ctx()
				defer cancel()
			}
			_, err := tt.client.Call(ctx, tt.url(), soap.SMRList, wire.SMRList{}.Element())
			if err == nil {
				t.Fatal("no error")
			}
			if got := soap.IsTransient(err); got != tt.transient {
				t.Errorf("IsTransient(%v) = %v, want %v", err, got, tt.transient)
			}
		})
	}
	if soap.IsTransient(nil) || soap.IsTransient(errors.New("x")) {
		t.Error("plain errors are not transient")
	}
}

// TestHandler_MustUnderstandWCF: WCF marks wsa:Action and wsa:To
// mustUnderstand; they are understood.
func TestHandler_MustUnderstandWCF(t *testing.T) {
	h := &soap.Handler{}
	h.Handle(soap.SMRList, func(context.Context, *soap.Envelope) (*etree.Element, error) {
		return wire.SMRListResponse{}.Element(), nil
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	body := `<s:Envelope xmlns:s="` + ns.SOAP12 + `" xmlns:a="` + ns.WSA + `"><s:Header>` +
		`<a:Action s:mustUnderstand="1">` + okAction + `</a:Action><a:MessageID>urn:uuid:9</a:MessageID>` +
		`<a:ReplyTo><a:Address>` + ns.WSA + `/anonymous</a:Address></a:ReplyTo>` +
		`<a:To s:mustUnderstand="1">` + srv.URL + `</a:To></s:Header><s:Body>` + okBody + `</s:Body></s:Envelope>`
	status, fe, relates := rawPost(t, srv.URL, "application/soap+xml; charset=utf-8", body)
	if status != 200 || fe != nil || relates != "urn:uuid:9" {
		t.Fatalf("status %d fault %v relates %q", status, fe, relates)
	}
}
