package provider

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"

	"github.com/beevik/etree"

	"github.com/opensmd/portal/internal/smd/ns"
	"github.com/opensmd/portal/internal/smd/pki"
	"github.com/opensmd/portal/internal/smd/soap"
	"github.com/opensmd/portal/internal/smd/wire"
	"github.com/opensmd/portal/internal/store"
)

// Errors of endpoint resolution, matched with errors.Is.
var (
	// ErrUnknownTarget: the directory or ELS does not know the target
	// (ELS lookupError unknownTargetId).
	ErrUnknownTarget = errors.New("unknown target")
	// ErrNoEndpoint: the target is known but offers no SMD TLS endpoint
	// for the service category.
	ErrNoEndpoint = errors.New("no SMD endpoint for the service category")
	// ErrBadCertRef: the interaction's payload key-encryption certificate
	// is missing or unusable.
	ErrBadCertRef = errors.New("bad payload encryption certificate reference")
)

// ELSHandler serves the ELS 2010 Lookup listInteractions operation
// (TR 5823-2010; SMD.md §2.1) from the directory: an unknown target is
// answered with the lookupError fault (unknownTargetId); each requested
// service category the target's entry accepts yields one interaction over
// the SMD TLS interface, with the entry's endpoint, provider as
// serviceProvider and the encryption certificate as a PEM certRef qualified
// for payload key encryption. A request whose serviceInterface list does
// not name the SMD TLS interface gets no interactions. Register it with
// h.Handle(soap.ELSListInteractions, ELSHandler(st, provider)).
func ELSHandler(st *store.Store, provider string) soap.HandlerFunc {
	return func(ctx context.Context, env *soap.Envelope) (*etree.Element, error) {
		req, err := wire.ParseELSListInteractions(env.Body)
		if err != nil {
			return nil, fmt.Errorf("els listInteractions: %w", err)
		}
		r := req.Request
		entry, err := st.DirectoryEntryByOrgURI(ctx, r.Target)
		if errors.Is(err, store.ErrNotFound) {
			return nil, wire.ELSLookupError{ErrorCode: wire.UnknownTargetID}
		}
		if err != nil {
			return nil, fmt.Errorf("els listInteractions: %w", err)
		}
		return wire.ELSListInteractionsResponse{
			Interactions: entryInteractions(entry, r, provider),
		}.Element(), nil
	}
}

// entryInteractions lists the interactions of entry answering r.
func entryInteractions(entry store.DirectoryEntry, r wire.InteractionRequest, provider string) []wire.Interaction {
	if len(r.ServiceInterfaces) > 0 && !slices.Contains(r.ServiceInterfaces, ns.IntfSMD) {
		return nil
	}
	certPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: entry.EncryptionCertDER}))
	var out []wire.Interaction
	var seen []string
	for _, c := range r.ServiceCategories {
		if slices.Contains(seen, c) || !slices.Contains(entry.ServiceCategories, c) {
			continue
		}
		seen = append(seen, c)
		out = append(out, wire.Interaction{
			Target:           entry.OrgURI,
			ServiceCategory:  c,
			ServiceInterface: ns.IntfSMD,
			ServiceEndpoint:  entry.EndpointURL,
			ServiceProvider:  provider,
			CertRefs: []wire.CertRef{{
				UseQualifier: ns.CertUsePayloadKeyEnc, Type: ns.CertRefTypePEM, Value: certPEM,
			}},
		})
	}
	return out
}

// Endpoint is where and how to deliver a sealed message to a target for
// one service category over the SMD TLS interface.
type Endpoint struct {
	URL            string
	EncryptionCert *x509.Certificate
	// ServiceProvider is the ELS serviceProvider; empty for entries of
	// the local directory.
	ServiceProvider string
}

// Resolver finds the SMD endpoint of a target organisation for a service
// category. Errors wrap ErrUnknownTarget, ErrNoEndpoint or ErrBadCertRef,
// or are lookup failures (for ELS, soap errors: see soap.IsTransient).
type Resolver interface {
	Resolve(ctx context.Context, target, category string) (Endpoint, error)
}

// DirectoryResolver resolves targets from the local directory entries.
type DirectoryResolver struct {
	Store *store.Store
}

// Resolve implements Resolver.
func (d DirectoryResolver) Resolve(ctx context.Context, target, category string) (Endpoint, error) {
	entry, err := d.Store.DirectoryEntryByOrgURI(ctx, target)
	if errors.Is(err, store.ErrNotFound) {
		return Endpoint{}, fmt.Errorf("resolve %q in directory: %w (%w)", target, ErrUnknownTarget, err)
	}
	if err != nil {
		return Endpoint{}, fmt.Errorf("resolve %q in directory: %w", target, err)
	}
	if !slices.Contains(entry.ServiceCategories, category) {
		return Endpoint{}, fmt.Errorf("resolve %q in directory: %w: %q", target, ErrNoEndpoint, category)
	}
	cert, err := x509.ParseCertificate(entry.EncryptionCertDER)
	if err != nil {
		return Endpoint{}, fmt.Errorf("resolve %q in directory: %w: %w", target, ErrBadCertRef, err)
	}
	return Endpoint{URL: entry.EndpointURL, EncryptionCert: cert}, nil
}

// ELSResolver resolves targets with an ELS 2010 Lookup service.
type ELSResolver struct {
	// Client makes the call; its HTTPClient carries the mutual TLS setup.
	Client *soap.Client
	// URL is the ELS Lookup endpoint.
	URL string
}

// Resolve implements Resolver: it calls listInteractions for target,
// category and the SMD TLS interface, and returns the first matching
// interaction with its PEM payload key-encryption certificate. Transport
// errors and faults other than unknownTargetId are returned wrapped, so
// soap.IsTransient still applies.
func (e ELSResolver) Resolve(ctx context.Context, target, category string) (Endpoint, error) {
	body := wire.ELSListInteractions{Request: wire.InteractionRequest{
		Target: target, ServiceCategories: []string{category}, ServiceInterfaces: []string{ns.IntfSMD},
	}}.Element()
	client := e.Client
	if client == nil {
		client = &soap.Client{}
	}
	env, err := client.Call(ctx, e.URL, soap.ELSListInteractions, body)
	if err != nil {
		if isUnknownTarget(err) {
			return Endpoint{}, fmt.Errorf("resolve %q via ELS: %w (%w)", target, ErrUnknownTarget, err)
		}
		return Endpoint{}, fmt.Errorf("resolve %q via ELS: %w", target, err)
	}
	resp, err := wire.ParseELSListInteractionsResponse(env.Body)
	if err != nil {
		return Endpoint{}, fmt.Errorf("resolve %q via ELS: %w", target, err)
	}
	for _, in := range resp.Interactions {
		if in.Target != target || in.ServiceCategory != category || in.ServiceInterface != ns.IntfSMD {
			continue
		}
		if err := checkEndpoint(in.ServiceEndpoint); err != nil {
			return Endpoint{}, fmt.Errorf("resolve %q via ELS: service endpoint: %w", target, err)
		}
		cert, err := payloadCert(in.CertRefs)
		if err != nil {
			return Endpoint{}, fmt.Errorf("resolve %q via ELS: %w", target, err)
		}
		return Endpoint{URL: in.ServiceEndpoint, EncryptionCert: cert, ServiceProvider: in.ServiceProvider}, nil
	}
	return Endpoint{}, fmt.Errorf("resolve %q via ELS: %w: %q", target, ErrNoEndpoint, category)
}

// isUnknownTarget reports whether err is the ELS lookupError fault.
func isUnknownTarget(err error) bool {
	var fe *soap.FaultError
	if !errors.As(err, &fe) {
		return false
	}
	le, ok := fe.ServiceError.(wire.ELSLookupError)
	return ok && le.ErrorCode == wire.UnknownTargetID
}

// payloadCert returns the certificate of the PEM certRef qualified for
// payload key encryption: an RSA key with keyEncipherment and a subject key
// identifier.
func payloadCert(refs []wire.CertRef) (*x509.Certificate, error) {
	for _, r := range refs {
		if r.UseQualifier != ns.CertUsePayloadKeyEnc || r.Type != ns.CertRefTypePEM {
			continue
		}
		certs, err := pki.ParseCertsPEM([]byte(r.Value))
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadCertRef, err)
		}
		cert := certs[0]
		if _, ok := cert.PublicKey.(*rsa.PublicKey); !ok {
			return nil, fmt.Errorf("%w: certificate %q key is not RSA", ErrBadCertRef, cert.Subject.String())
		}
		if err := checkUsage(cert, x509.KeyUsageKeyEncipherment); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadCertRef, err)
		}
		return cert, nil
	}
	return nil, fmt.Errorf("%w: no PEM certRef for payload key encryption", ErrBadCertRef)
}

// Chain tries its resolvers in order (typically the DirectoryResolver, then
// an ELSResolver). It moves on only when a resolver does not know the
// target (ErrUnknownTarget): a known target without the category, a bad
// certificate or a lookup failure is returned as is, so a local entry
// overrides ELS.
type Chain []Resolver

// Resolve implements Resolver.
func (c Chain) Resolve(ctx context.Context, target, category string) (Endpoint, error) {
	err := fmt.Errorf("resolve %q: no resolver: %w", target, ErrUnknownTarget)
	for _, r := range c {
		var ep Endpoint
		ep, err = r.Resolve(ctx, target, category)
		if err == nil || !errors.Is(err, ErrUnknownTarget) {
			return ep, err
		}
	}
	return Endpoint{}, err
}
