package loadnet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/opensmd/portal/internal/pgembed"
	"github.com/opensmd/portal/internal/provider"
)

// setup issues the certificates and configures every provider's database
// with the CLI.
func (n *Network) setup(ctx context.Context) error {
	if _, err := n.run(ctx, nil, "pki", "init", "--out", n.CADir); err != nil {
		return err
	}
	if err := n.issueAll(ctx); err != nil {
		return err
	}
	return n.each(func(p *Provider) error { return n.configure(ctx, p) })
}

// issueAll issues every organisation certificate and every provider's TLS
// certificate, a few at a time (RSA key generation is CPU-bound).
func (n *Network) issueAll(ctx context.Context) error {
	type job struct{ args []string }
	var jobs []job
	for _, p := range n.Providers {
		jobs = append(jobs, job{[]string{"pki", "issue", "--ca", n.CADir, "--org-uri", p.URI,
			"--name", "Provider " + p.Name, "--host", p.Host, "--out", p.tlsDir}})
		for _, o := range p.spec.Orgs {
			hpio, err := provider.HPIOFromURI(o.URI)
			if err != nil {
				return err
			}
			if _, dup := n.certDir[o.URI]; dup {
				return fmt.Errorf("organisation %s is listed twice", o.URI)
			}
			dir := filepath.Join(n.opts.Dir, "certs", hpio)
			n.certDir[o.URI] = dir
			jobs = append(jobs, job{[]string{"pki", "issue", "--ca", n.CADir, "--org-uri", o.URI,
				"--name", o.Name, "--out", dir}})
		}
	}
	sem := make(chan struct{}, 2)
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			_, errs[i] = n.run(ctx, nil, j.args...)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// configure adds p's organisations, the CA and the directory. Its
// PostgreSQL is started here once, so each command adopts it instead of
// starting and stopping its own, and stopped before p serves.
func (n *Network) configure(ctx context.Context, p *Provider) (err error) {
	cluster, err := pgembed.Start(ctx, pgembed.Options{DataDir: filepath.Join(p.DataDir, "pg")})
	if err != nil {
		return err
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		err = errors.Join(err, cluster.Stop(stopCtx))
	}()
	env := []string{"PORTAL_DATA_DIR=" + p.DataDir, "PORTAL_LOG_LEVEL=warn"}
	for _, o := range p.spec.Orgs {
		dir := n.certDir[o.URI]
		args := []string{"org", "add", "--org-uri", o.URI, "--name", o.Name,
			"--cert", filepath.Join(dir, "cert.pem"), "--key", filepath.Join(dir, "key.pem")}
		if o.Delivery != "" {
			args = append(args, "--delivery", o.Delivery)
		}
		if _, err := n.run(ctx, env, args...); err != nil {
			return err
		}
	}
	if _, err := n.run(ctx, env, "trust", "add", "--ca", filepath.Join(n.CADir, "ca.pem")); err != nil {
		return err
	}
	for _, q := range n.Providers {
		for _, o := range q.spec.Orgs {
			args := []string{"directory", "add", "--org-uri", o.URI, "--name", o.Name, "--endpoint", q.SMDURL,
				"--cert", filepath.Join(n.certDir[o.URI], "cert.pem")}
			for _, c := range n.opts.Categories {
				args = append(args, "--category", c)
			}
			if _, err := n.run(ctx, env, args...); err != nil {
				return err
			}
		}
	}
	return nil
}

// run executes one portal command with env added to a clean environment
// and returns its standard output; a failure carries its output.
func (n *Network) run(ctx context.Context, env []string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, n.opts.Binary, args...)
	cmd.Env = append(baseEnv(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("portal %s: %w\n%s%s", strings.Join(args[:min(2, len(args))], " "), err,
			stdout.String(), stderr.String())
	}
	return stdout.Bytes(), nil
}

// baseEnv is this process's environment without the portal's settings, so
// a developer's PORTAL_* or DATABASE_URL cannot leak into a provider.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PORTAL_") || strings.HasPrefix(kv, "DATABASE_URL=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}
