package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/opensmd/portal/internal/auth"
	"github.com/opensmd/portal/internal/config"
	"github.com/opensmd/portal/internal/provider"
	"github.com/opensmd/portal/internal/store"
	"github.com/opensmd/portal/web"
)

func runServe(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet("serve", env)
	migrate := fs.Bool("migrate", false, "apply pending database migrations before serving")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(env.Getenv)
	if err != nil {
		return fmt.Errorf("configuration is invalid:\n%w", err)
	}
	log := newLogger(cfg.LogLevel, env.Stderr)
	secret, err := cfg.Secret()
	if err != nil {
		return err
	}
	db, err := openDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.close()
	if *migrate {
		if err := db.migrate(ctx); err != nil {
			return err
		}
	} else if err := db.checkSchema(ctx); err != nil {
		return err
	}

	st := store.New(db.pool)
	authSvc, err := auth.NewService(st, secret, auth.Policy{
		MaxFailures: cfg.Login.MaxFailures, LockoutDuration: cfg.Login.LockoutDuration,
		IPMaxFailures: cfg.Login.IPMaxFailures, IPWindow: cfg.Login.IPWindow,
		IdleTimeout: cfg.Session.IdleTimeout, AbsoluteTimeout: cfg.Session.AbsoluteTimeout,
	}, nil)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	e := web.New(web.Deps{
		Logger: log, Store: st, Auth: authSvc, Secret: secret, Secure: cfg.HTTP.TLS() || hasHTTPS(cfg.HTTP.BaseURL),
		TrustedProxies: cfg.HTTP.TrustedProxies, Registry: reg,
		Ready: func(ctx context.Context) error {
			if err := st.Ping(ctx); err != nil {
				return err
			}
			return db.checkSchema(ctx)
		},
	})
	if err := announceSetup(ctx, env, st, authSvc, cfg.HTTP.BaseURL); err != nil {
		return err
	}
	web, err := listen(cfg.HTTP.Addr, "PORTAL_HTTP_ADDR", newServer(e, log), cfg.HTTP.TLSCert, cfg.HTTP.TLSKey)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "OpenSMD portal is running at %s (press Ctrl+C to stop)\n", cfg.HTTP.BaseURL)
	servers := []*server{web}
	if cfg.SMD.Addr != "" {
		smd, err := smdListener(ctx, st, secret, cfg.SMD, log)
		if err != nil {
			web.ln.Close()
			return err
		}
		fmt.Fprintf(env.Stdout, "SMD endpoint (mutual TLS) at https://%s%s\n", smd.ln.Addr(), provider.EndpointPath)
		servers = append(servers, smd)
	}
	return serveAll(ctx, log, servers)
}

func newServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// smdListener is the provider-to-provider listener: client certificates
// must chain to the trust anchors as they stand at start-up (restart after
// `portal trust add`).
func smdListener(ctx context.Context, st *store.Store, secret []byte, cfg config.SMD, log *slog.Logger) (*server, error) {
	cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("PORTAL_SMD_TLS_CERT / PORTAL_SMD_TLS_KEY: %w", err)
	}
	keyring, err := provider.Load(ctx, st, secret)
	if err != nil {
		return nil, err
	}
	anchors := keyring.Trust().Roots
	if len(anchors.Subjects()) == 0 { //nolint:staticcheck // only counting our own pool
		log.Warn("No trust anchors: every SMD peer will be refused; add one with portal trust add")
	}
	srv := newServer(provider.Handler(st, cfg.ProviderURI, cfg.MaxBytes), log)
	srv.TLSConfig = provider.ServerTLS(cert, anchors)
	return listen(cfg.Addr, "PORTAL_SMD_ADDR", srv, "", "")
}

func hasHTTPS(baseURL string) bool { return len(baseURL) > 8 && baseURL[:8] == "https://" }

// announceSetup prints the one-time first-run link while no organisation
// exists. It goes to the console, not the JSON log, because it is a
// credential for the person starting the portal.
func announceSetup(ctx context.Context, env Env, st *store.Store, a *auth.Service, baseURL string) error {
	n, err := st.CountOrganisations(ctx)
	if err != nil || n > 0 {
		return err
	}
	token, err := a.NewSetupToken(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "\nNo organisation is set up yet. Open this one-time link to create one (valid 24 hours):\n\n    %s/setup?token=%s\n\nOr load demo data instead: go tool task demo\n\n", baseURL, token)
	return nil
}

// server is an http.Server with its listener; TLS when certFile is set or
// the server carries its own TLSConfig.
type server struct {
	srv               *http.Server
	ln                net.Listener
	certFile, keyFile string
}

func listen(addr, variable string, srv *http.Server, certFile, keyFile string) (*server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: listen on %s: %w", variable, addr, err)
	}
	return &server{srv: srv, ln: ln, certFile: certFile, keyFile: keyFile}, nil
}

func (s *server) serve() error {
	if s.certFile != "" || s.srv.TLSConfig != nil {
		return s.srv.ServeTLS(s.ln, s.certFile, s.keyFile)
	}
	return s.srv.Serve(s.ln)
}

// serveAll runs the servers until one fails or ctx ends (SIGINT/SIGTERM),
// then shuts them all down gracefully: in-flight requests get 30 s.
func serveAll(ctx context.Context, log *slog.Logger, servers []*server) error {
	errc := make(chan error, len(servers))
	for _, s := range servers {
		log.Info("Listening", "addr", s.ln.Addr().String())
		go func() { errc <- s.serve() }()
	}
	var first error
	select {
	case first = <-errc:
	case <-ctx.Done():
	}
	log.Info("Shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, s := range servers {
		if err := s.srv.Shutdown(shutdownCtx); err != nil && first == nil {
			first = err
		}
	}
	if first != nil && !errors.Is(first, http.ErrServerClosed) {
		return first
	}
	log.Info("Portal stopped")
	return nil
}
