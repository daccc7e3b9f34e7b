package cli

import (
	"context"
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
	srv := &http.Server{
		Handler:           e,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return serveHTTP(ctx, env, log, srv, cfg.HTTP)
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

// serveHTTP listens, prints the URL, and shuts down gracefully when ctx
// ends (SIGINT/SIGTERM): in-flight requests get 30 s to finish.
func serveHTTP(ctx context.Context, env Env, log *slog.Logger, srv *http.Server, cfg config.HTTP) error {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("PORTAL_HTTP_ADDR: listen on %s: %w", cfg.Addr, err)
	}
	fmt.Fprintf(env.Stdout, "OpenSMD portal is running at %s (press Ctrl+C to stop)\n", cfg.BaseURL)
	log.Info("Portal started", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() {
		if cfg.TLS() {
			errc <- srv.ServeTLS(ln, cfg.TLSCert, cfg.TLSKey)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("Shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("Portal stopped")
	return nil
}
