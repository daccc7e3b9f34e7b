// Package pgembed runs a private PostgreSQL cluster from the system's
// PostgreSQL server binaries (initdb, pg_ctl, postgres), for development and
// for tests when no DATABASE_URL is configured.
//
// The cluster listens on a unix socket only (listen_addresses is empty), in
// a mode-0700 directory; local connections use trust authentication and TCP
// is rejected in pg_hba.conf, so no password ever exists. When the process
// runs as root the server programs run as an unprivileged user instead
// (they refuse to run as root).
package pgembed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Options configures Start.
type Options struct {
	// DataDir is the cluster's data directory (e.g. ./var/pg). It is kept
	// across restarts and created (with initdb) if missing or empty.
	DataDir string
	// BinDir holds initdb, pg_ctl and postgres. Empty means: the directory
	// of initdb found in PATH, else the highest /usr/lib/postgresql/*/bin.
	BinDir string
	// Logger receives lifecycle messages; nil discards them.
	Logger *slog.Logger
	// Database is created if missing; empty means "portal".
	Database string
	// StartTimeout bounds server start-up and shutdown; zero means 60s.
	StartTimeout time.Duration
	// Ephemeral is for throwaway clusters (tests): initdb skips fsync, the
	// server runs with fsync, synchronous_commit and full_page_writes off,
	// and it runs as a child of this process, not daemonised by pg_ctl, so
	// the kernel stops it (SIGINT, fast shutdown) if this process dies
	// without calling Stop (Linux parent-death signal).
	Ephemeral bool
}

// Cluster is a running PostgreSQL cluster. Create it with Start.
type Cluster struct {
	dataDir       string
	binDir        string
	database      string
	socketDir     string
	tempSocketDir bool // socketDir was created by this Cluster under os.TempDir()
	port          int
	timeout       time.Duration
	ephemeral     bool
	log           *slog.Logger
	runAs         *runAs   // nil: run as this process's user
	started       bool     // this Cluster started the server, so Stop stops it
	owner         *os.File // held flock: this process stops the server on Stop
	child         *child   // the server process in Ephemeral mode
}

// Start initialises DataDir on first use, starts the server (or adopts one
// already running on DataDir, e.g. from another portal process) and creates
// Options.Database if it is absent. A stale postmaster.pid left by a crash
// is removed. Concurrent Starts on one DataDir are serialised with flock.
func Start(ctx context.Context, o Options) (*Cluster, error) {
	c, err := newCluster(o)
	if err != nil {
		return nil, fmt.Errorf("pgembed: %w", err)
	}
	if err := c.prepareDataDir(); err != nil {
		return nil, fmt.Errorf("pgembed: %w", err)
	}
	unlock, err := lockDir(ctx, c.dataDir)
	if err != nil {
		return nil, fmt.Errorf("pgembed: %w", err)
	}
	defer unlock()
	if err := c.startLocked(ctx); err != nil {
		if c.started {
			_ = c.Stop(context.WithoutCancel(ctx))
		} else if c.tempSocketDir {
			_ = os.RemoveAll(c.socketDir)
		}
		return nil, fmt.Errorf("pgembed: %w", err)
	}
	return c, nil
}

func newCluster(o Options) (*Cluster, error) {
	if o.DataDir == "" {
		return nil, errors.New("Options.DataDir is empty")
	}
	dataDir, err := filepath.Abs(o.DataDir)
	if err != nil {
		return nil, fmt.Errorf("resolve data directory: %w", err)
	}
	binDir, err := findBinDir(o.BinDir, os.Getenv("PATH"), debianBinGlob)
	if err != nil {
		return nil, err
	}
	r, err := chooseRunAs(os.Geteuid(), dataDir)
	if err != nil {
		return nil, err
	}
	c := &Cluster{
		dataDir: dataDir, binDir: binDir, database: o.Database, port: port,
		timeout: o.StartTimeout, ephemeral: o.Ephemeral, log: o.Logger, runAs: r,
	}
	if c.database == "" {
		c.database = "portal"
	}
	if c.timeout <= 0 {
		c.timeout = 60 * time.Second
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

func (c *Cluster) startLocked(ctx context.Context) error {
	if err := c.initdb(ctx); err != nil {
		return err
	}
	adopted, err := c.adoptRunning(ctx)
	if err != nil {
		return err
	}
	if !adopted {
		if err := c.startServer(ctx); err != nil {
			return err
		}
	}
	if c.owner, err = takeOwnership(c.dataDir); err != nil {
		return err
	}
	return c.ensureDatabase(ctx)
}

// takeOwnership takes the owner lock of a cluster: the process holding it
// stops the server when it is done. The kernel drops the lock when its
// holder dies, so a server orphaned by a crash is adopted and then stopped
// by the next portal process, while a short command run beside a live
// `portal serve` leaves the server alone. nil, nil: another process owns it.
func takeOwnership(dataDir string) (*os.File, error) {
	f, err := os.OpenFile(dataDir+".owner.lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open owner lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, nil
		}
		return nil, fmt.Errorf("take owner lock: %w", err)
	}
	return f, nil
}

// URL returns a pgx/libpq keyword/value connection string for
// Options.Database over the cluster's unix socket.
func (c *Cluster) URL() string {
	return connString(c.socketDir, c.port, c.database)
}

// Stop shuts the server down (fast mode: sessions are disconnected, no
// crash recovery needed on next start) when this Cluster started it or owns
// it; a server another live process owns is left running for that process.
func (c *Cluster) Stop(ctx context.Context) error {
	if !c.started && c.owner == nil {
		return nil
	}
	defer c.releaseOwnership()
	var err error
	if c.child != nil {
		err = c.child.stop(ctx)
	} else {
		err = c.pgCtlStop(ctx)
	}
	if err != nil {
		return fmt.Errorf("pgembed: stop: %w", err)
	}
	c.started = false
	if c.tempSocketDir {
		_ = os.RemoveAll(c.socketDir)
	}
	c.log.InfoContext(ctx, "Stopped PostgreSQL", slog.String("data_dir", c.dataDir))
	return nil
}

func (c *Cluster) releaseOwnership() {
	if c.owner != nil {
		_ = c.owner.Close()
		c.owner = nil
	}
}

// logPath is the server log, DataDir/log/postgres.log.
func (c *Cluster) logPath() string {
	return filepath.Join(c.dataDir, "log", "postgres.log")
}

// connString builds a keyword/value connection string, quoting values.
func connString(host string, port int, dbname string) string {
	q := func(v string) string {
		return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
	}
	return fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable", q(host), port, q(superuser), q(dbname))
}
