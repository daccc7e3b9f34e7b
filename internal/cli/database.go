package cli

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opensmd/portal/internal/config"
	"github.com/opensmd/portal/internal/pgembed"
	"github.com/opensmd/portal/internal/store"
)

// database is an open pool, plus the private cluster behind it when no
// DATABASE_URL was given.
type database struct {
	pool    *pgxpool.Pool
	cluster *pgembed.Cluster
	log     *slog.Logger
}

func openDatabase(ctx context.Context, cfg config.Config, log *slog.Logger) (*database, error) {
	d := &database{log: log}
	url := cfg.DatabaseURL
	if url == "" {
		c, err := pgembed.Start(ctx, pgembed.Options{DataDir: filepath.Join(cfg.DataDir, "pg"), Logger: log})
		if err != nil {
			return nil, fmt.Errorf("start embedded PostgreSQL: %w", err)
		}
		d.cluster = c
		url = c.URL()
	}
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		d.close()
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	if !strings.Contains(url, "pool_max_conns") {
		// Web requests, SMD requests and three queues of workers share it.
		pcfg.MaxConns = 40
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err == nil {
		err = pool.Ping(ctx)
	}
	if err != nil {
		d.close()
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	d.pool = pool
	return d, nil
}

func (d *database) close() {
	if d.pool != nil {
		d.pool.Close()
	}
	if d.cluster != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := d.cluster.Stop(ctx); err != nil {
			d.log.Error("Embedded PostgreSQL did not stop cleanly", "error", err)
		}
	}
}

// migrate applies pending migrations.
func (d *database) migrate(ctx context.Context) error { return d.withConn(ctx, store.Migrate) }

// checkSchema fails when the schema is behind the binary's migrations.
func (d *database) checkSchema(ctx context.Context) error { return d.withConn(ctx, store.CheckSchema) }

// withConn runs fn on one pooled connection (tern works on a *pgx.Conn).
func (d *database) withConn(ctx context.Context, fn func(context.Context, *pgx.Conn) error) error {
	conn, err := d.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	return fn(ctx, conn.Conn())
}

// withStore loads the configuration, opens and migrates the database (so
// the command works on a fresh data directory) and runs fn with a Store and
// the master secret.
func withStore(ctx context.Context, env Env, fn func(st *store.Store, master []byte) error) error {
	cfg, err := config.Load(env.Getenv)
	if err != nil {
		return fmt.Errorf("configuration is invalid:\n%w", err)
	}
	master, err := cfg.Secret()
	if err != nil {
		return err
	}
	db, err := openDatabase(ctx, cfg, newLogger(cfg.LogLevel, env.Stderr))
	if err != nil {
		return err
	}
	defer db.close()
	if err := db.migrate(ctx); err != nil {
		return err
	}
	return fn(store.New(db.pool), master)
}

func runMigrate(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet("migrate", env)
	if err := fs.Parse(args); err != nil {
		return err
	}
	return withStore(ctx, env, func(*store.Store, []byte) error {
		fmt.Fprintln(env.Stdout, "Database schema is up to date.")
		return nil
	})
}

func runConfig(_ context.Context, env Env, args []string) error {
	if len(args) != 1 || args[0] != "check" {
		return usageError{"usage: portal config check"}
	}
	cfg, err := config.Load(env.Getenv)
	if err != nil {
		return fmt.Errorf("configuration is invalid:\n%w", err)
	}
	for _, line := range cfg.Redacted() {
		fmt.Fprintln(env.Stdout, line)
	}
	fmt.Fprintln(env.Stdout, "Configuration is valid.")
	return nil
}
