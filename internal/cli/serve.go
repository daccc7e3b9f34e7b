package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/opensmd/portal/internal/auditcheck"
	"github.com/opensmd/portal/internal/auth"
	"github.com/opensmd/portal/internal/config"
	"github.com/opensmd/portal/internal/jobs"
	"github.com/opensmd/portal/internal/mailbox"
	"github.com/opensmd/portal/internal/pipeline"
	"github.com/opensmd/portal/internal/provider"
	"github.com/opensmd/portal/internal/store"
	"github.com/opensmd/portal/web"
)

// Roles a serve process can run; "all" runs every one.
const (
	roleWeb    = "web"
	roleSMD    = "smd"
	roleWorker = "worker"
)

func parseRoles(v string) (map[string]bool, error) {
	roles := map[string]bool{}
	for _, r := range strings.Split(v, ",") {
		switch r = strings.TrimSpace(r); r {
		case "all":
			roles[roleWeb], roles[roleSMD], roles[roleWorker] = true, true, true
		case roleWeb, roleSMD, roleWorker:
			roles[r] = true
		default:
			return nil, usageError{fmt.Sprintf("--role %q: want web, smd, worker or all (comma-separated)", r)}
		}
	}
	return roles, nil
}

func runServe(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet("serve", env)
	migrate := fs.Bool("migrate", false, "apply pending database migrations before serving")
	roleFlag := fs.String("role", "all", "what this process runs: web, smd (the SMD listener), worker, or all; comma-separated")
	if err := fs.Parse(args); err != nil {
		return err
	}
	roles, err := parseRoles(*roleFlag)
	if err != nil {
		return err
	}
	cfg, err := config.Load(env.Getenv)
	if err != nil {
		return fmt.Errorf("configuration is invalid:\n%w", err)
	}
	// demoAvailable: a portal with no SMD configuration may load the demo
	// network, which brings its own loopback SMD endpoint.
	demoAvailable := *roleFlag == "all" && cfg.SMD.Addr == ""
	if demoAvailable {
		if s, ok := demoSMD(cfg.DataDir, cfg.SMD); ok {
			cfg.SMD, demoAvailable = s, false
		}
	}
	if *roleFlag == "all" && cfg.SMD.Addr == "" {
		roles[roleSMD] = false // no SMD listener configured
	}
	if roles[roleSMD] && cfg.SMD.Addr == "" {
		return fmt.Errorf("PORTAL_SMD_ADDR: required for --role smd")
	}
	if roles[roleWorker] && (cfg.SMD.URL == "" || cfg.SMD.TLSCert == "" || cfg.SMD.TLSKey == "") && cfg.SMD.Addr == "" && *roleFlag != "all" {
		return fmt.Errorf("PORTAL_SMD_URL, PORTAL_SMD_TLS_CERT and PORTAL_SMD_TLS_KEY: required for --role worker (the worker delivers as this provider)")
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
	// Profiles and users may have changed while the portal was down.
	if _, err := provider.SyncHostedListings(ctx, st); err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	pipe, jobClient, err := newPipeline(ctx, cfg, st, secret, log, reg, roles[roleWorker])
	if err != nil {
		return err
	}
	mail, err := mailbox.New(mailbox.Config{Store: st, Pipeline: pipe, Master: secret, Logger: log,
		OverdueAfter: cfg.SMD.OverdueAfter})
	if err != nil {
		return err
	}
	// Before the workers start: every delivery into an inbox is recorded
	// and answered by the mailbox.
	pipe.SetDelivered(mail.Delivered)
	var servers []*server
	closeAll := func() {
		for _, s := range servers {
			s.ln.Close()
		}
	}
	var late lateServers
	var loadDemo func(context.Context) error
	if demoAvailable {
		loadDemo = func(rctx context.Context) error {
			smd, err := loadDemoNetwork(rctx, st, secret, cfg.DataDir, cfg.SMD)
			if err != nil {
				return err
			}
			tc, err := demoClientTLS(rctx, st, secret, smd)
			if err != nil {
				return err
			}
			pipe.SetIdentity(tc, smd.URL)
			pipe.ReloadKeys()
			srv, err := smdListener(rctx, st, secret, smd, pipe, log)
			if err != nil {
				return err
			}
			late.start(srv, log)
			fmt.Fprintf(env.Stdout, "DEMO network loaded; SMD endpoint (mutual TLS) at %s\n", smd.URL)
			return nil
		}
	}
	if roles[roleWeb] {
		authSvc, err := auth.NewService(st, secret, auth.Policy{
			MaxFailures: cfg.Login.MaxFailures, LockoutDuration: cfg.Login.LockoutDuration,
			IPMaxFailures: cfg.Login.IPMaxFailures, IPWindow: cfg.Login.IPWindow,
			IdleTimeout: cfg.Session.IdleTimeout, AbsoluteTimeout: cfg.Session.AbsoluteTimeout,
		}, nil)
		if err != nil {
			return err
		}
		e := web.New(web.Deps{
			Logger: log, Store: st, Auth: authSvc, Secret: secret, Secure: cfg.HTTP.TLS() || hasHTTPS(cfg.HTTP.BaseURL),
			TrustedProxies: cfg.HTTP.TrustedProxies, Registry: reg, Mailbox: mail, LoadDemo: loadDemo,
			Publisher: provider.Publisher{Keys: provider.NewKeyCache(st, secret, 0), URL: cfg.SMD.URL}, BaseURL: cfg.HTTP.BaseURL,
			FHIRRemotes: cfg.FHIRRemotes, Jobs: jobClient,
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
		w, err := listen(cfg.HTTP.Addr, "PORTAL_HTTP_ADDR", newServer(e, log), cfg.HTTP.TLSCert, cfg.HTTP.TLSKey)
		if err != nil {
			return err
		}
		servers = append(servers, w)
		fmt.Fprintf(env.Stdout, "OpenSMD portal is running at %s (press Ctrl+C to stop)\n", cfg.HTTP.BaseURL)
	}
	if roles[roleSMD] {
		smd, err := smdListener(ctx, st, secret, cfg.SMD, pipe, log)
		if err != nil {
			closeAll()
			return err
		}
		servers = append(servers, smd)
		fmt.Fprintf(env.Stdout, "SMD endpoint (mutual TLS) at %s\n", cfg.SMD.URL)
	}
	if addr := cfg.DebugAddr; addr != "" {
		// Go's profiler, for measuring the pipeline; loopback only (config).
		d, err := listen(addr, "PORTAL_DEBUG_ADDR", newServer(debugHandler(), log), "", "")
		if err != nil {
			closeAll()
			return err
		}
		d.srv.WriteTimeout = 0 // profiles stream for their duration
		servers = append(servers, d)
	}
	if roles[roleWorker] {
		if err := jobClient.Start(ctx); err != nil {
			closeAll()
			return fmt.Errorf("start workers: %w", err)
		}
		fmt.Fprintf(env.Stdout, "SMD workers running (%d per queue)\n", cfg.SMD.Workers)
	}
	return serveAll(ctx, log, servers, &late, func(ctx context.Context) error {
		if !roles[roleWorker] {
			return nil
		}
		return jobClient.Stop(ctx) // finishes the jobs in hand
	})
}

// debugHandler serves net/http/pprof.
func debugHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// newPipeline builds the SMD pipeline and its job client (working jobs
// when work is set, else insert-only). The TLS client identity is loaded
// when configured.
func newPipeline(ctx context.Context, cfg config.Config, st *store.Store, secret []byte, log *slog.Logger,
	reg prometheus.Registerer, work bool) (*pipeline.Pipeline, *jobs.Client, error) {
	pc := pipeline.Config{
		Store: st, Master: secret, Keys: provider.NewKeyCache(st, secret, 0),
		EndpointURL: cfg.SMD.URL, ProviderURI: cfg.SMD.ProviderURI, MaxBytes: cfg.SMD.MaxBytes,
		DefaultExpiry: cfg.SMD.Expiry, RetryMax: cfg.SMD.RetryMax, ELSURL: cfg.SMD.ELSURL, CallTimeout: cfg.SMD.JobTimeout * 2 / 3, Logger: log,
	}
	if cfg.SMD.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.SMD.TLSCert, cfg.SMD.TLSKey)
		if err != nil {
			return nil, nil, fmt.Errorf("PORTAL_SMD_TLS_CERT / PORTAL_SMD_TLS_KEY: %w", err)
		}
		kr, err := pc.Keys.Get(ctx)
		if err != nil {
			return nil, nil, err
		}
		pc.TLS = pipeline.ClientTLS(cert, kr.Trust().Roots)
	}
	if reg != nil {
		pc.Metrics = pipeline.NewMetrics()
		pc.Metrics.Register(reg, st)
	}
	p, err := pipeline.New(pc)
	if err != nil {
		return nil, nil, err
	}
	o := jobs.Options{Concurrency: cfg.SMD.Workers, JobTimeout: cfg.SMD.JobTimeout, Logger: riverLogger(log)}
	if work {
		o.Workers = p.Workers()
		auditcheck.AddWorker(o.Workers, st, log)
		o.AuditVerifyEvery = cfg.AuditVerifyEvery
	}
	client, err := jobs.New(st.Pool(), o)
	if err != nil {
		return nil, nil, err
	}
	p.SetJobs(client)
	return p, client, nil
}

// riverLogger keeps River's routine chatter out of the log.
func riverLogger(log *slog.Logger) *slog.Logger {
	return slog.New(levelFloor{log.Handler(), slog.LevelWarn})
}

type levelFloor struct {
	slog.Handler
	min slog.Level
}

func (h levelFloor) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
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
func smdListener(ctx context.Context, st *store.Store, secret []byte, cfg config.SMD, p *pipeline.Pipeline, log *slog.Logger) (*server, error) {
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
	srv := newServer(p.Handler(), log)
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
	fmt.Fprintf(env.Stdout, "\nNo organisation is set up yet. Open this one-time link to create one (valid 24 hours):\n\n    %s/setup?token=%s\n\nOr open %s and load the demo network.\n\n", baseURL, token, baseURL)
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
// then shuts them all down gracefully: in-flight requests get 30 s, then
// stop (the workers) gets the same deadline to finish its jobs.
func serveAll(ctx context.Context, log *slog.Logger, servers []*server, late *lateServers, stop func(context.Context) error) error {
	errc := make(chan error, len(servers))
	for _, s := range servers {
		log.Info("Listening", "addr", s.ln.Addr().String())
		go func() { errc <- s.serve() }()
	}
	var first error
	if len(servers) == 0 {
		<-ctx.Done() // a worker-only process
	} else {
		select {
		case first = <-errc:
		case <-ctx.Done():
		}
	}
	log.Info("Shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, s := range append(servers, late.list()...) {
		if err := s.srv.Shutdown(shutdownCtx); err != nil && first == nil {
			first = err
		}
	}
	if err := stop(shutdownCtx); err != nil && first == nil {
		first = err
	}
	if first != nil && !errors.Is(first, http.ErrServerClosed) {
		return first
	}
	log.Info("Portal stopped")
	return nil
}

// lateServers are servers started while running (the demo network's SMD
// endpoint); serveAll shuts them down with the others.
type lateServers struct {
	mu      sync.Mutex
	servers []*server
}

func (l *lateServers) start(s *server, log *slog.Logger) {
	l.mu.Lock()
	l.servers = append(l.servers, s)
	l.mu.Unlock()
	log.Info("Listening", "addr", s.ln.Addr().String())
	go func() {
		if err := s.serve(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("Server failed", "addr", s.ln.Addr().String(), "error", err)
		}
	}()
}

func (l *lateServers) list() []*server {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*server(nil), l.servers...)
}
