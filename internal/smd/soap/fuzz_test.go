package soap_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/opensmd/portal/internal/smd/fault"
	"github.com/opensmd/portal/internal/smd/soap"
)

// FuzzParseEnvelope feeds arbitrary bytes to the hardened parser. It must
// never panic, must fail only with a *fault.Error, and whatever it accepts
// must rebuild and parse back to the same header and body. Seeds are the
// golden envelopes and the hardening cases; `go test` runs them as unit
// tests.
func FuzzParseEnvelope(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.xml"))
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, c := range hardeningCases() {
		f.Add([]byte(c.xml))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		lim := soap.Limits{MaxBytes: 1 << 20, MaxDepth: 64}
		env, err := soap.Parse(bytes.NewReader(b), lim)
		if err != nil {
			if _, ok := fault.CodeOf(err); !ok {
				t.Fatalf("error is not a *fault.Error: %T %v", err, err)
			}
			return
		}
		out, err := soap.Build(env)
		if err != nil {
			t.Fatalf("accepted envelope does not rebuild: %v", err)
		}
		again, err := soap.Parse(bytes.NewReader(out), soap.Limits{MaxBytes: 2 << 20, MaxDepth: 66})
		if err != nil {
			t.Fatalf("rebuilt envelope rejected: %v\n%s", err, out)
		}
		if diff := cmp.Diff(env.Header, again.Header); diff != "" {
			t.Fatalf("header changed (-first +second):\n%s", diff)
		}
		if a, b := xmlString(t, env.Body), xmlString(t, again.Body); a != b {
			t.Fatalf("body changed:\n%s\n%s", a, b)
		}
	})
}
