package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opensmd/portal/internal/loadnet"
	"github.com/opensmd/portal/internal/pipeline"
	"github.com/opensmd/portal/internal/smd/ns"
	"github.com/opensmd/portal/internal/store"
)

// Organisations of the bench network: one at each provider.
var (
	benchOrgA = ns.QualifierHPIO + "8003620000000013"
	benchOrgB = ns.QualifierHPIO + "8003620000000021"
)

// benchStall is how long draining may make no progress before the bench
// gives up. It outlasts River's rescue of a job stuck "running" (2 min).
const benchStall = 3 * time.Minute

// runBench implements `portal bench`: two providers as separate processes
// (A on 127.0.0.1, B on 127.0.0.2), N messages each way at once, then
// throughput, latency and memory, and a check that every message was
// delivered exactly once.
func runBench(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet("bench", env)
	n := fs.Int("messages", 1000, "messages in each direction")
	size := fs.Int("size", 102400, "payload size in bytes (an HL7 v2 REF^I12 referral padded with NTE segments)")
	binary := fs.String("binary", "", "portal binary the providers run (default: this one)")
	dir := fs.String("dir", "", "working directory, kept afterwards (default: a temporary one, removed)")
	workers := fs.Int("workers", 0, "jobs worked at once per queue in each provider (default: PORTAL_WORKERS's default)")
	profile := fs.String("profile", "", "directory for 20-second CPU profiles of each provider, taken as the run starts (go tool pprof)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *n <= 0 || *size <= 0 || *workers < 0 {
		return usageError{"--messages and --size must be positive, --workers not negative"}
	}
	var err error
	if *binary == "" {
		if *binary, err = os.Executable(); err != nil {
			return err
		}
	}
	if *dir == "" {
		if *dir, err = os.MkdirTemp("", "portal-bench-"); err != nil {
			return err
		}
		defer os.RemoveAll(*dir)
	}
	logf := func(format string, a ...any) { fmt.Fprintf(env.Stderr, "bench: "+format+"\n", a...) }
	opts := loadnet.Options{Binary: *binary, Dir: *dir, Logf: logf, Providers: []loadnet.ProviderSpec{
		{Name: "a", Host: "127.0.0.1", Orgs: []loadnet.OrgSpec{{URI: benchOrgA, Name: "Bench GP"}}},
		{Name: "b", Host: "127.0.0.2", Orgs: []loadnet.OrgSpec{{URI: benchOrgB, Name: "Bench Physio"}}},
	}}
	if *workers > 0 {
		opts.Env = []string{"PORTAL_WORKERS=" + strconv.Itoa(*workers)}
	}
	debugAddrs := map[string]string{}
	if *profile != "" {
		for i := range opts.Providers {
			sp := &opts.Providers[i]
			addr, err := freeLoopbackAddr(sp.Host)
			if err != nil {
				return err
			}
			debugAddrs[sp.Name] = addr
			sp.Env = append(sp.Env, "PORTAL_DEBUG_ADDR="+addr)
		}
	}
	setup := time.Now()
	network, err := loadnet.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := network.Close(); cerr != nil {
			logf("stopping the providers: %v", cerr)
		}
	}()
	logf("set-up took %s", time.Since(setup).Round(time.Millisecond))
	b := &bench{a: network.Providers[0], b: network.Providers[1], n: *n, size: *size, logf: logf}
	var profiles sync.WaitGroup
	for name, addr := range debugAddrs {
		profiles.Go(func() {
			path := filepath.Join(*profile, name+".cpu.pprof")
			if err := fetchProfile(ctx, "http://"+addr+"/debug/pprof/profile?seconds=20", path); err != nil {
				logf("profile of %s: %v", name, err)
				return
			}
			logf("wrote %s", path)
		})
	}
	err = b.run(ctx, env.Stdout)
	profiles.Wait()
	return err
}

// bench is one run: A→B and B→A traffic and what it measured.
type bench struct {
	a, b    *loadnet.Provider
	n, size int
	logf    func(string, ...any)
}

// direction is the traffic from one provider's organisation to the other's.
type direction struct {
	name       string
	from, to   *loadnet.Provider
	fromOrg    string
	toOrg      string
	sent       map[string]bool // invocationIds submitted
	outbound   []loadnet.Message
	inbound    []loadnet.Message
	submitDone time.Time
}

func (b *bench) run(ctx context.Context, out io.Writer) error {
	dirs := []*direction{
		{name: "A→B", from: b.a, to: b.b, fromOrg: benchOrgA, toOrg: benchOrgB},
		{name: "B→A", from: b.b, to: b.a, fromOrg: benchOrgB, toOrg: benchOrgA},
	}
	start := time.Now()
	errs := make([]error, len(dirs))
	var wg sync.WaitGroup
	for i, d := range dirs {
		wg.Go(func() { errs[i] = b.submit(ctx, d) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	submitted := time.Now()
	b.logf("submitted %d messages in %s", 2*b.n, submitted.Sub(start).Round(time.Millisecond))
	if err := b.drain(ctx); err != nil {
		return err
	}
	for _, d := range dirs {
		if err := d.load(ctx); err != nil {
			return err
		}
	}
	return b.report(out, dirs, start, submitted)
}

// submit queues b.n messages in d, four at a time.
func (b *bench) submit(ctx context.Context, d *direction) error {
	d.sent = make(map[string]bool, b.n)
	var mu sync.Mutex
	next := make(chan int)
	errs := make([]error, 4)
	var wg sync.WaitGroup
	for w := range errs {
		wg.Go(func() {
			for i := range next {
				m, err := d.from.Send(ctx, pipeline.Outbound{From: d.fromOrg, To: d.toOrg,
					Category: loadnet.CategoryReferral, Payload: loadnet.Referral(fmt.Sprintf("BENCH%s%06d", d.from.Name, i), b.size)})
				if err != nil {
					errs[w] = fmt.Errorf("%s message %d: %w", d.name, i, err)
					for range next { // drain so the producer finishes
					}
					return
				}
				mu.Lock()
				d.sent[m.InvocationID] = true
				mu.Unlock()
			}
		})
	}
	for i := range b.n {
		next <- i
	}
	close(next)
	wg.Wait()
	d.submitDone = time.Now()
	return errors.Join(errs...)
}

// drain waits until neither provider has pipeline work left, failing if
// that makes no progress for benchStall.
func (b *bench) drain(ctx context.Context) error {
	last, progress := -1, time.Now()
	for {
		pa, err := b.a.PendingJobs(ctx)
		if err != nil {
			return err
		}
		pb, err := b.b.PendingJobs(ctx)
		if err != nil {
			return err
		}
		if pa+pb == 0 {
			return nil
		}
		if pa+pb != last {
			last, progress = pa+pb, time.Now()
		}
		if time.Since(progress) > benchStall {
			return fmt.Errorf("no progress for %s: %d jobs pending at A, %d at B", benchStall, pa, pb)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// load reads d's messages from both ends.
func (d *direction) load(ctx context.Context) error {
	from, err := d.from.Messages(ctx, d.fromOrg)
	if err != nil {
		return err
	}
	to, err := d.to.Messages(ctx, d.toOrg)
	if err != nil {
		return err
	}
	d.outbound = slices.DeleteFunc(from, func(m loadnet.Message) bool { return m.Direction != store.Outbound })
	d.inbound = slices.DeleteFunc(to, func(m loadnet.Message) bool { return m.Direction != store.Inbound })
	return nil
}

// problems lists every way d was not delivered exactly once.
func (d *direction) problems() []string {
	var out []string
	copies := map[string]int{}
	for _, m := range d.inbound {
		copies[m.InvocationID]++
		switch {
		case !d.sent[m.InvocationID]:
			out = append(out, fmt.Sprintf("%s: received %s, which was never sent", d.name, m.InvocationID))
		case m.Status != store.StatusDelivered:
			out = append(out, fmt.Sprintf("%s: received %s is %s: %s", d.name, m.InvocationID, m.Status, m.StatusDetail))
		}
	}
	for _, m := range d.outbound {
		if !d.sent[m.InvocationID] {
			continue
		}
		if m.Status != store.StatusDelivered {
			out = append(out, fmt.Sprintf("%s: sent %s is %s: %s", d.name, m.InvocationID, m.Status, m.StatusDetail))
		}
		if c := copies[m.InvocationID]; c != 1 {
			out = append(out, fmt.Sprintf("%s: sent %s arrived %d times", d.name, m.InvocationID, c))
		}
	}
	return out
}

func (b *bench) report(out io.Writer, dirs []*direction, start, submitted time.Time) error {
	var latencies []time.Duration
	statuses := map[string]int{}
	var last time.Time
	var problems []string
	for _, d := range dirs {
		for _, m := range d.outbound {
			statuses[m.Status]++
			if m.FinalAt != nil {
				latencies = append(latencies, m.FinalAt.Sub(m.CreatedAt))
				last = maxTime(last, *m.FinalAt)
			}
		}
		problems = append(problems, d.problems()...)
	}
	wall := last.Sub(start)
	if last.IsZero() {
		wall = time.Since(start)
	}
	slices.Sort(latencies)
	total := 2 * b.n
	fmt.Fprintf(out, "messages      %d (%d each way, %d-byte payloads)\n", total, b.n, b.size)
	fmt.Fprintf(out, "wall time     %s (first submitted to last final response)\n", wall.Round(time.Millisecond))
	fmt.Fprintf(out, "throughput    %.1f messages/s\n", float64(total)/wall.Seconds())
	fmt.Fprintf(out, "latency       p50 %s  p95 %s  p99 %s  max %s (queued to final status, sender side)\n",
		pct(latencies, 50), pct(latencies, 95), pct(latencies, 99), pct(latencies, 100))
	fmt.Fprintf(out, "final status  %s\n", countLine(statuses))
	fmt.Fprintf(out, "peak RSS      %s\n", b.rssLine())
	b.logf("submitting took %s, draining %s more", submitted.Sub(start).Round(time.Millisecond),
		maxTime(last, submitted).Sub(submitted).Round(time.Millisecond))
	if len(problems) > 0 {
		for _, p := range problems[:min(len(problems), 20)] {
			fmt.Fprintln(out, "PROBLEM", p)
		}
		return fmt.Errorf("%d problems: not every message was delivered exactly once", len(problems))
	}
	fmt.Fprintln(out, "every message was delivered exactly once")
	return nil
}

func (b *bench) rssLine() string {
	var parts []string
	for _, p := range []*loadnet.Provider{b.a, b.b} {
		parts = append(parts, fmt.Sprintf("%s %s", strings.ToUpper(p.Name), mib(p.PeakRSS())))
	}
	parts = append(parts, "bench "+mib(loadnet.SelfPeakRSS()))
	return strings.Join(parts, ", ") + " (PostgreSQL not counted)"
}

func mib(n int64, err error) string {
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// pct is the p-th percentile (nearest rank) of sorted durations.
func pct(sorted []time.Duration, p int) string {
	if len(sorted) == 0 {
		return "-"
	}
	i := (p*len(sorted)+99)/100 - 1
	return sorted[max(i, 0)].Round(time.Millisecond).String()
}

func countLine(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// freeLoopbackAddr returns host:port with a port that was free just now.
func freeLoopbackAddr(host string) (string, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// fetchProfile saves a pprof profile from url to path.
func fetchProfile(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
