package pgembed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// adoptRunning connects this Cluster to a server already running on the
// data directory, and removes a stale postmaster.pid (left by a crash, or
// naming a pid that another program now has). It reports whether it adopted.
func (c *Cluster) adoptRunning(ctx context.Context) (bool, error) {
	pf, err := readPidFile(c.dataDir)
	if err != nil || pf == nil {
		return false, err
	}
	if !pf.alive() {
		c.log.WarnContext(ctx, "Removing stale postmaster.pid", slog.String("data_dir", c.dataDir), slog.Int("pid", pf.pid))
		if err := os.Remove(filepath.Join(c.dataDir, pidFileName)); err != nil {
			return false, fmt.Errorf("remove stale %s: %w", pidFileName, err)
		}
		return false, nil
	}
	if pf.socketDir == "" {
		return false, fmt.Errorf("PostgreSQL (pid %d) already runs on %s without a unix socket: stop it with pg_ctl stop -D %s", pf.pid, c.dataDir, c.dataDir)
	}
	if err := c.waitReady(ctx, pf.pid, nil); err != nil {
		return false, fmt.Errorf("PostgreSQL (pid %d) already runs on %s: %w", pf.pid, c.dataDir, err)
	}
	c.socketDir, c.port = pf.socketDir, pf.port
	c.log.InfoContext(ctx, "Using PostgreSQL already running", slog.String("data_dir", c.dataDir), slog.Int("pid", pf.pid))
	return true, nil
}

// startServer writes the managed settings and starts the server, with
// pg_ctl or (Ephemeral) as a child process.
func (c *Cluster) startServer(ctx context.Context) error {
	dir, temp, err := chooseSocketDir(c.dataDir, c.runAs)
	if err != nil {
		return err
	}
	c.socketDir, c.tempSocketDir = dir, temp
	if err := writeConf(c.dataDir, c.socketDir, c.ephemeral, c.runAs); err != nil {
		return err
	}
	if err := c.runAs.mkdirOwned(filepath.Dir(c.logPath())); err != nil {
		return err
	}
	c.log.InfoContext(ctx, "Starting PostgreSQL", slog.String("data_dir", c.dataDir), slog.String("socket_dir", c.socketDir))
	if c.ephemeral {
		return c.startChild(ctx)
	}
	secs := strconv.Itoa(int(c.timeout.Seconds()))
	_, err = c.run(ctx, "pg_ctl", "start", "-D", c.dataDir, "-l", c.logPath(), "-w", "-t", secs, "-s")
	if err != nil {
		return fmt.Errorf("%w\nserver log (%s):\n%s", err, c.logPath(), logTail(c.logPath()))
	}
	c.started = true
	return nil
}

func (c *Cluster) pgCtlStop(ctx context.Context) error {
	secs := strconv.Itoa(int(c.timeout.Seconds()))
	_, err := c.run(ctx, "pg_ctl", "stop", "-D", c.dataDir, "-m", "fast", "-w", "-t", secs, "-s")
	return err
}

// waitReady polls postmaster.pid until the server with pid reports
// "ready", exited (if non-nil) is closed, or the start timeout passes.
func (c *Cluster) waitReady(ctx context.Context, pid int, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	for {
		pf, err := readPidFile(c.dataDir)
		if err != nil {
			return err
		}
		if pf != nil && pf.pid == pid && pf.status == "ready" {
			return nil
		}
		select {
		case <-exited:
			return errors.New("server exited during start-up")
		case <-ctx.Done():
			status := "no postmaster.pid"
			if pf != nil {
				status = fmt.Sprintf("pid %d status %q", pf.pid, pf.status)
			}
			return fmt.Errorf("server not ready (%s): %w", status, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// ensureDatabase creates the configured database if it does not exist.
func (c *Cluster) ensureDatabase(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, connString(c.socketDir, c.port, "postgres"))
	if err != nil {
		return fmt.Errorf("connect to cluster: %w", err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	var exists bool
	err = conn.QueryRow(ctx, "select exists (select 1 from pg_database where datname = $1)", c.database).Scan(&exists)
	if err != nil {
		return fmt.Errorf("look up database %q: %w", c.database, err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "create database "+pgx.Identifier{c.database}.Sanitize()); err != nil {
		return fmt.Errorf("create database %q: %w", c.database, err)
	}
	c.log.InfoContext(ctx, "Created database", slog.String("database", c.database))
	return nil
}

// run executes a server program as the cluster's user and returns its
// combined output; on failure the output is part of the error.
func (c *Cluster) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, c.program(name), args...)
	cmd.Dir = "/"
	cmd.Env = childEnv()
	cmd.SysProcAttr = c.runAs.credential()
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.Bytes(), fmt.Errorf("%s %s: %w\n%s", name, args[0], err, strings.TrimSpace(out.String()))
	}
	return out.Bytes(), nil
}

// childEnv is this process's environment without PG* variables (PGDATA,
// PGPORT, PGHOST … would redirect the programs) and with messages in the C
// locale, so output and the server's lc_messages are predictable.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") || strings.HasPrefix(kv, "LC_") || strings.HasPrefix(kv, "LANG=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "LC_ALL=C")
}

// logTail returns the last lines of the server log, for error messages.
func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(unreadable: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return strings.Join(lines, "\n")
}
