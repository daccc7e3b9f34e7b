// Package config loads the portal's configuration from environment variables
// into one typed struct. Every error names the variable at fault.
package config

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Config is the effective configuration of one portal process.
type Config struct {
	// DatabaseURL selects an external PostgreSQL; empty starts the private
	// cluster under DataDir/pg.
	DatabaseURL string
	DataDir     string
	LogLevel    string
	HTTP        HTTP
	SMD         SMD
	Session     Session
	Login       Login
	// SecretKey and SecretKeyFile: one of them provides the 32+ byte master
	// secret from which cookie and field-encryption keys are derived.
	SecretKey     string
	SecretKeyFile string
	// FHIRRemotes are base URLs of other providers' FHIR provider
	// directories that directory searches also query.
	FHIRRemotes []string
	// AuditVerifyEvery is how often worker processes re-verify the audit
	// trail's hash chain (and once at start-up).
	AuditVerifyEvery time.Duration
	// DebugAddr, if set, serves Go's profiler (no sign-in): loopback only.
	DebugAddr string
}

// HTTP configures the browser-facing listener.
type HTTP struct {
	Addr    string
	BaseURL string
	TLSCert string
	TLSKey  string
	// TrustedProxies are the only peers whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
}

// TLS reports whether the portal serves HTTPS itself.
func (h HTTP) TLS() bool { return h.TLSCert != "" }

// SMD configures the provider-to-provider listener (SOAP over mutual TLS,
// ATS 5820 TLS profile). Empty Addr disables it.
type SMD struct {
	Addr    string
	TLSCert string
	TLSKey  string
	// ProviderURI identifies this provider (its operator's HPI-O URI) as
	// serviceProvider in ELS answers and routeRecords.
	ProviderURI string
	MaxBytes    int64
	// URL is the SMD endpoint's public URL (default https://Addr/smd):
	// the wsa:To requests must carry and the TRD endpoint put in the
	// routeRecord of every message sent.
	URL string
	// Expiry is how long an outbound message may take to deliver.
	Expiry time.Duration
	// RetryMax caps the backoff between delivery attempts.
	RetryMax time.Duration
	// OverdueAfter is how long a sent message may stay undelivered after
	// it was queued before the sent list flags it overdue.
	OverdueAfter time.Duration
	// Workers is how many jobs of each queue a process works at once.
	Workers int
	// ELSURL, if set, is an ELS Lookup endpoint for receivers the local
	// directory does not know.
	ELSURL string
	// JobTimeout bounds one run of a pipeline job (a delivery call gets
	// two thirds of it); a job left by a killed process is taken over
	// after 1.5 × JobTimeout.
	JobTimeout time.Duration
}

// Session configures login sessions.
type Session struct {
	IdleTimeout     time.Duration
	AbsoluteTimeout time.Duration
}

// Login configures brute-force throttling.
type Login struct {
	MaxFailures     int           // per account before a lockout
	LockoutDuration time.Duration // how long an account stays locked
	IPMaxFailures   int           // failed attempts per IP within IPWindow
	IPWindow        time.Duration
}

// Load reads the configuration through getenv (os.Getenv in production) and
// validates it.
func Load(getenv func(string) string) (Config, error) {
	p := parser{getenv: getenv}
	c := Config{
		DatabaseURL:      p.str("DATABASE_URL", ""),
		DataDir:          p.str("PORTAL_DATA_DIR", "var"),
		LogLevel:         p.str("PORTAL_LOG_LEVEL", "info"),
		SecretKey:        p.str("PORTAL_SECRET_KEY", ""),
		SecretKeyFile:    p.str("PORTAL_SECRET_KEY_FILE", ""),
		FHIRRemotes:      p.list("PORTAL_FHIR_REMOTES"),
		AuditVerifyEvery: p.duration("PORTAL_AUDIT_VERIFY_EVERY", time.Hour),
		DebugAddr:        p.str("PORTAL_DEBUG_ADDR", ""),
		HTTP: HTTP{
			Addr:           p.str("PORTAL_HTTP_ADDR", "127.0.0.1:8080"),
			BaseURL:        p.str("PORTAL_BASE_URL", ""),
			TLSCert:        p.str("PORTAL_HTTP_TLS_CERT", ""),
			TLSKey:         p.str("PORTAL_HTTP_TLS_KEY", ""),
			TrustedProxies: p.prefixes("PORTAL_TRUSTED_PROXIES"),
		},
		SMD: SMD{
			Addr:         p.str("PORTAL_SMD_ADDR", ""),
			TLSCert:      p.str("PORTAL_SMD_TLS_CERT", ""),
			TLSKey:       p.str("PORTAL_SMD_TLS_KEY", ""),
			ProviderURI:  p.str("PORTAL_SMD_PROVIDER_URI", ""),
			MaxBytes:     int64(p.int("PORTAL_SMD_MAX_BYTES", 50<<20)),
			URL:          p.str("PORTAL_SMD_URL", ""),
			Expiry:       p.duration("PORTAL_SMD_EXPIRY", 48*time.Hour),
			RetryMax:     p.duration("PORTAL_SMD_RETRY_MAX", 10*time.Minute),
			OverdueAfter: p.duration("PORTAL_SMD_OVERDUE_AFTER", 15*time.Minute),
			Workers:      p.int("PORTAL_WORKERS", 16),
			ELSURL:       p.str("PORTAL_ELS_URL", ""),
			JobTimeout:   p.duration("PORTAL_JOB_TIMEOUT", 90*time.Second),
		},
		Session: Session{
			IdleTimeout:     p.duration("PORTAL_SESSION_IDLE_TIMEOUT", 15*time.Minute),
			AbsoluteTimeout: p.duration("PORTAL_SESSION_MAX_AGE", 12*time.Hour),
		},
		Login: Login{
			MaxFailures:     p.int("PORTAL_LOGIN_MAX_FAILURES", 5),
			LockoutDuration: p.duration("PORTAL_LOGIN_LOCKOUT", 15*time.Minute),
			IPMaxFailures:   p.int("PORTAL_LOGIN_IP_MAX_FAILURES", 30),
			IPWindow:        p.duration("PORTAL_LOGIN_IP_WINDOW", 15*time.Minute),
		},
	}
	if c.SecretKeyFile == "" && c.SecretKey == "" {
		c.SecretKeyFile = filepath.Join(c.DataDir, "secret.key")
	}
	if c.HTTP.BaseURL == "" {
		scheme := "http"
		if c.HTTP.TLS() {
			scheme = "https"
		}
		c.HTTP.BaseURL = scheme + "://" + c.HTTP.Addr
	}
	if c.SMD.URL == "" && c.SMD.Addr != "" {
		c.SMD.URL = "https://" + c.SMD.Addr + "/smd"
	}
	if err := errors.Join(append(p.errs, c.validate()...)...); err != nil {
		return Config{}, err
	}
	return c, nil
}

func (c Config) validate() []error {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{name}, args...)...))
	}
	if c.DatabaseURL != "" {
		if _, err := pgconn.ParseConfig(c.DatabaseURL); err != nil {
			bad("DATABASE_URL", "must be a PostgreSQL URL (postgres://user@host/db) or key=value connection string")
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("PORTAL_LOG_LEVEL", "must be one of debug, info, warn, error (got %q)", c.LogLevel)
	}
	if _, err := netip.ParseAddrPort(c.HTTP.Addr); err != nil {
		bad("PORTAL_HTTP_ADDR", "must be host:port with an IP address, e.g. 127.0.0.1:8080 (got %q)", c.HTTP.Addr)
	}
	if u, err := url.Parse(c.HTTP.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("PORTAL_BASE_URL", "must be an absolute http(s) URL (got %q)", c.HTTP.BaseURL)
	}
	if (c.HTTP.TLSCert == "") != (c.HTTP.TLSKey == "") {
		bad("PORTAL_HTTP_TLS_CERT", "and PORTAL_HTTP_TLS_KEY must be set together")
	}
	if c.SMD.Addr != "" {
		if _, err := netip.ParseAddrPort(c.SMD.Addr); err != nil {
			bad("PORTAL_SMD_ADDR", "must be host:port with an IP address, e.g. 127.0.0.1:8443 (got %q)", c.SMD.Addr)
		}
		if c.SMD.TLSCert == "" || c.SMD.TLSKey == "" {
			bad("PORTAL_SMD_TLS_CERT", "and PORTAL_SMD_TLS_KEY are required when PORTAL_SMD_ADDR is set (the SMD listener is mutual TLS only)")
		}
		if u, err := url.Parse(c.SMD.ProviderURI); err != nil || !u.IsAbs() {
			bad("PORTAL_SMD_PROVIDER_URI", "must be an absolute URI naming this provider, e.g. http://ns.electronichealth.net.au/id/hi/hpio/1.0/<HPI-O> (got %q)", c.SMD.ProviderURI)
		}
	}
	if c.SMD.URL != "" {
		if u, err := url.Parse(c.SMD.URL); err != nil || u.Scheme != "https" || u.Host == "" {
			bad("PORTAL_SMD_URL", "must be the https:// URL other providers reach this SMD endpoint at (got %q)", c.SMD.URL)
		}
	}
	if c.SMD.ELSURL != "" {
		if u, err := url.Parse(c.SMD.ELSURL); err != nil || u.Scheme != "https" || u.Host == "" {
			bad("PORTAL_ELS_URL", "must be an https:// URL (got %q)", c.SMD.ELSURL)
		}
	}
	for _, r := range c.FHIRRemotes {
		if err := checkRemote(r); err != nil {
			bad("PORTAL_FHIR_REMOTES", "%q %s", r, err)
		}
	}
	if c.SMD.JobTimeout < 5*time.Second {
		bad("PORTAL_JOB_TIMEOUT", "must be at least 5s")
	}
	if c.SMD.Expiry < time.Second {
		bad("PORTAL_SMD_EXPIRY", "must be at least 1s")
	}
	if c.SMD.RetryMax < time.Second {
		bad("PORTAL_SMD_RETRY_MAX", "must be at least 1s")
	}
	if c.SMD.OverdueAfter < time.Minute {
		bad("PORTAL_SMD_OVERDUE_AFTER", "must be at least 1m")
	}
	if c.AuditVerifyEvery < time.Minute {
		bad("PORTAL_AUDIT_VERIFY_EVERY", "must be at least 1m")
	}
	if c.DebugAddr != "" {
		if ap, err := netip.ParseAddrPort(c.DebugAddr); err != nil || !ap.Addr().IsLoopback() {
			bad("PORTAL_DEBUG_ADDR", "must be a loopback host:port such as 127.0.0.1:6060: the profiler has no sign-in (got %q)", c.DebugAddr)
		}
	}
	if c.SMD.Workers < 1 || c.SMD.Workers > 1000 {
		bad("PORTAL_WORKERS", "must be between 1 and 1000")
	}
	if c.SMD.MaxBytes < 1<<20 {
		bad("PORTAL_SMD_MAX_BYTES", "must be at least 1048576")
	}
	if c.SecretKey != "" && len(c.SecretKey) < 32 {
		bad("PORTAL_SECRET_KEY", "must be at least 32 characters")
	}
	if c.SecretKey != "" && c.SecretKeyFile != "" {
		bad("PORTAL_SECRET_KEY", "and PORTAL_SECRET_KEY_FILE are mutually exclusive")
	}
	if c.Session.IdleTimeout < time.Minute {
		bad("PORTAL_SESSION_IDLE_TIMEOUT", "must be at least 1m")
	}
	if c.Session.AbsoluteTimeout < c.Session.IdleTimeout {
		bad("PORTAL_SESSION_MAX_AGE", "must not be shorter than PORTAL_SESSION_IDLE_TIMEOUT")
	}
	if c.Login.MaxFailures < 1 {
		bad("PORTAL_LOGIN_MAX_FAILURES", "must be at least 1")
	}
	if c.Login.IPMaxFailures < 1 {
		bad("PORTAL_LOGIN_IP_MAX_FAILURES", "must be at least 1")
	}
	return errs
}

// Secret returns the master secret, creating SecretKeyFile with a fresh
// random key (mode 0600) on first use so a new install needs no set-up.
func (c Config) Secret() ([]byte, error) {
	if c.SecretKey != "" {
		return []byte(c.SecretKey), nil
	}
	b, err := os.ReadFile(c.SecretKeyFile)
	if err == nil {
		key := []byte(strings.TrimSpace(string(b)))
		if len(key) < 32 {
			return nil, fmt.Errorf("PORTAL_SECRET_KEY_FILE: %s holds fewer than 32 characters", c.SecretKeyFile)
		}
		return key, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("PORTAL_SECRET_KEY_FILE: %w", err)
	}
	// 0711: the private PostgreSQL cluster beside the key runs as another
	// user when portal runs as root and must traverse this directory; the
	// key file itself is 0600.
	if err := os.MkdirAll(filepath.Dir(c.SecretKeyFile), 0o711); err != nil {
		return nil, fmt.Errorf("PORTAL_SECRET_KEY_FILE: %w", err)
	}
	key := []byte(rand.Text() + rand.Text())
	f, err := os.OpenFile(c.SecretKeyFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("PORTAL_SECRET_KEY_FILE: %w", err)
	}
	if _, err := f.Write(append(key, '\n')); err != nil {
		f.Close()
		return nil, fmt.Errorf("PORTAL_SECRET_KEY_FILE: %w", err)
	}
	return key, f.Close()
}

// Redacted lists the effective settings as name=value lines with secrets
// hidden, for `portal config check`.
func (c Config) Redacted() []string {
	proxies := make([]string, len(c.HTTP.TrustedProxies))
	for i, p := range c.HTTP.TrustedProxies {
		proxies[i] = p.String()
	}
	db := "(embedded PostgreSQL under " + filepath.Join(c.DataDir, "pg") + ")"
	if c.DatabaseURL != "" {
		db = redactURL(c.DatabaseURL)
	}
	secret := "(file " + c.SecretKeyFile + ")"
	if c.SecretKey != "" {
		secret = "(set, redacted)"
	}
	return []string{
		"DATABASE_URL=" + db,
		"PORTAL_DATA_DIR=" + c.DataDir,
		"PORTAL_LOG_LEVEL=" + c.LogLevel,
		"PORTAL_SECRET_KEY=" + secret,
		"PORTAL_HTTP_ADDR=" + c.HTTP.Addr,
		"PORTAL_BASE_URL=" + c.HTTP.BaseURL,
		"PORTAL_HTTP_TLS_CERT=" + c.HTTP.TLSCert,
		"PORTAL_HTTP_TLS_KEY=" + c.HTTP.TLSKey,
		"PORTAL_TRUSTED_PROXIES=" + strings.Join(proxies, ","),
		"PORTAL_SMD_ADDR=" + c.SMD.Addr,
		"PORTAL_SMD_TLS_CERT=" + c.SMD.TLSCert,
		"PORTAL_SMD_TLS_KEY=" + c.SMD.TLSKey,
		"PORTAL_SMD_PROVIDER_URI=" + c.SMD.ProviderURI,
		"PORTAL_SMD_MAX_BYTES=" + strconv.FormatInt(c.SMD.MaxBytes, 10),
		"PORTAL_SMD_URL=" + c.SMD.URL,
		"PORTAL_SMD_EXPIRY=" + c.SMD.Expiry.String(),
		"PORTAL_SMD_RETRY_MAX=" + c.SMD.RetryMax.String(),
		"PORTAL_SMD_OVERDUE_AFTER=" + c.SMD.OverdueAfter.String(),
		"PORTAL_WORKERS=" + strconv.Itoa(c.SMD.Workers),
		"PORTAL_ELS_URL=" + c.SMD.ELSURL,
		"PORTAL_JOB_TIMEOUT=" + c.SMD.JobTimeout.String(),
		"PORTAL_FHIR_REMOTES=" + strings.Join(c.FHIRRemotes, ","),
		"PORTAL_AUDIT_VERIFY_EVERY=" + c.AuditVerifyEvery.String(),
		"PORTAL_DEBUG_ADDR=" + c.DebugAddr,
		"PORTAL_SESSION_IDLE_TIMEOUT=" + c.Session.IdleTimeout.String(),
		"PORTAL_SESSION_MAX_AGE=" + c.Session.AbsoluteTimeout.String(),
		"PORTAL_LOGIN_MAX_FAILURES=" + strconv.Itoa(c.Login.MaxFailures),
		"PORTAL_LOGIN_LOCKOUT=" + c.Login.LockoutDuration.String(),
		"PORTAL_LOGIN_IP_MAX_FAILURES=" + strconv.Itoa(c.Login.IPMaxFailures),
		"PORTAL_LOGIN_IP_WINDOW=" + c.Login.IPWindow.String(),
	}
}

// checkRemote accepts an absolute FHIR base URL: https, or http to a
// loopback host only (clinical directory data crosses the network).
func checkRemote(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return errors.New("must be an absolute http(s) URL such as https://directory.example.org/fhir/")
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return errors.New("must be a base URL without credentials, query or fragment")
	}
	if u.Scheme == "http" {
		h := u.Hostname()
		if ip, err := netip.ParseAddr(h); !(h == "localhost" || (err == nil && ip.IsLoopback())) {
			return errors.New("must use https (http is accepted for loopback hosts only)")
		}
	}
	return nil
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable, redacted)"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "REDACTED")
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "REDACTED")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

type parser struct {
	getenv func(string) string
	errs   []error
}

func (p *parser) str(name, def string) string {
	if v := strings.TrimSpace(p.getenv(name)); v != "" {
		return v
	}
	return def
}

func (p *parser) int(name string, def int) int {
	v := p.getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		p.errs = append(p.errs, fmt.Errorf("%s: must be a whole number (got %q)", name, v))
		return def
	}
	return n
}

func (p *parser) duration(name string, def time.Duration) time.Duration {
	v := p.getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		p.errs = append(p.errs, fmt.Errorf("%s: must be a duration such as 15m or 12h (got %q)", name, v))
		return def
	}
	return d
}

// list splits a comma-separated variable, dropping empty items.
func (p *parser) list(name string) []string {
	var out []string
	for _, s := range strings.Split(p.getenv(name), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func (p *parser) prefixes(name string) []netip.Prefix {
	v := p.getenv(name)
	if v == "" {
		return nil
	}
	var out []netip.Prefix
	for _, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		pf, err := netip.ParsePrefix(s)
		if err != nil {
			addr, aerr := netip.ParseAddr(s)
			if aerr != nil {
				p.errs = append(p.errs, fmt.Errorf("%s: %q is not an IP address or CIDR prefix", name, s))
				continue
			}
			pf = netip.PrefixFrom(addr, addr.BitLen())
		}
		out = append(out, pf)
	}
	return out
}
