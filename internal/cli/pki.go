package cli

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/opensmd/portal/internal/smd/pki"
)

// runPKI implements `portal pki init|issue`: a TEST certificate authority
// and NASH-shaped organisation certificates for development and tests.
func runPKI(_ context.Context, env Env, args []string) error {
	if len(args) == 0 {
		return usageError{"usage: portal pki init --out DIR | portal pki issue --ca DIR --org-uri URI --name NAME --out DIR"}
	}
	switch args[0] {
	case "init":
		return pkiInit(env, args[1:])
	case "issue":
		return pkiIssue(env, args[1:])
	}
	return usageError{fmt.Sprintf("unknown pki command %q (init, issue)", args[0])}
}

func pkiInit(env Env, args []string) error {
	fs := newFlagSet("pki init", env)
	out := fs.String("out", "", "directory for ca.pem and ca-key.pem")
	name := fs.String("name", "OpenSMD TEST Root CA", "CA common name")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return usageError{"--out DIR is required"}
	}
	ca, err := pki.NewCA(*name, pki.Options{})
	if err != nil {
		return err
	}
	if err := writePair(*out, "ca.pem", "ca-key.pem", ca.Cert, ca.Key); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Created TEST CA %q in %s (ca.pem, ca-key.pem)\n", ca.Cert.Subject.CommonName, *out)
	return nil
}

func pkiIssue(env Env, args []string) error {
	fs := newFlagSet("pki issue", env)
	caDir := fs.String("ca", "", "directory holding ca.pem and ca-key.pem")
	orgURI := fs.String("org-uri", "", "organisation URI for the SAN, e.g. http://ns.electronichealth.net.au/id/hi/hpio/1.0/8003620000000013")
	name := fs.String("name", "", "organisation name")
	out := fs.String("out", "", "directory for cert.pem and key.pem")
	var dns stringList
	fs.Var(&dns, "dns", "DNS name or IP address for TLS use, added to localhost, 127.0.0.1 and ::1 (repeatable)")
	var hosts stringList
	fs.Var(&hosts, "host", "DNS name or IP address for TLS use, instead of the loopback defaults (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *caDir == "" || *orgURI == "" || *name == "" || *out == "" {
		return usageError{"--ca, --org-uri, --name and --out are required"}
	}
	caCert, err := loadLeaf(filepath.Join(*caDir, "ca.pem"))
	if err != nil {
		return err
	}
	caKey, err := pki.LoadKeyFile(filepath.Join(*caDir, "ca-key.pem"))
	if err != nil {
		return err
	}
	ca := &pki.CA{Cert: caCert, Key: caKey}
	if len(hosts) == 0 {
		hosts = append(stringList{"localhost", "127.0.0.1", "::1"}, dns...)
	}
	req := pki.Request{OrgURI: *orgURI, Name: *name, Usage: pki.UsageAll}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			req.IPAddresses = append(req.IPAddresses, ip)
		} else {
			req.DNSNames = append(req.DNSNames, h)
		}
	}
	cert, key, err := ca.Issue(req, pki.Options{})
	if err != nil {
		return err
	}
	if err := writePair(*out, "cert.pem", "key.pem", cert, key); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Issued TEST certificate for %s (%s) in %s (cert.pem, key.pem)\n", *name, *orgURI, *out)
	return nil
}

func writePair(dir, certName, keyName string, cert *x509.Certificate, key *rsa.PrivateKey) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return pki.WriteFiles(filepath.Join(dir, certName), filepath.Join(dir, keyName), cert, key)
}

// loadLeaf reads a PEM file and returns its first certificate.
func loadLeaf(path string) (*x509.Certificate, error) {
	certs, err := pki.LoadCertFile(path)
	if err != nil {
		return nil, err
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%s holds no certificate", path)
	}
	return certs[0], nil
}

type stringList []string

func (s *stringList) String() string     { return fmt.Sprint(*s) }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }
