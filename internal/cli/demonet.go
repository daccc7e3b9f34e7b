package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/opensmd/portal/internal/auth"
	"github.com/opensmd/portal/internal/config"
	"github.com/opensmd/portal/internal/fhirpd"
	"github.com/opensmd/portal/internal/hi"
	"github.com/opensmd/portal/internal/pipeline"
	"github.com/opensmd/portal/internal/provider"
	"github.com/opensmd/portal/internal/smd/pki"
	"github.com/opensmd/portal/internal/store"
)

// The demo network: three DEMO organisations hosted by this portal (a GP
// practice, a specialist and an allied-health clinic), each with a TEST
// certificate from a DEMO certificate authority, and a loopback SMD
// endpoint with its own TEST TLS identity, so a referral between them
// runs the whole SMD path (seal, mutual-TLS deliver, open, transport
// response). Its files live in <data dir>/demo; their presence is what
// makes `portal serve` start the demo SMD endpoint again after a restart.

// demoUser is one demo account; practitioners carry an HPI-I.
type demoUser struct {
	name, email, role string
	hpiiBody          string // 15 digits; the check digit is added
	providerNumber    string
	specialty         string
}

type demoNetOrg struct {
	name, hpioBody string
	profile        store.Profile
	users          []demoUser
}

var demoNetwork = []demoNetOrg{
	{
		name: "DEMO Greenfield Family Practice", hpioBody: "800362999900001",
		profile: store.Profile{AddressLine: "12 Demo Street", Suburb: "Greenfield", State: "NSW", Postcode: "2999", Phone: "02 5550 1000"},
		users: []demoUser{
			{name: "DEMO Dr Alex Admin", email: "admin@greenfield.demo", role: store.RoleAdmin},
			{name: "DEMO Dr Casey Clinician", email: "gp@greenfield.demo", role: store.RoleClinician,
				hpiiBody: "800361999900001", providerNumber: "2426621B", specialty: "General practitioner"},
			{name: "DEMO Robin Reception", email: "reception@greenfield.demo", role: store.RoleReception},
		},
	},
	{
		name: "DEMO Harbour Orthopaedic Specialists", hpioBody: "800362999900002",
		profile: store.Profile{AddressLine: "3 Wharf Road", Suburb: "Harbourside", State: "NSW", Postcode: "2998", Phone: "02 5550 2000"},
		users: []demoUser{
			{name: "DEMO Morgan Admin", email: "admin@harbour.demo", role: store.RoleAdmin},
			{name: "DEMO Dr Sam Ortho", email: "ortho@harbour.demo", role: store.RoleClinician,
				hpiiBody: "800361999900002", providerNumber: "2426622A", specialty: "Orthopaedic surgeon"},
		},
	},
	{
		name: "DEMO Bayside Physiotherapy", hpioBody: "800362999900003",
		profile: store.Profile{AddressLine: "45 Esplanade", Suburb: "Bayside", State: "NSW", Postcode: "2997", Phone: "02 5550 3000"},
		users: []demoUser{
			{name: "DEMO Jamie Admin", email: "admin@bayside.demo", role: store.RoleAdmin},
			{name: "DEMO Jordan Physio", email: "physio@bayside.demo", role: store.RoleClinician,
				hpiiBody: "800361999900003", providerNumber: "2426623Y", specialty: "Physiotherapist"},
		},
	},
}

// demoOrg is the GP practice (`portal demo` before the network existed).
var demoOrg = struct {
	name, hpio string
	users      []demoUser
}{demoNetwork[0].name, hi.WithCheckDigit(demoNetwork[0].hpioBody), demoNetwork[0].users}

// demoFiles are the demo provider's TLS identity and endpoint.
type demoFiles struct{ dir string }

func (d demoFiles) cert() string { return filepath.Join(d.dir, "smd-tls.pem") }
func (d demoFiles) key() string  { return filepath.Join(d.dir, "smd-tls-key.pem") }
func (d demoFiles) addr() string { return filepath.Join(d.dir, "smd-addr") }

// demoSMD returns the SMD configuration of a loaded demo network, if any.
func demoSMD(dataDir string, base config.SMD) (config.SMD, bool) {
	d := demoFiles{filepath.Join(dataDir, "demo")}
	addr, err := os.ReadFile(d.addr())
	if err != nil {
		return base, false
	}
	s := base
	s.Addr = strings.TrimSpace(string(addr))
	s.URL = "https://" + s.Addr + "/smd"
	s.TLSCert, s.TLSKey = d.cert(), d.key()
	s.ProviderURI = s.URL
	return s, true
}

// loadDemoNetwork creates the demo network in the database and its files
// under dataDir, and returns the SMD configuration to serve it with. It
// refuses when organisations exist already (the demo is for an empty
// portal) unless only the demo's own do, in which case it reports
// errDemoLoaded.
func loadDemoNetwork(ctx context.Context, st *store.Store, master []byte, dataDir string, base config.SMD) (config.SMD, error) {
	if n, err := st.CountOrganisations(ctx); err != nil {
		return base, err
	} else if n > 0 {
		if _, err := st.OrganisationByHPIO(ctx, demoOrg.hpio); err == nil {
			return base, errDemoLoaded
		}
		return base, errors.New("the demo network can only be loaded into an empty portal")
	}
	d := demoFiles{filepath.Join(dataDir, "demo")}
	if err := os.MkdirAll(d.dir, 0o700); err != nil {
		return base, err
	}
	ca, err := pki.NewCA("DEMO Certificate Authority", pki.Options{})
	if err != nil {
		return base, err
	}
	// A free loopback port for the demo SMD endpoint, kept across restarts.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return base, err
	}
	addr := ln.Addr().String()
	ln.Close()
	smd := base
	smd.Addr, smd.URL, smd.TLSCert, smd.TLSKey = addr, "https://"+addr+"/smd", d.cert(), d.key()
	smd.ProviderURI = smd.URL
	tlsCert, tlsKey, err := ca.Issue(pki.Request{OrgURI: smd.URL, Name: "DEMO SMD provider", Usage: pki.UsageTLS,
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}, pki.Options{})
	if err != nil {
		return base, err
	}
	if err := pki.WriteFiles(d.cert(), d.key(), tlsCert, tlsKey); err != nil {
		return base, err
	}
	if err := seedDemoNetwork(ctx, st, master, ca); err != nil {
		return base, err
	}
	// The address file last: its presence means "loaded".
	if err := os.WriteFile(d.addr(), []byte(addr+"\n"), 0o600); err != nil {
		return base, err
	}
	return smd, nil
}

var errDemoLoaded = errors.New("the demo network is already loaded")

// seedDemoNetwork stores the DEMO CA as a trust anchor and the three
// organisations with their keys, profiles and users, all in one
// transaction: a load cut short leaves the portal empty, so it can be
// loaded again.
func seedDemoNetwork(ctx context.Context, st *store.Store, master []byte, ca *pki.CA) error {
	return st.WithTx(ctx, func(st *store.Store) error { return seedDemo(ctx, st, master, ca) })
}

func seedDemo(ctx context.Context, st *store.Store, master []byte, ca *pki.CA) error {
	if _, err := provider.AddTrustAnchor(ctx, st, pki.EncodeCertPEM(ca.Cert)); err != nil {
		return err
	}
	hash, err := auth.HashPassword(demoPassword)
	if err != nil {
		return err
	}
	for _, o := range demoNetwork {
		hpio := hi.WithCheckDigit(o.hpioBody)
		uri := fhirpd.HPIOURIPrefix + hpio
		cert, key, err := ca.Issue(pki.Request{OrgURI: uri, Name: o.name, Usage: pki.UsageAll}, pki.Options{})
		if err != nil {
			return err
		}
		keyPEM, err := pki.EncodeKeyPEM(key)
		if err != nil {
			return err
		}
		org, err := provider.AddOrg(ctx, st, master, uri, o.name, pki.EncodeCertPEM(cert), keyPEM)
		if err != nil {
			return err
		}
		err = st.WithTx(ctx, func(tx *store.Store) error {
			if err := tx.SetProfile(ctx, org.ID, o.profile); err != nil {
				return err
			}
			for _, u := range o.users {
				nu, err := tx.CreateUser(ctx, store.NewUser{OrganisationID: org.ID, Email: u.email, DisplayName: u.name,
					Role: u.role, PasswordHash: hash})
				if err != nil {
					return err
				}
				if u.hpiiBody != "" {
					if err := tx.SetPractitioner(ctx, org.ID, nu.ID, hi.WithCheckDigit(u.hpiiBody), u.providerNumber, u.specialty); err != nil {
						return err
					}
				}
			}
			return tx.Audit(ctx, store.AuditEvent{OrganisationID: org.ID, Action: "demo.loaded"})
		})
		if err != nil {
			return fmt.Errorf("demo organisation %s: %w", o.name, err)
		}
	}
	// The directory: the three organisations and their practitioners.
	_, err = provider.SyncHostedListings(ctx, st)
	return err
}

// demoClientTLS is the pipeline's client identity for the demo network.
func demoClientTLS(ctx context.Context, st *store.Store, master []byte, smd config.SMD) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(smd.TLSCert, smd.TLSKey)
	if err != nil {
		return nil, err
	}
	kr, err := provider.Load(ctx, st, master)
	if err != nil {
		return nil, err
	}
	return pipeline.ClientTLS(cert, kr.Trust().Roots), nil
}
