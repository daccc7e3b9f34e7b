package loadnet

import (
	"strings"
	"testing"

	"github.com/opensmd/portal/internal/hl7"
	"github.com/opensmd/portal/internal/provider"
)

func TestReferral(t *testing.T) {
	header := len(Referral("CTRL42", 0))
	for _, size := range []int{0, header, header + 1, header + 9, header + 10, 1500, 2048, 102400, 1 << 20} {
		b := Referral("CTRL42", size)
		if size >= header+10 && len(b) != size {
			t.Errorf("size %d: got %d bytes", size, len(b))
		}
		if len(b) < min(size, header) {
			t.Errorf("size %d: got only %d bytes", size, len(b))
		}
		m, err := hl7.Parse(b)
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if m.Type() != "REF^I12^REF_I12" || m.MSH().Field(10) != "CTRL42" {
			t.Errorf("size %d: type %q, control ID %q", size, m.Type(), m.MSH().Field(10))
		}
	}
}

func TestProviderURI(t *testing.T) {
	seen := map[string]bool{}
	for i := range 20 {
		u := providerURI(i)
		if _, err := provider.HPIOFromURI(u); err != nil {
			t.Errorf("provider %d: %v", i, err)
		}
		if seen[u] {
			t.Errorf("provider %d: %s repeated", i, u)
		}
		seen[u] = true
	}
}

func TestGetenv(t *testing.T) {
	get := getenv([]string{"A=1", "B=x=y", "A=2", "C="})
	for name, want := range map[string]string{"A": "2", "B": "x=y", "C": "", "D": ""} {
		if got := get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}

// Without a running PostgreSQL there is no URL (FindRunning itself is
// tested in pgembed against a real cluster).
func TestDatabaseURL_NotRunning(t *testing.T) {
	p := &Provider{Name: "a", DataDir: t.TempDir()}
	if _, err := p.DatabaseURL(); err == nil || !strings.Contains(err.Error(), "not running") {
		t.Fatalf("DatabaseURL() error = %v, want not running", err)
	}
}

func TestVmHWM(t *testing.T) {
	n, err := SelfPeakRSS()
	if err != nil || n < 1<<20 {
		t.Errorf("SelfPeakRSS() = %d, %v; want at least 1 MiB", n, err)
	}
}
