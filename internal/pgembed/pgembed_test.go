package pgembed

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// testDir returns a fresh directory that the server's user can traverse
// even when the test runs as root (t.TempDir is mode 0700).
func testDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pgembed-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func start(t *testing.T, o Options) *Cluster {
	t.Helper()
	begin := time.Now()
	c, err := Start(t.Context(), o)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("Start took %v (ephemeral=%v)", time.Since(begin).Round(time.Millisecond), o.Ephemeral)
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	return c
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

func queryString(t *testing.T, conn *pgx.Conn, sql string) string {
	t.Helper()
	var s string
	if err := conn.QueryRow(t.Context(), sql).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}

func TestStart_RestartKeepsData(t *testing.T) {
	dataDir := filepath.Join(testDir(t), "var", "pg")
	c := start(t, Options{DataDir: dataDir})

	conn := connect(t, c.URL())
	if got := queryString(t, conn, "select current_database()"); got != "portal" {
		t.Errorf("current_database = %q, want portal", got)
	}
	if got := queryString(t, conn, "show listen_addresses"); got != "" {
		t.Errorf("listen_addresses = %q, want empty (unix socket only)", got)
	}
	if got := queryString(t, conn, "show server_encoding"); got != "UTF8" {
		t.Errorf("server_encoding = %q", got)
	}
	if got := queryString(t, conn, "select lower('ÄÖÜ')"); got != "äöü" {
		t.Errorf("lower('ÄÖÜ') = %q: lc_ctype is not UTF-8 aware", got)
	}
	if _, err := conn.Exec(t.Context(), "create table kept (v text); insert into kept values ('hello')"); err != nil {
		t.Fatal(err)
	}
	checkPrivate(t, c.socketDir)
	if _, err := os.Stat(filepath.Join(dataDir, "log", "postgres.log")); err != nil {
		t.Errorf("server log: %v", err)
	}
	checkServerUser(t, c)
	_ = conn.Close(t.Context())

	if err := c.Stop(t.Context()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, pidFileName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("postmaster.pid after Stop: %v", err)
	}

	c2 := start(t, Options{DataDir: dataDir})
	if got := queryString(t, connect(t, c2.URL()), "select v from kept"); got != "hello" {
		t.Errorf("after restart: kept.v = %q", got)
	}
}

func checkPrivate(t *testing.T, dir string) {
	t.Helper()
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("socket dir %s mode %04o, want 0700", dir, fi.Mode().Perm())
	}
}

// checkServerUser verifies that, as root, the server runs unprivileged.
func checkServerUser(t *testing.T, c *Cluster) {
	t.Helper()
	if os.Geteuid() != 0 {
		return
	}
	pf, err := readPidFile(c.dataDir)
	if err != nil || pf == nil {
		t.Fatalf("read pid file: %v", err)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pf.pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "Uid:" && f[1] == "0" {
			t.Errorf("postmaster %d runs as root", pf.pid)
		}
	}
}

func TestStart_AdoptsRunningCluster(t *testing.T) {
	dataDir := filepath.Join(testDir(t), "pg")
	c1 := start(t, Options{DataDir: dataDir, Ephemeral: true})
	c2, err := Start(t.Context(), Options{DataDir: dataDir, Database: "second"})
	if err != nil {
		t.Fatalf("second Start on a running cluster: %v", err)
	}
	if c2.socketDir != c1.socketDir {
		t.Errorf("adopted socket dir %q, want %q", c2.socketDir, c1.socketDir)
	}
	if got := queryString(t, connect(t, c2.URL()), "select current_database()"); got != "second" {
		t.Errorf("adopted cluster database = %q, want second (created on adopt)", got)
	}
	if err := c2.Stop(t.Context()); err != nil {
		t.Fatalf("Stop adopted: %v", err)
	}
	// The adopter must not have stopped its starter's server.
	if got := queryString(t, connect(t, c1.URL()), "select 'still up'"); got != "still up" {
		t.Error(got)
	}
	// Another process finds the running server and its URL.
	r, ok, err := FindRunning(dataDir, "")
	if err != nil || !ok || r.URL != c1.URL() || r.PID <= 0 {
		t.Fatalf("FindRunning = %+v %v %v, want %s", r, ok, err, c1.URL())
	}
	if err := c1.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := FindRunning(dataDir, ""); ok || err != nil {
		t.Fatalf("FindRunning after Stop: ok=%v err=%v", ok, err)
	}
}

// TestStart_OrphanIsStoppedByItsAdopter: when the owner of a server dies
// without stopping it (simulated by dropping its owner lock), the next
// process adopts it, owns it, and stops it when done.
func TestStart_OrphanIsStoppedByItsAdopter(t *testing.T) {
	dataDir := filepath.Join(testDir(t), "pg")
	c1 := start(t, Options{DataDir: dataDir})
	if c1.owner == nil {
		t.Fatal("the starter does not own its server")
	}
	c1.releaseOwnership() // c1 "dies": the kernel would drop its lock
	c1.started = false
	c2, err := Start(t.Context(), Options{DataDir: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	if c2.started || c2.owner == nil {
		t.Fatalf("adopter of an orphan: started=%v owner=%v", c2.started, c2.owner != nil)
	}
	c3, err := Start(t.Context(), Options{DataDir: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	if c3.owner != nil {
		t.Fatal("a second adopter took ownership from a live owner")
	}
	_ = c3.Stop(t.Context())
	connect(t, c2.URL()) // still up after the non-owner's Stop
	if err := c2.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "postmaster.pid")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("server still running after its owner stopped it: %v", err)
	}
}

func TestStart_RecoversFromCrash(t *testing.T) {
	dataDir := filepath.Join(testDir(t), "pg")
	c := start(t, Options{DataDir: dataDir})
	conn := connect(t, c.URL())
	if _, err := conn.Exec(t.Context(), "create table survived (v int); insert into survived values (42)"); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(t.Context(), "select pid from pg_stat_activity where pid <> pg_backend_pid()")
	if err != nil {
		t.Fatal(err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.Close(t.Context())
	pf, err := readPidFile(dataDir)
	if err != nil || pf == nil {
		t.Fatalf("pid file: %v", err)
	}
	// Crash: kill the postmaster; its children exit when they notice.
	if err := syscall.Kill(pf.pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for _, pid := range append(pids, int32(pf.pid)) {
		waitGone(t, int(pid))
	}
	if _, err := os.Stat(filepath.Join(dataDir, pidFileName)); err != nil {
		t.Fatalf("expected a stale postmaster.pid after the crash: %v", err)
	}

	c2 := start(t, Options{DataDir: dataDir})
	if got := queryString(t, connect(t, c2.URL()), "select v::text from survived"); got != "42" {
		t.Errorf("after crash recovery: %q", got)
	}
}

func TestStart_StalePidOfOtherProcess(t *testing.T) {
	dataDir := filepath.Join(testDir(t), "pg")
	c := start(t, Options{DataDir: dataDir, Ephemeral: true})
	if err := c.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	// After a crash and reboot the pid in postmaster.pid can belong to an
	// unrelated live process; Start must not mistake it for the server.
	sleeper := exec.Command("sleep", "60")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() })
	stale := fmt.Sprintf("%d\n%s\n1700000000\n5432\n/nonexistent\n\n  1234 5678\nready   \n", sleeper.Process.Pid, dataDir)
	if err := os.WriteFile(filepath.Join(dataDir, pidFileName), []byte(stale), 0o600); err != nil {
		t.Fatal(err)
	}
	c2 := start(t, Options{DataDir: dataDir, Ephemeral: true})
	if got := queryString(t, connect(t, c2.URL()), "select 'ok'"); got != "ok" {
		t.Error(got)
	}
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still alive", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestStart_LongPathUsesTempSocketDir(t *testing.T) {
	dataDir := filepath.Join(testDir(t), strings.Repeat("long-directory-name-", 6), "pg")
	c := start(t, Options{DataDir: dataDir, Ephemeral: true})
	if strings.HasPrefix(c.socketDir, dataDir) || !c.tempSocketDir {
		t.Fatalf("socket dir %q: want a temp dir, the data dir path is too long", c.socketDir)
	}
	checkPrivate(t, c.socketDir)
	if got := queryString(t, connect(t, c.URL()), "select 'ok'"); got != "ok" {
		t.Error(got)
	}
	if err := c.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(c.socketDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temp socket dir not removed on Stop: %v", err)
	}
}

func TestStart_RootNeedsTraversableDataDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only meaningful as root: the server then runs as another user")
	}
	private := filepath.Join(testDir(t), "private")
	if err := os.Mkdir(private, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := Start(t.Context(), Options{DataDir: filepath.Join(private, "pg")})
	if err == nil || !strings.Contains(err.Error(), "chmod o+x "+private) || !strings.Contains(err.Error(), "not reachable") {
		t.Fatalf("Start under a 0700 root directory: err = %v, want a message naming the fix", err)
	}
}

func TestStart_BinariesMissing(t *testing.T) {
	_, err := Start(t.Context(), Options{DataDir: filepath.Join(t.TempDir(), "pg"), BinDir: t.TempDir()})
	if !errors.Is(err, ErrBinariesNotFound) {
		t.Fatalf("err = %v, want ErrBinariesNotFound", err)
	}
	if !strings.Contains(err.Error(), "apt-get install postgresql") {
		t.Errorf("error does not name the package: %v", err)
	}
}

func TestFindBinDir(t *testing.T) {
	root := t.TempDir()
	fake := func(dir string, programs ...string) string {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, p := range programs {
			if err := os.WriteFile(filepath.Join(dir, p), []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	all := []string{"initdb", "pg_ctl", "postgres"}
	full := fake(filepath.Join(root, "full"), all...)
	partial := fake(filepath.Join(root, "partial"), "initdb", "pg_ctl")
	v96 := fake(filepath.Join(root, "lib", "9.6", "bin"), all...)
	v16 := fake(filepath.Join(root, "lib", "16", "bin"), all...)
	fake(filepath.Join(root, "lib", "17", "bin"), "initdb") // incomplete, skipped
	_ = v96
	glob := filepath.Join(root, "lib", "*", "bin")
	none := filepath.Join(root, "none", "*", "bin")

	tests := []struct {
		name, binDir, path, glob, want string
	}{
		{"ExplicitBinDir", full, "", none, full},
		{"FromPath", "", partial + string(os.PathListSeparator) + full, none, full},
		{"HighestDebianVersion", "", partial, glob, v16},
		{"NothingFound", "", partial, none, ""},
		{"ExplicitBinDirIncomplete", partial, full, glob, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := findBinDir(tt.binDir, tt.path, tt.glob)
			if tt.want == "" {
				if !errors.Is(err, ErrBinariesNotFound) {
					t.Fatalf("got %q, %v; want ErrBinariesNotFound", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestConnString_QuotesValues(t *testing.T) {
	cfg, err := pgx.ParseConfig(connString(`/tmp/it's a\dir`, 5432, "db name"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != `/tmp/it's a\dir` || cfg.Database != "db name" || cfg.User != superuser || cfg.Port != 5432 {
		t.Errorf("parsed %q %q %q %d", cfg.Host, cfg.Database, cfg.User, cfg.Port)
	}
}

// TestEphemeral_StopsWhenParentDies runs a helper process that starts an
// ephemeral cluster and exits without Stop; the server must go with it.
func TestEphemeral_StopsWhenParentDies(t *testing.T) {
	if dir := os.Getenv("PGEMBED_HELPER_DATADIR"); dir != "" {
		c, err := Start(context.Background(), Options{DataDir: dir, Ephemeral: true})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Printf("server-pid=%d\n", c.child.cmd.Process.Pid)
		os.Exit(0) // no Stop
	}
	dataDir := filepath.Join(testDir(t), "pg")
	cmd := exec.Command(os.Args[0], "-test.run=^TestEphemeral_StopsWhenParentDies$")
	cmd.Env = append(os.Environ(), "PGEMBED_HELPER_DATADIR="+dataDir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	_, after, ok := strings.Cut(string(out), "server-pid=")
	pid, err := strconv.Atoi(strings.Fields(after + " x")[0])
	if !ok || err != nil {
		t.Fatalf("helper output lacks the server pid: %s", out)
	}
	waitGone(t, pid)
	if _, err := os.Stat(filepath.Join(dataDir, pidFileName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("postmaster.pid remains, the server did not shut down cleanly: %v", err)
	}
}
