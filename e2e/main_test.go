//go:build linux

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// build is the portal binary, built once per test binary on first use.
var build struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if build.dir != "" {
		_ = os.RemoveAll(build.dir)
	}
	os.Exit(code)
}

// portalBinary returns the path of the portal binary built from ./cmd/portal,
// building it on the first call.
func portalBinary(t *testing.T) string {
	t.Helper()
	build.once.Do(func() {
		build.dir, build.err = os.MkdirTemp("", "opensmd-e2e-bin-")
		if build.err != nil {
			return
		}
		build.path = filepath.Join(build.dir, "portal")
		cmd := exec.Command(goTool(), "build", "-o", build.path, "github.com/opensmd/portal/cmd/portal")
		out, err := cmd.CombinedOutput()
		if err != nil {
			build.err = fmt.Errorf("go build ./cmd/portal: %w\n%s", err, out)
		}
	})
	if build.err != nil {
		t.Fatalf("build portal: %v", build.err)
	}
	return build.path
}

// goTool is the go command: the one on PATH (go test puts its own first),
// else the one of the toolchain that built this test.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}
