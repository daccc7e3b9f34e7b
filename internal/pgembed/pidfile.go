package pgembed

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// pidFile is the parsed content of DataDir/postmaster.pid, which the
// postmaster writes line by line: pid, data dir, start time, port, first
// socket directory, first listen address, shared memory key, status.
type pidFile struct {
	pid       int
	port      int
	socketDir string
	status    string // "starting", "ready", "stopping" or "" (older files)
}

const pidFileName = "postmaster.pid"

// readPidFile parses the pid file in dataDir. It returns (nil, nil) if there
// is none.
func readPidFile(dataDir string) (*pidFile, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, pidFileName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", pidFileName, err)
	}
	lines := strings.Split(string(b), "\n")
	line := func(i int) string {
		if i < len(lines) {
			return strings.TrimSpace(lines[i])
		}
		return ""
	}
	pid, err := strconv.Atoi(line(0))
	if err != nil || pid <= 0 {
		// A half-written or corrupt file: treat as stale.
		return &pidFile{}, nil
	}
	port, _ := strconv.Atoi(line(3))
	return &pidFile{pid: pid, port: port, socketDir: line(4), status: line(7)}, nil
}

// alive reports whether the file names a live postgres process. A pid that
// was reused by another program after a crash does not count.
func (p *pidFile) alive() bool {
	if p == nil || p.pid <= 0 {
		return false
	}
	if err := syscall.Kill(p.pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p.pid))
	if err != nil {
		return true // no procfs: trust kill(0)
	}
	name := strings.TrimSpace(string(comm))
	return name == "postgres" || name == "postmaster"
}

// Running is a cluster server found running on a data directory.
type Running struct {
	PID int
	// URL connects to the database asked for over the server's socket.
	URL string
}

// FindRunning reports the server running on dataDir (the DataDir of
// Options), as another process started it, with a URL for database (""
// means "portal"). ok is false when no live server runs there.
func FindRunning(dataDir, database string) (r Running, ok bool, err error) {
	pf, err := readPidFile(dataDir)
	if err != nil || !pf.alive() {
		return Running{}, false, err
	}
	if pf.socketDir == "" || pf.port == 0 {
		return Running{}, false, fmt.Errorf("%s of the running server names no unix socket", pidFileName)
	}
	if database == "" {
		database = "portal"
	}
	return Running{PID: pf.pid, URL: connString(pf.socketDir, pf.port, database)}, true, nil
}
