package soap

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"

	"github.com/beevik/etree"

	"github.com/opensmd/portal/internal/smd/fault"
	"github.com/opensmd/portal/internal/smd/wire"
)

// ContentType is the SOAP 1.2 media type (SOAP 1.2 Part 2 §7.1.4).
const ContentType = "application/soap+xml"

// Client calls SMD and ELS operations over HTTP. The zero value is usable.
type Client struct {
	// HTTPClient sends the requests; nil means http.DefaultClient. Mutual
	// TLS (the client certificate and the trusted CAs) and timeouts are
	// configured on its transport by the caller.
	HTTPClient *http.Client
	// Rand is the source for wsa:MessageID; nil means crypto/rand.
	Rand io.Reader
	// MaxResponseBytes bounds a reply (default DefaultMaxBytes).
	MaxResponseBytes int64
	// From, if set, is sent as wsa:From/wsa:Address.
	From string
}

// TransportError is a failure to get a SOAP reply: a network error, a
// timeout, or an HTTP status without a SOAP envelope.
type TransportError struct {
	Op  Operation
	URL string
	// StatusCode is the HTTP status, 0 when no response was received.
	StatusCode int
	// Transient is true when retrying later may succeed.
	Transient bool
	Err       error
}

// Error implements the error interface.
func (e *TransportError) Error() string {
	if e.StatusCode != 0 {
		return fmt.Sprintf("soap: %s %s: HTTP %d: %v", e.Op, e.URL, e.StatusCode, e.Err)
	}
	return fmt.Sprintf("soap: %s %s: %v", e.Op, e.URL, e.Err)
}

// Unwrap returns the underlying error.
func (e *TransportError) Unwrap() error { return e.Err }

// IsTransient reports whether err, returned by Client.Call, is worth
// retrying later: connection failures (refused, reset, unreachable, DNS),
// timeouts, HTTP 5xx/408/429 without a SOAP fault, and the faults
// FaultError.Transient accepts (serviceTemporaryUnavailable,
// busyRetryLater). TLS certificate failures, other faults, malformed
// replies and cancellation by the caller are permanent.
func IsTransient(err error) bool {
	var fe *FaultError
	if errors.As(err, &fe) {
		return fe.Transient()
	}
	var te *TransportError
	if errors.As(err, &te) {
		return te.Transient
	}
	return false
}

// Call sends body as the request of op to url and returns the reply
// envelope. It generates a urn:uuid wsa:MessageID, posts
// `application/soap+xml; charset=utf-8; action="…"` and checks that the
// reply relates to the request (wsa:RelatesTo) and carries op's response
// action. A SOAP fault is returned as *FaultError; transport failures as
// *TransportError (see IsTransient); a malformed or mismatched reply as a
// *fault.Error wrapped with context.
func (c *Client) Call(ctx context.Context, url string, op Operation, body *etree.Element) (*Envelope, error) {
	if err := checkEndpoint(url); err != nil {
		return nil, &TransportError{Op: op, URL: url, Err: err}
	}
	req := &Envelope{
		Header: Header{To: url, Action: op.RequestAction(), MessageID: wire.NewInvocationID(c.Rand), From: c.From},
		Body:   body,
	}
	payload, err := Build(req)
	if err != nil {
		return nil, fmt.Errorf("soap: %s: %w", op, err)
	}
	resp, err := c.post(ctx, url, op, payload)
	if err != nil {
		return nil, err
	}
	defer func() {
		// Drain a little so the connection can be reused, then close.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
	}()
	return c.readReply(ctx, resp, url, op, req.Header.MessageID)
}

func checkEndpoint(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("invalid endpoint URL: %w", err)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return errors.New("endpoint URL must be http or https")
	}
	return nil
}

func (c *Client) post(ctx context.Context, url string, op Operation, payload []byte) (*http.Response, error) {
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(payload))
	if err != nil {
		return nil, &TransportError{Op: op, URL: url, Err: err}
	}
	hr.Header.Set("Content-Type", mime.FormatMediaType(ContentType,
		map[string]string{"charset": "utf-8", "action": op.RequestAction()}))
	hr.Header.Set("Accept", ContentType)
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(hr)
	if err != nil {
		return nil, &TransportError{Op: op, URL: url, Err: err, Transient: transientNetError(ctx, err)}
	}
	return resp, nil
}

// readReply parses the HTTP response into a reply envelope, a FaultError
// or a TransportError.
func (c *Client) readReply(ctx context.Context, resp *http.Response, url string, op Operation, msgID string) (*Envelope, error) {
	max := c.MaxResponseBytes
	if max <= 0 {
		max = DefaultMaxBytes
	}
	body := &readRecorder{r: resp.Body}
	env, perr := parse(body, Limits{MaxBytes: max}, modeReply)
	if body.err != nil {
		// The connection broke mid-reply: the request may or may not have
		// been processed, so this is a transport failure, not a bad reply.
		return nil, &TransportError{Op: op, URL: url, StatusCode: resp.StatusCode,
			Transient: transientNetError(ctx, body.err), Err: body.err}
	}
	if perr != nil {
		if resp.StatusCode != http.StatusOK {
			return nil, statusError(op, url, resp.StatusCode, perr)
		}
		return nil, fmt.Errorf("soap: %s %s: malformed reply: %w", op, url, perr)
	}
	if env.Header.RelatesTo != "" && env.Header.RelatesTo != msgID {
		return nil, fmt.Errorf("soap: %s %s: %w", op, url,
			fault.New(fault.BadlyFormedMsg, "reply wsa:RelatesTo does not match the request"))
	}
	if env.IsFault() {
		fe, err := ParseFaultError(env)
		if err != nil {
			return nil, fmt.Errorf("soap: %s %s: malformed fault: %w", op, url, err)
		}
		return nil, fe
	}
	if resp.StatusCode != http.StatusOK {
		return nil, statusError(op, url, resp.StatusCode, errors.New("non-fault reply with error status"))
	}
	if env.Header.RelatesTo == "" {
		return nil, fmt.Errorf("soap: %s %s: %w", op, url,
			fault.New(fault.BadlyFormedMsg, "reply has no wsa:RelatesTo"))
	}
	if env.Header.Action != op.ResponseAction() {
		return nil, fmt.Errorf("soap: %s %s: %w", op, url,
			fault.New(fault.BadWsaAction, "reply wsa:Action is not the operation's response action"))
	}
	return env, nil
}

// readRecorder remembers the first read error other than io.EOF.
type readRecorder struct {
	r   io.Reader
	err error
}

func (rr *readRecorder) Read(p []byte) (int, error) {
	n, err := rr.r.Read(p)
	if err != nil && err != io.EOF && rr.err == nil {
		rr.err = err
	}
	return n, err
}

// statusError classifies an HTTP error status without a SOAP fault.
func statusError(op Operation, url string, status int, err error) *TransportError {
	transient := status >= 500 || status == http.StatusRequestTimeout || status == http.StatusTooManyRequests
	return &TransportError{Op: op, URL: url, StatusCode: status, Transient: transient, Err: err}
}

// transientNetError classifies an http.Client.Do error: the caller's own
// cancellation and TLS certificate problems are permanent; timeouts and
// connection failures are transient.
func transientNetError(ctx context.Context, err error) bool {
	if errors.Is(ctx.Err(), context.Canceled) {
		return false
	}
	var (
		verr  *tls.CertificateVerificationError
		alert tls.AlertError
		uae   x509.UnknownAuthorityError
		hne   x509.HostnameError
		cie   x509.CertificateInvalidError
		rhe   tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &verr), errors.As(err, &alert), errors.As(err, &uae),
		errors.As(err, &hne), errors.As(err, &cie), errors.As(err, &rhe):
		return false
	}
	// A TLS alert from the server (crypto/tls reports it as a "remote
	// error" OpError) is its refusal of our certificate or protocol: a
	// configuration problem that retrying will not fix.
	var op *net.OpError
	for e := err; errors.As(e, &op); e = op.Err {
		if op.Op == "remote error" {
			return false
		}
	}
	return true
}
