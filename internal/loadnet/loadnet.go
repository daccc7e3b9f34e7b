// Package loadnet starts and drives a network of SMD providers, each one a
// separate `portal serve` process with its own embedded PostgreSQL and TLS
// identity, all certified by one TEST CA. End-to-end tests and
// `portal bench` use it.
//
// Set-up runs the operator commands (pki, org add, trust add, directory
// add) of the binary under test, so the network is configured the way a
// real one is. Messages are submitted from this process through the same
// pipeline code as `portal send`, over the provider's database socket: a
// process per message would measure exec, not the pipeline.
package loadnet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/opensmd/portal/internal/hi"
	"github.com/opensmd/portal/internal/smd/ns"
)

// CategoryReferral is the service category every organisation accepts
// unless Options.Categories says otherwise: the HL7 AU simplified referral.
const CategoryReferral = "http://ns.hl7.org.au/hl7v2/profiles/HL7AU-OO-REF-SIMPLIFIED-201706"

// Options configures Start.
type Options struct {
	// Binary is the portal binary every provider runs.
	Binary string
	// Dir holds the CA, the providers' data directories, certificates and
	// logs. It is created if missing and left in place: the caller removes
	// it.
	Dir       string
	Providers []ProviderSpec
	// Env is extra KEY=VALUE settings for every provider's serve process,
	// e.g. PORTAL_SMD_RETRY_MAX=2s.
	Env []string
	// Categories every organisation accepts (default CategoryReferral).
	Categories []string
	// Logf reports progress; nil discards it.
	Logf func(format string, args ...any)
	// StartTimeout bounds one provider's start (default 2 min: a first
	// start runs initdb and every migration on a busy machine).
	StartTimeout time.Duration
}

// ProviderSpec describes one provider.
type ProviderSpec struct {
	// Name names the provider's directories under Options.Dir.
	Name string
	// Host is the loopback address its listeners bind (127.0.0.1,
	// 127.0.0.2…); its TLS certificate names this address only, so a
	// peer can tell the providers apart.
	Host string
	// URI is the provider's identity (an HPI-O URI); empty generates one.
	URI  string
	Orgs []OrgSpec
	// Env is extra KEY=VALUE settings for this provider only.
	Env []string
	// Role is the serve process's --role (default all); with a role
	// without "worker", add worker processes with StartWorker.
	Role string
}

// OrgSpec is an organisation a provider hosts.
type OrgSpec struct {
	URI  string // ns.QualifierHPIO followed by a valid HPI-O
	Name string
	// Delivery is "push" (portal inbox, default) or "retrieve" (SMR).
	Delivery string
}

// Network is a running set of providers. Close it.
type Network struct {
	Providers []*Provider
	// CADir holds the TEST CA (ca.pem, ca-key.pem).
	CADir string

	opts    Options
	certDir map[string]string // organisation URI → directory of cert.pem, key.pem
	closed  sync.Once
}

// Start creates the CA and certificates, configures every provider with
// the CLI (its own organisations; the CA as trust anchor; every
// organisation of the network, its own included, in its directory) and
// starts them all. On error, whatever was started is stopped.
func Start(ctx context.Context, o Options) (*Network, error) {
	if err := checkOptions(&o); err != nil {
		return nil, fmt.Errorf("loadnet: %w", err)
	}
	if err := makeDir(o.Dir); err != nil {
		return nil, fmt.Errorf("loadnet: %w", err)
	}
	n := &Network{CADir: filepath.Join(o.Dir, "ca"), opts: o, certDir: map[string]string{}}
	for i, spec := range o.Providers {
		p, err := newProvider(n, i, spec)
		if err != nil {
			return nil, fmt.Errorf("loadnet: provider %s: %w", spec.Name, err)
		}
		n.Providers = append(n.Providers, p)
	}
	start := time.Now()
	if err := n.setup(ctx); err != nil {
		return nil, fmt.Errorf("loadnet: set-up: %w", err)
	}
	n.logf("Configured %d providers in %s", len(n.Providers), time.Since(start).Round(time.Millisecond))
	err := n.each(func(p *Provider) error { return p.Start(ctx) })
	if err != nil {
		_ = n.Close()
		return nil, fmt.Errorf("loadnet: %w", err)
	}
	return n, nil
}

func checkOptions(o *Options) error {
	if o.Binary == "" || o.Dir == "" || len(o.Providers) == 0 {
		return errors.New("Binary, Dir and Providers are required")
	}
	if len(o.Categories) == 0 {
		o.Categories = []string{CategoryReferral}
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 2 * time.Minute
	}
	names := map[string]bool{}
	for _, p := range o.Providers {
		if p.Name == "" || strings.ContainsAny(p.Name, `/\ `) || names[p.Name] || p.Name == "ca" || p.Name == "certs" {
			return fmt.Errorf("provider name %q: want a unique plain name (not ca or certs)", p.Name)
		}
		names[p.Name] = true
		if net.ParseIP(p.Host) == nil {
			return fmt.Errorf("provider %s: Host %q is not an IP address", p.Name, p.Host)
		}
	}
	return nil
}

// makeDir creates dir; as root it is made searchable by others, because
// PostgreSQL then runs as an unprivileged user that must reach the data
// directories inside.
func makeDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if os.Geteuid() == 0 {
		return os.Chmod(dir, 0o711)
	}
	return nil
}

// providerURI generates the identity of provider i: a valid HPI-O in a
// range organisations in tests do not use.
func providerURI(i int) string {
	return ns.QualifierHPIO + hi.WithCheckDigit(fmt.Sprintf("800362%09d", 990000000+i))
}

// freePorts returns n distinct host:port addresses whose ports were free
// on host just now. The listeners stay open until all n are chosen, so
// the kernel cannot hand the same port out twice.
func freePorts(host string, n int) ([]string, error) {
	var addrs []string
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		addrs = append(addrs, l.Addr().String())
	}
	return addrs, nil
}

// Provider returns the provider named name, or nil.
func (n *Network) Provider(name string) *Provider {
	i := slices.IndexFunc(n.Providers, func(p *Provider) bool { return p.Name == name })
	if i < 0 {
		return nil
	}
	return n.Providers[i]
}

// Close stops every provider gracefully (killing one that does not stop
// in time) and any PostgreSQL server a killed provider left behind.
func (n *Network) Close() error {
	var err error
	n.closed.Do(func() {
		err = n.each(func(p *Provider) error { return p.shutdown() })
	})
	return err
}

// each runs fn for every provider concurrently and joins the errors.
func (n *Network) each(fn func(p *Provider) error) error {
	errs := make([]error, len(n.Providers))
	var wg sync.WaitGroup
	for i, p := range n.Providers {
		wg.Go(func() {
			if err := fn(p); err != nil {
				errs[i] = fmt.Errorf("provider %s: %w", p.Name, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (n *Network) logf(format string, args ...any) { n.opts.Logf(format, args...) }
