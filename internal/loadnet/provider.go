package loadnet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/opensmd/portal/internal/pgembed"
)

// stopTimeout is how long a provider gets to stop after SIGTERM: serve
// gives requests 30 s and then its workers 30 s.
const stopTimeout = 75 * time.Second

// readyLine is the last line `portal serve` prints once everything runs.
const readyLine = "SMD workers running"

// Provider is one provider of a Network: a `portal serve --migrate`
// process, its data directory and its embedded PostgreSQL. Its methods
// are safe for concurrent use, but Send and Messages need it running.
type Provider struct {
	Name string
	Host string
	// URI is the provider's identity (PORTAL_SMD_PROVIDER_URI), named in
	// its TLS certificate.
	URI string
	// DataDir is its PORTAL_DATA_DIR: PostgreSQL under DataDir/pg, the
	// master secret in DataDir/secret.key.
	DataDir  string
	HTTPAddr string
	SMDAddr  string
	// SMDURL is its SMD endpoint, as the directories name it.
	SMDURL string
	// Orgs are the URIs of the organisations it hosts.
	Orgs []string
	// LogFile collects the output of every run of its serve process.
	LogFile string

	net    *Network
	spec   ProviderSpec
	tlsDir string
	envMu  sync.Mutex
	env    []string // the serve process's settings (envMu)

	mu   sync.Mutex
	proc *process
	peak int64 // VmHWM of the last process, read as it was stopped

	dbMu sync.Mutex
	db   *database
}

// process is one run of `portal serve`.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once the process has been reaped
	err    error         // its exit error, valid after exited
}

func (pr *process) running() bool {
	select {
	case <-pr.exited:
		return false
	default:
		return true
	}
}

func newProvider(n *Network, i int, spec ProviderSpec) (*Provider, error) {
	addrs, err := freePorts(spec.Host, 2)
	if err != nil {
		return nil, err
	}
	httpAddr, smdAddr := addrs[0], addrs[1]
	p := &Provider{
		Name: spec.Name, Host: spec.Host, URI: spec.URI,
		DataDir: filepath.Join(n.opts.Dir, spec.Name), HTTPAddr: httpAddr, SMDAddr: smdAddr,
		SMDURL: "https://" + smdAddr + "/smd", LogFile: filepath.Join(n.opts.Dir, spec.Name+".log"),
		net: n, spec: spec, tlsDir: filepath.Join(n.opts.Dir, spec.Name+"-tls"),
	}
	if p.URI == "" {
		p.URI = providerURI(i)
	}
	for _, o := range spec.Orgs {
		p.Orgs = append(p.Orgs, o.URI)
	}
	if err := makeDir(p.DataDir); err != nil {
		return nil, err
	}
	p.env = []string{
		"PORTAL_DATA_DIR=" + p.DataDir, "PORTAL_HTTP_ADDR=" + httpAddr, "PORTAL_SMD_ADDR=" + smdAddr,
		"PORTAL_SMD_TLS_CERT=" + filepath.Join(p.tlsDir, "cert.pem"),
		"PORTAL_SMD_TLS_KEY=" + filepath.Join(p.tlsDir, "key.pem"),
		"PORTAL_SMD_PROVIDER_URI=" + p.URI, "PORTAL_LOG_LEVEL=info",
	}
	p.env = append(append(p.env, n.opts.Env...), spec.Env...) // later settings win
	return p, nil
}

// Run runs one portal command (e.g. "directory", "import", …) against the
// provider's data directory, adopting its running PostgreSQL, and returns
// its standard output.
func (p *Provider) Run(ctx context.Context, args ...string) ([]byte, error) {
	return p.net.run(ctx, []string{"PORTAL_DATA_DIR=" + p.DataDir, "PORTAL_LOG_LEVEL=warn"}, args...)
}

// Start runs `portal serve --migrate` and waits until its listeners and
// workers run.
func (p *Provider) Start(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.proc != nil && p.proc.running() {
		return errors.New("already running")
	}
	role := p.spec.Role
	if role == "" {
		role = "all"
	}
	marker := readyLine
	if !strings.Contains(role, "worker") && role != "all" {
		marker = "SMD endpoint (mutual TLS)"
	}
	pr, err := p.launch(ctx, p.Name, marker, "serve", "--migrate", "--role", role)
	if err != nil {
		return err
	}
	p.proc = pr
	return nil
}

// launch runs the portal binary with the provider's settings and waits for
// marker on its standard output.
func (p *Provider) launch(ctx context.Context, name, marker string, args ...string) (*process, error) {
	logf, err := os.OpenFile(p.LogFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(logf, "--- loadnet: starting %s at %s\n", name, time.Now().Format(time.RFC3339Nano))
	ready := make(chan struct{})
	cmd := exec.Command(p.net.opts.Binary, args...)
	cmd.Env = append(baseEnv(), p.environ()...)
	cmd.Stdout = &watchWriter{w: logf, marker: []byte(marker), ready: ready}
	cmd.Stderr = logf
	cmd.WaitDelay = 5 * time.Second
	// If this process dies, the provider stops (and stops its PostgreSQL).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start portal %s: %w", args[0], err)
	}
	pr := &process{cmd: cmd, exited: make(chan struct{})}
	go func() {
		pr.err = cmd.Wait()
		logf.Close()
		close(pr.exited)
	}()
	timer := time.NewTimer(p.net.opts.StartTimeout)
	defer timer.Stop()
	select {
	case <-ready:
		p.net.logf("Started %s (pid %d, SMD %s)", name, cmd.Process.Pid, p.SMDURL)
		return pr, nil
	case <-pr.exited:
		return nil, fmt.Errorf("portal %s exited during start-up: %v\n%s", args[0], pr.err, tail(p.LogFile))
	case <-timer.C:
		err = fmt.Errorf("portal %s not ready within %s", args[0], p.net.opts.StartTimeout)
	case <-ctx.Done():
		err = ctx.Err()
	}
	_ = cmd.Process.Kill()
	<-pr.exited
	return nil, fmt.Errorf("%w\n%s", err, tail(p.LogFile))
}

// Worker is an extra `portal serve --role worker` process sharing a
// provider's database.
type Worker struct{ pr *process }

// StartWorker starts a worker process for the provider (which must run:
// the worker adopts its embedded PostgreSQL).
func (p *Provider) StartWorker(ctx context.Context, name string) (*Worker, error) {
	pr, err := p.launch(ctx, p.Name+"/"+name, readyLine, "serve", "--role", "worker")
	if err != nil {
		return nil, err
	}
	return &Worker{pr: pr}, nil
}

// Stop stops the worker gracefully (SIGTERM) and waits.
func (w *Worker) Stop() error {
	if !w.pr.running() {
		return w.pr.err
	}
	if err := w.pr.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-w.pr.exited:
		return w.pr.err
	case <-time.After(stopTimeout):
		_ = w.pr.cmd.Process.Kill()
		<-w.pr.exited
		return fmt.Errorf("worker did not stop within %s of SIGTERM: killed", stopTimeout)
	}
}

// Stop stops the provider gracefully (SIGTERM) and waits: it finishes the
// jobs in hand and stops its PostgreSQL. It fails if serve exits
// unsuccessfully or has to be killed after stopTimeout.
func (p *Provider) Stop() error {
	p.closeDB() // its PostgreSQL is going away
	p.mu.Lock()
	defer p.mu.Unlock()
	pr, err := p.signalLocked(syscall.SIGTERM)
	if err != nil || pr == nil {
		return err
	}
	select {
	case <-pr.exited:
		if pr.err != nil {
			return fmt.Errorf("portal serve: %w\n%s", pr.err, tail(p.LogFile))
		}
		return nil
	case <-time.After(stopTimeout):
		_ = pr.cmd.Process.Kill()
		<-pr.exited
		return fmt.Errorf("portal serve did not stop within %s of SIGTERM: killed", stopTimeout)
	}
}

// Kill kills the serve process (SIGKILL) and waits for it: nothing is
// shut down. Its PostgreSQL keeps running; the next Start adopts it.
func (p *Provider) Kill() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	pr, err := p.signalLocked(syscall.SIGKILL)
	if pr != nil {
		<-pr.exited
	}
	return err
}

// signalLocked records the running process's peak RSS and signals it. It
// returns nil, nil when no process runs.
func (p *Provider) signalLocked(sig syscall.Signal) (*process, error) {
	pr := p.proc
	if pr == nil || !pr.running() {
		return nil, nil
	}
	if hwm, err := vmHWM(pr.cmd.Process.Pid); err == nil {
		p.peak = hwm
	}
	if err := pr.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return pr, err
	}
	return pr, nil
}

// Setenv adds KEY=VALUE settings for the provider's next start (later
// settings win): for what is known only once the network runs, such as
// another provider's address.
func (p *Provider) Setenv(kv ...string) {
	p.envMu.Lock()
	defer p.envMu.Unlock()
	p.env = append(p.env, kv...)
}

// environ is a copy of the provider's settings.
func (p *Provider) environ() []string {
	p.envMu.Lock()
	defer p.envMu.Unlock()
	return slices.Clone(p.env)
}

// Restart stops the provider if it runs, then starts it again with the
// same data, addresses and identity.
func (p *Provider) Restart(ctx context.Context) error {
	if err := p.Stop(); err != nil {
		return err
	}
	return p.Start(ctx)
}

// Running reports whether the serve process runs.
func (p *Provider) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.proc != nil && p.proc.running()
}

// Pid is the serve process's pid, or 0 when it does not run.
func (p *Provider) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.proc == nil || !p.proc.running() {
		return 0
	}
	return p.proc.cmd.Process.Pid
}

// PeakRSS is the peak resident set size (VmHWM), in bytes, of the serve
// process; once stopped or killed, of the last one as it was signalled.
// It does not count PostgreSQL, which runs as separate processes.
func (p *Provider) PeakRSS() (int64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.proc != nil && p.proc.running() {
		return vmHWM(p.proc.cmd.Process.Pid)
	}
	if p.peak == 0 {
		return 0, errors.New("the provider has not run")
	}
	return p.peak, nil
}

// shutdown is Close for one provider: a graceful stop, then any
// PostgreSQL left running (after a Kill with no restart) is stopped.
func (p *Provider) shutdown() error {
	err := p.Stop()
	return errors.Join(err, stopPostgres(filepath.Join(p.DataDir, "pg")))
}

// stopPostgres stops the server running on dataDir, if any, by its pid:
// fast shutdown, then SIGKILL after 30 s.
func stopPostgres(dataDir string) error {
	pid, ok := postmasterPID(dataDir)
	if !ok {
		return nil
	}
	_ = syscall.Kill(pid, syscall.SIGINT)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if _, ok := postmasterPID(dataDir); !ok {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	return fmt.Errorf("PostgreSQL (pid %d) ignored fast shutdown: killed", pid)
}

// postmasterPID returns the pid of the live server on dataDir.
func postmasterPID(dataDir string) (int, bool) {
	r, ok, err := pgembed.FindRunning(dataDir, "")
	return r.PID, ok && err == nil
}

// vmHWM reads the peak resident set size of pid from /proc, in bytes.
func vmHWM(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("VmHWM of %d: %w", pid, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("no VmHWM for pid %d", pid)
}

// SelfPeakRSS is this process's peak resident set size, in bytes.
func SelfPeakRSS() (int64, error) { return vmHWM(os.Getpid()) }

// watchWriter passes output to w and closes ready once marker has been
// written.
type watchWriter struct {
	w      io.Writer
	marker []byte
	ready  chan struct{}
	seen   []byte // output so far, until the marker
	done   bool
}

func (ww *watchWriter) Write(b []byte) (int, error) {
	if !ww.done {
		ww.seen = append(ww.seen, b...)
		if bytes.Contains(ww.seen, ww.marker) {
			ww.done, ww.seen = true, nil
			close(ww.ready)
		}
	}
	return ww.w.Write(b)
}

// tail returns the last lines of a log file, for error messages.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return path + ":\n" + strings.Join(lines, "\n")
}
