//go:build linux

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opensmd/portal/internal/pgembed"
)

// Bounds of the portal's lifecycle. A first start runs initdb and every
// migration on a shared 2-core machine, hence the generous start timeout.
const (
	startTimeout = 2 * time.Minute
	stopTimeout  = 45 * time.Second
	tailLines    = 200
)

// instance is one portal installation: its data directory, HTTP address and
// (only with TEST_DATABASE_URL) its database. Starting a portal twice on
// the same instance is a restart that must keep the data.
type instance struct {
	DataDir     string
	Addr        string // host:port, kept across restarts
	DatabaseURL string // empty: embedded PostgreSQL under DataDir/pg
}

// newInstance makes a fresh installation for t. By default the portal runs
// its embedded PostgreSQL under the data directory; when TEST_DATABASE_URL
// is set a fresh database is created there instead (and dropped at the end).
func newInstance(t *testing.T) *instance {
	t.Helper()
	dir := t.TempDir()
	if os.Geteuid() == 0 {
		// As root, the portal runs PostgreSQL as an unprivileged user, which
		// must traverse the test's temporary directories (created 0700).
		for _, d := range []string{filepath.Dir(dir), dir} {
			if err := os.Chmod(d, 0o711); err != nil {
				t.Fatalf("chmod %s: %v", d, err)
			}
		}
	}
	inst := &instance{DataDir: dir, Addr: freeAddr(t)}
	if admin := os.Getenv("TEST_DATABASE_URL"); admin != "" {
		inst.DatabaseURL = createDatabase(t, admin)
	}
	return inst
}

// freeAddr returns a loopback address with a port that was free just now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatalf("release port: %v", err)
	}
	return addr
}

// createDatabase creates an empty database on the server of adminURL and
// returns its URL; it is dropped when the test ends.
func createDatabase(t *testing.T, adminURL string) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	name := "opensmd_e2e_" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Fatalf("connect to TEST_DATABASE_URL: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, adminURL)
		if err != nil {
			t.Errorf("drop database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	dbURL, err := databaseURL(adminURL, name)
	if err != nil {
		t.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	return dbURL
}

// databaseURL returns a postgres:// URL (the only form the portal's
// DATABASE_URL takes) for database name on the server of connString, which
// may be a URL or keyword/value ("host=... user=...").
func databaseURL(connString, name string) (string, error) {
	if u, err := url.Parse(connString); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		q.Del("dbname")
		u.RawQuery = q.Encode()
		u.Path = "/" + name
		return u.String(), nil
	}
	cfg, err := pgx.ParseConfig(connString)
	if err != nil {
		return "", err
	}
	u := url.URL{Scheme: "postgres", User: url.User(cfg.User), Path: "/" + name}
	if cfg.Password != "" {
		u.User = url.UserPassword(cfg.User, cfg.Password)
	}
	q := url.Values{"host": {cfg.Host}, "port": {strconv.Itoa(int(cfg.Port))}, "sslmode": {"disable"}}
	if cfg.TLSConfig != nil {
		q.Set("sslmode", "require")
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// portal is one running `portal serve --migrate` process.
type portal struct {
	inst *instance
	cmd  *exec.Cmd
	// BaseURL is the URL the portal announced ("running at ...").
	BaseURL string
	// SetupURL is the one-time set-up link it printed, or "" if none.
	SetupURL string

	stdout, stderr *lineTail
	ready          chan string   // base URL, once announced
	exited         chan struct{} // closed when the process has exited
	waitErr        error         // valid after exited is closed
	stopOnce       sync.Once
}

var (
	setupLinkRE = regexp.MustCompile(`\S+/setup\?token=\S+`)
	runningRE   = regexp.MustCompile(`OpenSMD portal is running at (\S+)`)
)

// startPortal runs the portal on inst and waits until it serves HTTP. The
// process (and so its embedded PostgreSQL) is stopped when the test ends,
// failed or not; on failure the tails of its stdout and stderr are logged.
func startPortal(t *testing.T, inst *instance) *portal {
	t.Helper()
	p := &portal{
		inst:   inst,
		ready:  make(chan string, 1),
		exited: make(chan struct{}),
	}
	var mu sync.Mutex
	p.stdout = newLineTail(tailLines, func(line string) {
		mu.Lock()
		defer mu.Unlock()
		if m := setupLinkRE.FindString(line); m != "" && p.SetupURL == "" {
			p.SetupURL = m
		}
		if m := runningRE.FindStringSubmatch(line); m != nil {
			select {
			case p.ready <- m[1]:
			default:
			}
		}
	})
	p.stderr = newLineTail(tailLines, nil)

	p.cmd = exec.Command(portalBinary(t), "serve", "--migrate")
	p.cmd.Env = portalEnv(inst)
	p.cmd.Stdout = p.stdout
	p.cmd.Stderr = p.stderr
	// A daemonised PostgreSQL may inherit the pipes; do not wait for it.
	p.cmd.WaitDelay = 5 * time.Second
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM} // if the test binary dies
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start portal: %v", err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		p.stdout.flush()
		p.stderr.flush()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			p.dumpLogs(t)
		}
	})

	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case base := <-p.ready:
		mu.Lock()
		p.BaseURL = base
		mu.Unlock()
	case <-p.exited:
		t.Fatalf("portal exited before serving: %v", p.waitErr)
	case <-timer.C:
		t.Fatalf("portal did not announce its URL within %s", startTimeout)
	}
	if want := "http://" + inst.Addr; p.BaseURL != want {
		t.Fatalf("portal announced %s, want %s", p.BaseURL, want)
	}
	return p
}

// portalEnv is the test process's environment without any PORTAL_* or
// DATABASE_URL setting of the developer's, plus the instance's settings.
func portalEnv(inst *instance) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PORTAL_") || strings.HasPrefix(kv, "DATABASE_URL=") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "PORTAL_DATA_DIR="+inst.DataDir, "PORTAL_HTTP_ADDR="+inst.Addr, "PORTAL_LOG_LEVEL=info")
	if inst.DatabaseURL != "" {
		env = append(env, "DATABASE_URL="+inst.DatabaseURL)
	}
	return env
}

// URL returns the absolute URL of path on this portal.
func (p *portal) URL(path string) string { return p.BaseURL + path }

// Stop sends SIGTERM and checks that the portal shut down gracefully: exit
// status 0 and, with the embedded cluster, PostgreSQL stopped too.
func (p *portal) Stop(t *testing.T) {
	t.Helper()
	if err := p.stop(t); err != nil {
		t.Fatalf("portal did not stop cleanly: %v", err)
	}
	if !p.stderr.contains("Portal stopped") {
		t.Errorf("portal log lacks \"Portal stopped\" after SIGTERM")
	}
	if p.inst.DatabaseURL == "" {
		if pid, ok := postmasterPID(p.inst); ok {
			t.Errorf("embedded PostgreSQL (pid %d) still running after the portal stopped", pid)
		}
	}
}

// stop ends the process once: SIGTERM, then SIGKILL after stopTimeout, then
// stops a PostgreSQL that the portal left running. It returns the exit
// error of a graceful stop.
func (p *portal) stop(t *testing.T) error {
	var err error
	p.stopOnce.Do(func() {
		select {
		case <-p.exited:
			err = fmt.Errorf("portal had exited already: %v", p.waitErr)
		default:
			err = p.terminate(t)
		}
		if p.inst.DatabaseURL == "" {
			killPostmaster(t, p.inst)
		}
	})
	return err
}

// terminate sends SIGTERM and waits; after stopTimeout it kills.
func (p *portal) terminate(t *testing.T) error {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Logf("signal portal: %v", err)
	}
	select {
	case <-p.exited:
		return p.waitErr
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("no exit within %s of SIGTERM: killed", stopTimeout)
	}
}

// postmasterPID returns the pid of the embedded cluster's running server.
func postmasterPID(inst *instance) (int, bool) {
	r, ok, err := pgembed.FindRunning(filepath.Join(inst.DataDir, "pg"), "")
	return r.PID, ok && err == nil
}

// killPostmaster stops, by its pid, a PostgreSQL server the portal left
// behind (fast shutdown, then SIGKILL).
func killPostmaster(t *testing.T, inst *instance) {
	pid, ok := postmasterPID(inst)
	if !ok {
		return
	}
	t.Logf("portal left PostgreSQL (pid %d) running: stopping it", pid)
	_ = syscall.Kill(pid, syscall.SIGINT)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

func (p *portal) dumpLogs(t *testing.T) {
	t.Logf("portal stdout (last %d lines):\n%s", tailLines, p.stdout.String())
	t.Logf("portal stderr (last %d lines):\n%s", tailLines, p.stderr.String())
}

// lineTail is an io.Writer that keeps the last lines written to it and
// calls onLine for each complete line.
type lineTail struct {
	mu     sync.Mutex
	max    int
	lines  []string
	all    []string // every line, for contains; the portal's output is small
	part   []byte
	onLine func(string)
}

func newLineTail(max int, onLine func(string)) *lineTail {
	return &lineTail{max: max, onLine: onLine}
}

func (l *lineTail) Write(b []byte) (int, error) {
	l.mu.Lock()
	l.part = append(l.part, b...)
	var done []string
	for {
		i := bytes.IndexByte(l.part, '\n')
		if i < 0 {
			break
		}
		done = append(done, string(l.part[:i]))
		l.part = l.part[i+1:]
	}
	l.add(done)
	l.mu.Unlock()
	if l.onLine != nil {
		for _, line := range done {
			l.onLine(line)
		}
	}
	return len(b), nil
}

// flush keeps a last line that had no newline.
func (l *lineTail) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.part) > 0 {
		l.add([]string{string(l.part)})
		l.part = nil
	}
}

func (l *lineTail) add(lines []string) {
	l.all = append(l.all, lines...)
	l.lines = append(l.lines, lines...)
	if n := len(l.lines) - l.max; n > 0 {
		l.lines = append([]string(nil), l.lines[n:]...)
	}
}

func (l *lineTail) contains(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.all {
		if strings.Contains(line, s) {
			return true
		}
	}
	return false
}

func (l *lineTail) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}
