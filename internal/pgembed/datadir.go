package pgembed

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// prepareDataDir creates the data directory (and its parents) so that the
// server's user owns it and can reach it.
func (c *Cluster) prepareDataDir() error {
	parentMode := fs.FileMode(0o700)
	if c.runAs != nil {
		parentMode = 0o711 // the server's user must traverse what we create
	}
	if err := os.MkdirAll(filepath.Dir(c.dataDir), parentMode); err != nil {
		return fmt.Errorf("create parent of data directory: %w", err)
	}
	if err := c.runAs.checkTraversable(c.dataDir); err != nil {
		return err
	}
	fi, err := os.Stat(c.dataDir)
	if errors.Is(err, fs.ErrNotExist) {
		return c.runAs.mkdirOwned(c.dataDir)
	}
	if err != nil {
		return fmt.Errorf("stat data directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("data directory %s is not a directory", c.dataDir)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if c.runAs == nil || !ok || st.Uid == c.runAs.uid {
		return nil
	}
	if empty, err := isEmptyDir(c.dataDir); err != nil || !empty {
		return fmt.Errorf("data directory %s is owned by uid %d, but PostgreSQL must run as %q (uid %d) because portal runs as root: fix with chown -R %s %s",
			c.dataDir, st.Uid, c.runAs.name, c.runAs.uid, c.runAs.name, c.dataDir)
	}
	return c.runAs.mkdirOwned(c.dataDir)
}

// lockDir takes an exclusive flock on dir, waiting until ctx is done. The
// returned function releases it. The kernel drops the lock if we die.
func lockDir(ctx context.Context, dir string) (func(), error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("open data directory for locking: %w", err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { _ = f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			_ = f.Close()
			return nil, fmt.Errorf("lock data directory: %w", err)
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, fmt.Errorf("wait for lock on data directory: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// initdb initialises the data directory unless it already holds a cluster.
// Collation is C (stable across glibc upgrades, so indexes never silently
// corrupt); character classification is C.UTF-8 so lower()/upper() work on
// non-ASCII text, falling back to plain C if that locale is missing.
func (c *Cluster) initdb(ctx context.Context) error {
	if _, err := os.Stat(filepath.Join(c.dataDir, "PG_VERSION")); err == nil {
		return nil
	}
	if empty, err := isEmptyDir(c.dataDir); err != nil {
		return err
	} else if !empty {
		return fmt.Errorf("data directory %s is not empty and holds no PostgreSQL cluster (no PG_VERSION): empty it or choose another directory", c.dataDir)
	}
	c.log.InfoContext(ctx, "Initialising PostgreSQL data directory", slog.String("data_dir", c.dataDir))
	args := []string{"-D", c.dataDir, "-U", superuser, "-E", "UTF8", "--auth-local=trust", "--auth-host=reject"}
	if c.ephemeral {
		args = append(args, "--no-sync")
	}
	_, err := c.run(ctx, "initdb", append(args, "--lc-collate=C", "--lc-ctype=C.UTF-8")...)
	if err != nil && strings.Contains(err.Error(), "C.UTF-8") {
		_, err = c.run(ctx, "initdb", append(args, "--locale=C")...)
	}
	return err
}

func isEmptyDir(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, fmt.Errorf("read data directory: %w", err)
	}
	return len(entries) == 0, nil
}
