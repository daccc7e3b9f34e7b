package provider

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/google/uuid"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/opensmd/portal/internal/smd/ns"
	"github.com/opensmd/portal/internal/smd/pki"
	"github.com/opensmd/portal/internal/store"
)

// Audit actions of the certificate life cycle.
const (
	AuditCertImported    = "certificate.imported"
	AuditCertCSR         = "certificate.csr_created"
	AuditCertScheduled   = "certificate.scheduled"
	AuditCertRetired     = "certificate.retired"
	AuditTrustRemoved    = "trust.anchor_removed"
	AuditNoticeDismissed = "notification.dismissed"
)

// Actor is who asked for a change, for its audit event. Zero for the CLI
// (an operator on the server).
type Actor struct {
	OrganisationID string
	UserID         string
	IP             string
}

func (a Actor) event(orgID, action string, detail map[string]string) store.AuditEvent {
	if orgID == "" {
		orgID = a.OrganisationID
	}
	return store.AuditEvent{OrganisationID: orgID, UserID: a.UserID, IP: a.IP, Action: action, Detail: detail}
}

// Reasons a certificate is refused; CertError.Reason holds one.
const (
	ReasonPassword    = "password"     // the PKCS#12 password is wrong
	ReasonFormat      = "format"       // not a PKCS#12 file / certificate, or not RSA
	ReasonHPIO        = "hpio"         // the certificate does not name the organisation
	ReasonValidity    = "validity"     // expired or not yet valid
	ReasonUsage       = "usage"        // key usage or SKI missing
	ReasonKeyMismatch = "key_mismatch" // the private key is not the certificate's
	ReasonUntrusted   = "untrusted"    // no chain to a trust anchor
	ReasonRevoked     = "revoked"      // on a current CRL
	ReasonDuplicate   = "duplicate"    // already installed
	ReasonNoPending   = "no_pending"   // no key generated here matches
	ReasonActiveFrom  = "active_from"  // the activation time is unusable
	ReasonOnlyValid   = "only_valid"   // retiring it would leave no valid certificate
)

// CertError is a certificate refused for a reason the user can act on.
// Field names the form field to mark ("file", "password", "active_from").
// The message never holds key material or the password.
type CertError struct {
	Reason string
	Field  string
	Msg    string
}

func (e *CertError) Error() string { return e.Msg }

func certErr(reason, field, format string, args ...any) *CertError {
	return &CertError{Reason: reason, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// ImportOptions are the optional parts of installing a certificate.
type ImportOptions struct {
	// ActiveFrom is when the certificate becomes the one used for signing
	// and publishing; zero means now (or its notBefore, if later).
	ActiveFrom time.Time
	Now        func() time.Time
	By         Actor
}

func (o ImportOptions) now() time.Time {
	if o.Now == nil {
		return time.Now()
	}
	return o.Now()
}

// OrgURI is the organisation URI (SMD sender/receiver identifier) of a
// hosted organisation.
func OrgURI(org store.Organisation) string { return ns.QualifierHPIO + org.HPIO }

// ImportPKCS12 installs the certificate and private key of a PKCS#12 file
// (a NASH .p12/.pfx) for org. One certificate must carry both
// digitalSignature and keyEncipherment: the keyring signs and decrypts
// with one key pair, and NASH issues SMD organisation certificates that
// way; a signing/encryption pair is refused with a message saying so.
// Refusals are *CertError with their reason; nothing is stored then. The
// file and password are never stored or logged.
func ImportPKCS12(ctx context.Context, st *store.Store, master []byte, org store.Organisation, p12 []byte, password string, opts ImportOptions) (store.OrgKey, error) {
	if len(p12) == 0 {
		return store.OrgKey{}, certErr(ReasonFormat, "file", "Choose the PKCS#12 file (.p12 or .pfx) to upload.")
	}
	priv, cert, cas, err := pkcs12.DecodeChain(p12, password)
	if errors.Is(err, pkcs12.ErrIncorrectPassword) {
		return store.OrgKey{}, certErr(ReasonPassword, "password", "The password does not open this PKCS#12 file. Check it and try again.")
	}
	if err != nil {
		return store.OrgKey{}, certErr(ReasonFormat, "file", "This is not a PKCS#12 file with one certificate and its private key (%s).", pkcs12Problem(err))
	}
	key, ok := priv.(*rsa.PrivateKey)
	if !ok {
		return store.OrgKey{}, certErr(ReasonFormat, "file", "The private key in this file is not an RSA key; SMD needs RSA.")
	}
	if pub, ok := cert.PublicKey.(*rsa.PublicKey); !ok || !pub.Equal(&key.PublicKey) {
		return store.OrgKey{}, certErr(ReasonKeyMismatch, "file", "The private key in this file does not belong to its certificate %q.", cert.Subject.String())
	}
	s, err := sealer(master)
	if err != nil {
		return store.OrgKey{}, fmt.Errorf("import certificate: %w", err)
	}
	id := uuid.NewString()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return store.OrgKey{}, errors.New("import certificate: cannot encode the private key")
	}
	sealed := s.Seal(der, keyAD(id, org.ID))
	clear(der)
	return installChecked(ctx, st, org, id, sealed, cert, cas, "pkcs12", opts)
}

// pkcs12Problem names what is wrong with a PKCS#12 file without echoing
// its content.
func pkcs12Problem(err error) string {
	var nie pkcs12.NotImplementedError
	if errors.As(err, &nie) {
		return "it uses an encryption this portal does not support: " + string(nie)
	}
	return "it could not be read"
}

// installChecked checks cert for org and stores it with its sealed key
// (bound to id) in one audited transaction.
func installChecked(ctx context.Context, st *store.Store, org store.Organisation, id string, sealedKey []byte,
	cert *x509.Certificate, cas []*x509.Certificate, source string, opts ImportOptions) (store.OrgKey, error) {
	now := opts.now()
	chain, err := checkOrgCert(ctx, st, org, cert, cas, now)
	if err != nil {
		return store.OrgKey{}, err
	}
	activeFrom := opts.ActiveFrom
	if !activeFrom.IsZero() && !activeFrom.Before(cert.NotAfter) {
		return store.OrgKey{}, certErr(ReasonActiveFrom, "active_from", "The certificate expires on %s, before the chosen start time.",
			cert.NotAfter.Format("2 Jan 2006 15:04 MST"))
	}
	if activeFrom.IsZero() {
		activeFrom = now
		if cert.NotBefore.After(now) {
			activeFrom = cert.NotBefore
		}
	}
	k := store.OrgKey{
		ID: id, OrganisationID: org.ID, CertDER: cert.Raw, KeyEnc: sealedKey, SKI: cert.SubjectKeyId,
		Subject: cert.Subject.String(), NotBefore: cert.NotBefore, NotAfter: cert.NotAfter, ActiveFrom: activeFrom,
	}
	for _, c := range chain {
		k.ChainDER = append(k.ChainDER, c.Raw)
	}
	var out store.OrgKey
	err = st.WithTx(ctx, func(tx *store.Store) error {
		if source == "csr" {
			if err := tx.ClosePendingKey(ctx, org.ID, id, true); err != nil {
				return err
			}
		}
		out, err = tx.AddOrgKey(ctx, k)
		if errors.Is(err, store.ErrConflict) {
			return certErr(ReasonDuplicate, "file", "This certificate is already installed for %s.", org.Name)
		}
		if err != nil {
			return err
		}
		return tx.Audit(ctx, opts.By.event(org.ID, AuditCertImported, map[string]string{
			"key_id": k.ID, "ski": hex.EncodeToString(k.SKI), "subject": k.Subject, "serial": serialHex(cert),
			"not_after": cert.NotAfter.UTC().Format(time.RFC3339), "active_from": activeFrom.UTC().Format(time.RFC3339),
			"source": source,
		}))
	})
	var ce *CertError
	if errors.As(err, &ce) {
		return store.OrgKey{}, ce
	}
	if err != nil {
		return store.OrgKey{}, fmt.Errorf("import certificate: %w", err)
	}
	return out, nil
}

// checkOrgCert applies the checks every organisation certificate must
// pass, in the order a user can fix them, and returns the intermediates
// of its chain to a trust anchor.
func checkOrgCert(ctx context.Context, st *store.Store, org store.Organisation, cert *x509.Certificate, cas []*x509.Certificate, now time.Time) ([]*x509.Certificate, error) {
	orgURI := OrgURI(org)
	if uris := pki.OrgURIs(cert); !slices.Contains(uris, orgURI) {
		named := "no organisation"
		if len(uris) > 0 {
			named = fmt.Sprint(uris)
		}
		return nil, certErr(ReasonHPIO, "file", "The certificate is not for %s: it must name HPI-O %s (%s) but names %s.",
			org.Name, org.HPIO, orgURI, named)
	}
	if now.After(cert.NotAfter) {
		return nil, certErr(ReasonValidity, "file", "The certificate expired on %s.", cert.NotAfter.Format("2 Jan 2006"))
	}
	if now.Before(cert.NotBefore) {
		return nil, certErr(ReasonValidity, "file", "The certificate is not valid until %s.", cert.NotBefore.Format("2 Jan 2006 15:04 MST"))
	}
	if len(cert.SubjectKeyId) == 0 {
		return nil, certErr(ReasonUsage, "file", "The certificate has no subject key identifier, which SMD needs to find the decryption key.")
	}
	var missing []string
	if cert.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		missing = append(missing, "digitalSignature (signing)")
	}
	if cert.KeyUsage&x509.KeyUsageKeyEncipherment == 0 {
		missing = append(missing, "keyEncipherment (encryption)")
	}
	if len(missing) > 0 {
		return nil, certErr(ReasonUsage, "file", "The certificate lacks key usage %s. This portal needs one certificate that both signs and decrypts; ask NASH for a combined SMD organisation certificate.",
			joinAnd(missing))
	}
	anchors, err := st.TrustAnchors(ctx)
	if err != nil {
		return nil, err
	}
	roots := parseAnchors(anchors)
	chain, err := chainToAnchor(cert, cas, roots, now)
	if err != nil {
		return nil, certErr(ReasonUntrusted, "file", "The certificate was not issued by a trusted certificate authority (%s). Add its CA under Trust store first.", err.Error())
	}
	revoked, err := loadRevoked(ctx, st, roots)
	if err != nil {
		return nil, err
	}
	for _, c := range append([]*x509.Certificate{cert}, chain...) {
		if revoked.revoked(c) {
			return nil, certErr(ReasonRevoked, "file", "Certificate %q is revoked by its CA's revocation list.", c.Subject.String())
		}
	}
	return chain, nil
}

// chainToAnchor verifies cert against roots with cas as intermediates and
// returns the intermediates of the chain found (not the leaf or anchor).
func chainToAnchor(cert *x509.Certificate, cas, roots []*x509.Certificate, now time.Time) ([]*x509.Certificate, error) {
	if len(roots) == 0 {
		return nil, errors.New("no trust anchors are configured")
	}
	rp, ip := x509.NewCertPool(), x509.NewCertPool()
	for _, r := range roots {
		rp.AddCert(r)
	}
	for _, c := range cas {
		ip.AddCert(c)
	}
	chains, err := cert.Verify(x509.VerifyOptions{Roots: rp, Intermediates: ip, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		var ua x509.UnknownAuthorityError
		if errors.As(err, &ua) {
			return nil, fmt.Errorf("issuer %q is not trusted", cert.Issuer.String())
		}
		return nil, errors.New("its chain does not verify")
	}
	c := chains[0]
	if len(c) < 2 {
		return nil, nil // cert is itself a trust anchor: no intermediates
	}
	return c[1 : len(c)-1], nil
}

func joinAnd(s []string) string {
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	return fmt.Sprintf("%s and %s", s[0], s[1])
}

func serialHex(c *x509.Certificate) string { return hex.EncodeToString(c.SerialNumber.Bytes()) }

// ParseCertificates reads PEM certificates, or one DER certificate: the
// first is the leaf, any others its chain.
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	if bytes.Contains(data, []byte("-----BEGIN")) {
		return pki.ParseCertsPEM(data)
	}
	c, err := x509.ParseCertificate(data)
	if err != nil {
		return nil, errors.New("not a PEM or DER certificate")
	}
	return []*x509.Certificate{c}, nil
}

// GenerateCSR creates an RSA-2048 key for org, stores it sealed as a
// pending key and returns it with a PEM certificate signing request whose
// subject and URI subjectAltName name the organisation. The CA's
// certificate is installed later with InstallCertificate.
func GenerateCSR(ctx context.Context, st *store.Store, master []byte, org store.Organisation, by Actor) (store.PendingKey, []byte, error) {
	s, err := sealer(master)
	if err != nil {
		return store.PendingKey{}, nil, fmt.Errorf("generate CSR: %w", err)
	}
	key, err := rsa.GenerateKey(rand.Reader, pki.KeyBits)
	if err != nil {
		return store.PendingKey{}, nil, fmt.Errorf("generate CSR: %w", err)
	}
	u, err := url.Parse(OrgURI(org))
	if err != nil {
		return store.PendingKey{}, nil, fmt.Errorf("generate CSR: %w", err)
	}
	tmpl := &x509.CertificateRequest{
		Subject: pkix.Name{Country: []string{"AU"}, Organization: []string{org.Name}, CommonName: org.Name,
			SerialNumber: org.HPIO},
		URIs: []*url.URL{u},
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		return store.PendingKey{}, nil, fmt.Errorf("generate CSR: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return store.PendingKey{}, nil, errors.New("generate CSR: cannot encode the private key")
	}
	pk := store.PendingKey{ID: uuid.NewString(), OrganisationID: org.ID, CSRDER: csr, Subject: tmpl.Subject.String()}
	pk.KeyEnc = s.Seal(der, keyAD(pk.ID, org.ID))
	clear(der)
	err = st.WithTx(ctx, func(tx *store.Store) error {
		if pk, err = tx.AddPendingKey(ctx, pk); err != nil {
			return err
		}
		return tx.Audit(ctx, by.event(org.ID, AuditCertCSR, map[string]string{"pending_key_id": pk.ID, "subject": pk.Subject}))
	})
	if err != nil {
		return store.PendingKey{}, nil, fmt.Errorf("generate CSR: %w", err)
	}
	return pk, CSRPEM(pk), nil
}

// CSRPEM is the PEM form of a pending key's certificate signing request.
func CSRPEM(pk store.PendingKey) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: pk.CSRDER})
}

// InstallCertificate installs the certificate issued for one of org's
// pending keys (PEM, with any intermediates after it, or DER). The key is
// found by the certificate's public key; the usual checks apply.
func InstallCertificate(ctx context.Context, st *store.Store, master []byte, org store.Organisation, data []byte, opts ImportOptions) (store.OrgKey, error) {
	certs, err := ParseCertificates(data)
	if err != nil || len(certs) == 0 {
		return store.OrgKey{}, certErr(ReasonFormat, "file", "This is not a certificate file (PEM or DER).")
	}
	cert := certs[0]
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return store.OrgKey{}, certErr(ReasonFormat, "file", "The certificate's key is not RSA; SMD needs RSA.")
	}
	s, err := sealer(master)
	if err != nil {
		return store.OrgKey{}, fmt.Errorf("install certificate: %w", err)
	}
	pending, err := st.PendingKeys(ctx, org.ID)
	if err != nil {
		return store.OrgKey{}, err
	}
	for _, pk := range pending {
		key, err := openPKCS8(s, pk.KeyEnc, keyAD(pk.ID, org.ID))
		if err != nil {
			return store.OrgKey{}, fmt.Errorf("install certificate: pending key %s: %w", pk.ID, err)
		}
		if !pub.Equal(&key.PublicKey) {
			continue
		}
		return installChecked(ctx, st, org, pk.ID, pk.KeyEnc, cert, certs[1:], "csr", opts)
	}
	return store.OrgKey{}, certErr(ReasonNoPending, "file",
		"This certificate's key was not generated here (no waiting signing request matches it). Upload the certificate issued for a request listed on this page, or import a PKCS#12 file instead.")
}

func openPKCS8(s interface {
	Open(sealed, ad []byte) ([]byte, error)
}, sealed, ad []byte) (*rsa.PrivateKey, error) {
	der, err := s.Open(sealed, ad)
	if err != nil {
		return nil, err
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	clear(der)
	key, ok := parsed.(*rsa.PrivateKey)
	if err != nil || !ok {
		return nil, errors.New("not a PKCS#8 RSA private key")
	}
	return key, nil
}

// ScheduleCertificate sets when key id of org becomes the signing and
// published certificate.
func ScheduleCertificate(ctx context.Context, st *store.Store, org store.Organisation, id string, at time.Time, by Actor) error {
	return st.WithTx(ctx, func(tx *store.Store) error {
		k, err := tx.OrgKey(ctx, org.ID, id)
		if err != nil {
			return err
		}
		if k.RetiredAt != nil {
			return certErr(ReasonActiveFrom, "active_from", "This certificate is retired.")
		}
		if !at.Before(k.NotAfter) {
			return certErr(ReasonActiveFrom, "active_from", "The certificate expires on %s, before the chosen start time.",
				k.NotAfter.Format("2 Jan 2006 15:04 MST"))
		}
		if err := tx.SetOrgKeyActiveFrom(ctx, org.ID, id, at); err != nil {
			return err
		}
		return tx.Audit(ctx, by.event(org.ID, AuditCertScheduled, map[string]string{
			"key_id": id, "ski": hex.EncodeToString(k.SKI), "active_from": at.UTC().Format(time.RFC3339)}))
	})
}

// RetireCertificate retires key id of org: it no longer signs or decrypts
// once keyrings reload. Refused (ReasonOnlyValid) when the key has not
// expired and no other key of org is valid and active at now.
func RetireCertificate(ctx context.Context, st *store.Store, org store.Organisation, id string, now time.Time, by Actor) error {
	return st.WithTx(ctx, func(tx *store.Store) error {
		keys, err := tx.OrgKeys(ctx, org.ID)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(keys, func(k store.OrgKey) bool { return k.ID == id && k.RetiredAt == nil })
		if i < 0 {
			return fmt.Errorf("retire certificate: %w", store.ErrNotFound)
		}
		k := keys[i]
		if !now.After(k.NotAfter) && !slices.ContainsFunc(keys, func(o store.OrgKey) bool { return o.ID != id && usable(o, now) }) {
			return certErr(ReasonOnlyValid, "", "This is the organisation's only valid certificate in use: retiring it would stop all sending and receiving. Install its replacement first.")
		}
		if err := tx.RetireOrgKey(ctx, org.ID, id); err != nil {
			return err
		}
		return tx.Audit(ctx, by.event(org.ID, AuditCertRetired, map[string]string{
			"key_id": id, "ski": hex.EncodeToString(k.SKI), "subject": k.Subject}))
	})
}

// usable reports whether k is not retired, valid at now and already active.
func usable(k store.OrgKey, now time.Time) bool {
	return k.RetiredAt == nil && !k.ActiveFrom.After(now) && !now.Before(k.NotBefore) && !now.After(k.NotAfter)
}
