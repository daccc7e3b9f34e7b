//go:build linux

package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opensmd/portal/internal/loadnet"
	"github.com/opensmd/portal/internal/pipeline"
	"github.com/opensmd/portal/internal/smd/ns"
	"github.com/opensmd/portal/internal/smd/wire"
	"github.com/opensmd/portal/internal/store"
)

// The organisations of the two-provider network: a GP at provider A
// (127.0.0.1) and a physiotherapist at provider B (127.0.0.2).
const (
	orgGP     = ns.QualifierHPIO + "8003620000000013"
	orgPhysio = ns.QualifierHPIO + "8003620000000021"
)

// pollEvery is how often the tests look at the providers' databases.
const pollEvery = 200 * time.Millisecond

// startNetwork runs providers A and B as separate `portal serve`
// processes (two databases, two TLS identities, one TEST CA) for t, with
// quick retries. They are stopped when t ends; on failure their logs are
// printed.
func startNetwork(t *testing.T, tuneA ...func(*loadnet.ProviderSpec)) (a, b *loadnet.Provider) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end multi-process test: skipped with -short")
	}
	dir := t.TempDir()
	if os.Geteuid() == 0 {
		// PostgreSQL runs as an unprivileged user that must reach the
		// data directories below the test's 0700 temporary directories.
		if err := os.Chmod(filepath.Dir(dir), 0o711); err != nil {
			t.Fatal(err)
		}
	}
	specA := loadnet.ProviderSpec{Name: "a", Host: "127.0.0.1", Orgs: []loadnet.OrgSpec{{URI: orgGP, Name: "GP Clinic"}}}
	for _, f := range tuneA {
		f(&specA)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	n, err := loadnet.Start(ctx, loadnet.Options{
		Binary: portalBinary(t), Dir: dir, Logf: t.Logf,
		// A job left running by the killed receiver is taken over after
		// 1.5 x PORTAL_JOB_TIMEOUT.
		Env: []string{"PORTAL_SMD_RETRY_MAX=2s", "PORTAL_JOB_TIMEOUT=10s"},
		Providers: []loadnet.ProviderSpec{specA,
			{Name: "b", Host: "127.0.0.2", Orgs: []loadnet.OrgSpec{{URI: orgPhysio, Name: "Physio"}}},
		},
	})
	if err != nil {
		t.Fatalf("start two providers: %v", err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Errorf("stop providers: %v", err)
		}
		if t.Failed() {
			for _, p := range n.Providers {
				t.Logf("provider %s log:\n%s", p.Name, logTail(p.LogFile, 80))
			}
		}
	})
	return n.Providers[0], n.Providers[1]
}

func logTail(path string, lines int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(all[max(0, len(all)-lines):], "\n")
}

// sendMany submits n referrals from org fromOrg at p to toOrg, four at a
// time, and returns their invocationIds.
func sendMany(t *testing.T, p *loadnet.Provider, fromOrg, toOrg string, n int, expiry time.Duration) []string {
	t.Helper()
	ids, err := send(p, fromOrg, toOrg, n, expiry)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// send is sendMany for any goroutine.
func send(p *loadnet.Provider, fromOrg, toOrg string, n int, expiry time.Duration) ([]string, error) {
	ids := make([]string, n)
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := range next {
				m, err := p.Send(context.Background(), pipeline.Outbound{From: fromOrg, To: toOrg,
					Category: loadnet.CategoryReferral, Expiry: expiry,
					Payload: loadnet.Referral(fmt.Sprintf("E2E%s%04d", p.Name, i), 2048)})
				ids[i], errs[i] = m.InvocationID, err
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("send message %d from provider %s: %w", i, p.Name, err)
		}
	}
	return ids, nil
}

// messages returns org's messages at p in one direction, by invocationId;
// a second row with the same invocationId fails the test.
func messages(t *testing.T, p *loadnet.Provider, org, direction string) map[string]loadnet.Message {
	t.Helper()
	all, err := p.Messages(context.Background(), org)
	if err != nil {
		t.Fatalf("messages of %s at provider %s: %v", org, p.Name, err)
	}
	out := map[string]loadnet.Message{}
	for _, m := range all {
		if m.Direction != direction {
			continue
		}
		if _, dup := out[m.InvocationID]; dup {
			t.Fatalf("provider %s holds two %s messages with invocationId %s", p.Name, direction, m.InvocationID)
		}
		out[m.InvocationID] = m
	}
	return out
}

func isFinal(status string) bool {
	return status == store.StatusDelivered || status == store.StatusFailed
}

// waitFinal waits until every message ids of org at sender p has a final
// status and returns them.
func waitFinal(t *testing.T, p *loadnet.Provider, org string, ids []string, timeout time.Duration) map[string]loadnet.Message {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msgs := messages(t, p, org, store.Outbound)
		pending := map[string]int{}
		for _, id := range ids {
			if m, ok := msgs[id]; !ok {
				pending["missing"]++
			} else if !isFinal(m.Status) {
				pending[m.Status]++
			}
		}
		if len(pending) == 0 {
			return msgs
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s, messages at provider %s not final, by status: %v", timeout, p.Name, pending)
		}
		time.Sleep(pollEvery)
	}
}

// checkExactlyOnce checks every message ids from sender (org fromOrg) to
// receiver (org toOrg): delivered at the sender with exactly one final
// transport response, a Success; exactly one inbound copy at the receiver,
// delivered; and no inbound message the sender did not send.
func checkExactlyOnce(t *testing.T, sender *loadnet.Provider, fromOrg string, receiver *loadnet.Provider, toOrg string, ids []string) {
	t.Helper()
	ctx := context.Background()
	sent := waitFinal(t, sender, fromOrg, ids, 10*time.Second)
	received := messages(t, receiver, toOrg, store.Inbound) // fails on a duplicate
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
		m := sent[id]
		if m.Status != store.StatusDelivered {
			t.Errorf("sent %s is %s: %s", id, m.Status, m.StatusDetail)
		}
		rs, err := sender.Responses(ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		var finals []string // class/direction of each final response
		for _, r := range rs {
			if r.Final {
				finals = append(finals, r.Class+"/"+r.Direction)
			}
		}
		if len(finals) != 1 || finals[0] != string(wire.ClassSuccess)+"/"+store.ResponseReceived {
			t.Errorf("sent %s: want one final Success transport response received, got %v", id, finals)
		}
		in, ok := received[id]
		switch {
		case !ok:
			t.Errorf("sent %s is missing at provider %s", id, receiver.Name)
		case in.Status != store.StatusDelivered:
			t.Errorf("received %s is %s: %s", id, in.Status, in.StatusDetail)
		case in.SenderOrgURI != fromOrg || in.ReceiverOrgURI != toOrg:
			t.Errorf("received %s is from %s to %s", id, in.SenderOrgURI, in.ReceiverOrgURI)
		}
	}
	for id := range received {
		if !want[id] {
			t.Errorf("provider %s received %s, which was never sent", receiver.Name, id)
		}
	}
}

// TestTwoProviders_200EachWay sends 200 referrals each way at once between
// two provider processes: each one is delivered exactly once and confirmed
// to its sender.
func TestTwoProviders_200EachWay(t *testing.T) {
	t.Parallel()
	a, b := startNetwork(t)
	var aToB, bToA []string
	var errA, errB error
	var wg sync.WaitGroup
	wg.Go(func() { aToB, errA = send(a, orgGP, orgPhysio, 200, 0) })
	wg.Go(func() { bToA, errB = send(b, orgPhysio, orgGP, 200, 0) })
	wg.Wait()
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	start := time.Now()
	waitFinal(t, a, orgGP, aToB, 2*time.Minute)
	waitFinal(t, b, orgPhysio, bToA, 2*time.Minute)
	t.Logf("400 messages final %s after submission", time.Since(start).Round(time.Millisecond))
	checkExactlyOnce(t, a, orgGP, b, orgPhysio, aToB)
	checkExactlyOnce(t, b, orgPhysio, a, orgGP, bToA)
}

// TestTwoProviders_ReceiverKilledAndRestarted kills the receiving provider
// (SIGKILL: no shutdown at all) while 100 messages are on their way and
// restarts it: nothing is lost and nothing is duplicated.
func TestTwoProviders_ReceiverKilledAndRestarted(t *testing.T) {
	t.Parallel()
	a, b := startNetwork(t)
	ids := sendMany(t, a, orgGP, orgPhysio, 100, 0)
	waitFor(t, 30*time.Second, "B receiving the first message", func() bool {
		return len(messages(t, b, orgPhysio, store.Inbound)) > 0
	})
	if err := b.Kill(); err != nil {
		t.Fatalf("kill B: %v", err)
	}
	got := len(messages(t, b, orgPhysio, store.Inbound)) // its PostgreSQL still runs
	t.Logf("killed B with %d of %d messages received", got, len(ids))
	// Let A run into the dead receiver before B comes back, unless it had
	// already handed every message over.
	waitFor(t, 30*time.Second, "A to fail an attempt or finish sending", func() bool {
		queued := 0
		for _, m := range messages(t, a, orgGP, store.Outbound) {
			for _, e := range m.Timeline {
				if strings.HasPrefix(e.Detail, "Delivery attempt") {
					return true
				}
			}
			if m.Status == store.StatusQueued {
				queued++
			}
		}
		return queued == 0
	})
	start := time.Now()
	if err := b.Restart(context.Background()); err != nil {
		t.Fatalf("restart B: %v", err)
	}
	// A job B was running when killed is taken over only after River's
	// rescue delay (jobs.New: RescueStuckJobsAfter, 2 min) plus its 30 s
	// interval.
	waitFinal(t, a, orgGP, ids, 4*time.Minute)
	t.Logf("all final %s after B restarted", time.Since(start).Round(time.Millisecond))
	checkExactlyOnce(t, a, orgGP, b, orgPhysio, ids)
	retried, dup := 0, 0
	for _, m := range messages(t, a, orgGP, store.Outbound) {
		for _, e := range m.Timeline {
			retried += btoi(strings.HasPrefix(e.Detail, "Delivery attempt"))
			dup += btoi(strings.Contains(e.Detail, "already had this message"))
		}
	}
	t.Logf("A: %d failed delivery attempts, %d deliveries answered duplicate", retried, dup)
}

// TestTwoProviders_ReceiverDownPastExpiry sends a message with a 5 s
// expiry while the receiving provider is down: it fails with a reason,
// and once the receiver is back it never shows the message.
func TestTwoProviders_ReceiverDownPastExpiry(t *testing.T) {
	t.Parallel()
	a, b := startNetwork(t)
	if err := b.Stop(); err != nil {
		t.Fatalf("stop B: %v", err)
	}
	expired := sendMany(t, a, orgGP, orgPhysio, 1, 5*time.Second)[0]
	m := waitFinal(t, a, orgGP, []string{expired}, 45*time.Second)[expired]
	if m.Status != store.StatusFailed || !strings.Contains(m.StatusDetail, "expired") {
		t.Fatalf("message sent to a provider that is down is %s: %q; want failed, expired", m.Status, m.StatusDetail)
	}
	attempts := 0
	for _, e := range m.Timeline {
		if strings.HasPrefix(e.Detail, "Delivery attempt") {
			attempts++
		}
	}
	if attempts == 0 {
		t.Errorf("no failed delivery attempt in the timeline: %+v", m.Timeline)
	}

	if err := b.Start(context.Background()); err != nil {
		t.Fatalf("start B again: %v", err)
	}
	// A message sent now arrives: B is up and A reaches it.
	control := sendMany(t, a, orgGP, orgPhysio, 1, 0)
	waitFinal(t, a, orgGP, control, time.Minute)
	checkExactlyOnce(t, a, orgGP, b, orgPhysio, control)
	// With no job left at A, nothing can deliver the expired one later.
	waitFor(t, 30*time.Second, "A to have no pipeline jobs left", func() bool {
		n, err := a.PendingJobs(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return n == 0
	})
	if in, ok := messages(t, b, orgPhysio, store.Inbound)[expired]; ok {
		t.Errorf("B shows the expired message: %s, %s", in.Status, in.StatusDetail)
	}
	if m := messages(t, a, orgGP, store.Outbound)[expired]; m.Status != store.StatusFailed {
		t.Errorf("expired message is now %s: %s", m.Status, m.StatusDetail)
	}
}

// waitFor polls cond until it holds, failing t after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(pollEvery)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestTwoProviders_TwoWorkerProcesses: provider A runs its web and SMD
// listener in one process and its workers in two others, all on one
// database. Every message is sent exactly once: the receiver answers no
// deliver with "duplicate" and holds one copy of each, and both worker
// processes took part.
func TestTwoProviders_TwoWorkerProcesses(t *testing.T) {
	t.Parallel()
	a, b := startNetwork(t, func(s *loadnet.ProviderSpec) { s.Role = "web,smd" })
	ctx := context.Background()
	for _, name := range []string{"worker1", "worker2"} {
		w, err := a.StartWorker(ctx, name)
		if err != nil {
			t.Fatalf("start %s: %v", name, err)
		}
		t.Cleanup(func() {
			if err := w.Stop(); err != nil {
				t.Errorf("stop %s: %v", name, err)
			}
		})
	}
	ids := sendMany(t, a, orgGP, orgPhysio, 200, 0)
	waitFinal(t, a, orgGP, ids, 2*time.Minute)
	checkExactlyOnce(t, a, orgGP, b, orgPhysio, ids)
	metrics := "http://" + b.HTTPAddr + "/metrics"
	if n := metric(t, metrics, `smd_inbound_requests_total{outcome="accepted"}`); n != 200 {
		t.Errorf("receiver accepted %v deliveries, want 200", n)
	}
	if n := metric(t, metrics, `smd_inbound_requests_total{outcome="duplicate"}`); n != 0 {
		t.Errorf("receiver answered %v deliveries as duplicates: a message was sent twice", n)
	}
	url, err := a.DatabaseURL()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var workers int
	err = conn.QueryRow(ctx, `SELECT count(DISTINCT attempted_by[array_length(attempted_by, 1)])
		FROM river_job WHERE kind = 'smd.send' AND state = 'completed'`).Scan(&workers)
	if err != nil || workers != 2 {
		t.Errorf("sends completed by %d worker processes (%v), want 2", workers, err)
	}
}

// metric reads one sample's value from a Prometheus text endpoint; an
// absent series is 0.
func metric(t *testing.T, url, series string) float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	return 0
}
