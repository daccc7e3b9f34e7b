package storetest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opensmd/portal/internal/pgembed"
	"github.com/opensmd/portal/migrations"
)

// testServer is the PostgreSQL server of this test binary.
type testServer struct {
	adminURL string        // maintenance database
	admin    *pgxpool.Pool // on adminURL; creates and drops test databases
	template string        // migrated template database
	cluster  *pgembed.Cluster
	dir      string // temporary directory of the embedded cluster
	unlock   func() // releases our flock on dir
}

// shared is per test binary by nature: one server for all its tests.
var shared struct {
	once sync.Once
	srv  *testServer
	err  error
}

const dirPrefix = "portal-storetest-"

// server returns the binary's server, starting it on first use.
func server(t testing.TB) *testServer {
	t.Helper()
	shared.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		shared.srv, shared.err = startServer(ctx)
	})
	if shared.err != nil {
		t.Fatalf("storetest: %v", shared.err)
	}
	return shared.srv
}

func startServer(ctx context.Context) (*testServer, error) {
	s := &testServer{adminURL: os.Getenv("TEST_DATABASE_URL")}
	if s.adminURL == "" {
		if err := s.startEmbedded(ctx); err != nil {
			s.close()
			return nil, err
		}
	}
	var err error
	if s.admin, err = pgxpool.New(ctx, s.adminURL); err != nil {
		s.close()
		return nil, fmt.Errorf("open admin pool: %w", err)
	}
	if s.template, err = ensureTemplate(ctx, s.adminURL, migrations.FS); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *testServer) startEmbedded(ctx context.Context) error {
	sweepStale(os.TempDir())
	dir, err := os.MkdirTemp("", dirPrefix)
	if err != nil {
		return fmt.Errorf("create cluster directory: %w", err)
	}
	s.dir = dir
	// 0711: when tests run as root the server runs as another user, which
	// must traverse this directory.
	if err := os.Chmod(dir, 0o711); err != nil {
		return fmt.Errorf("chmod cluster directory: %w", err)
	}
	if s.unlock, err = flock(dir, syscall.LOCK_EX); err != nil {
		return err
	}
	s.cluster, err = pgembed.Start(ctx, pgembed.Options{
		DataDir: filepath.Join(dir, "pg"), Database: "postgres", Ephemeral: true,
	})
	if err != nil {
		return fmt.Errorf("start embedded PostgreSQL (or set TEST_DATABASE_URL): %w", err)
	}
	s.adminURL = s.cluster.URL()
	return nil
}

// close releases everything startServer acquired.
func (s *testServer) close() error {
	if s.admin != nil {
		s.admin.Close()
	}
	var err error
	if s.cluster != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		err = s.cluster.Stop(ctx)
	}
	if s.unlock != nil {
		s.unlock()
	}
	if s.dir != "" && err == nil {
		err = os.RemoveAll(s.dir)
	}
	return err
}

// shutdown stops the server if this binary started one.
func shutdown() error {
	if shared.srv == nil {
		return nil
	}
	err := shared.srv.close()
	shared.srv = nil
	shared.err = errors.New("storetest: server already shut down (Main has returned)")
	return err
}

// flock takes a flock on dir; the kernel releases it when we exit.
func flock(dir string, how int) (func(), error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return func() { _ = f.Close() }, nil
}

// sweepStale removes cluster directories of earlier test binaries that
// died without Main's cleanup (timeout, crash): their flock is gone. Young
// directories are skipped, as their owner may not have locked them yet.
func sweepStale(tmp string) {
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), dirPrefix) {
			continue
		}
		if fi, err := e.Info(); err != nil || time.Since(fi.ModTime()) < time.Minute {
			continue
		}
		dir := filepath.Join(tmp, e.Name())
		unlock, err := flock(dir, syscall.LOCK_EX|syscall.LOCK_NB)
		if err != nil {
			continue // in use
		}
		_ = os.RemoveAll(dir)
		unlock()
	}
}
