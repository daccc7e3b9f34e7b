package provider

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/opensmd/portal/internal/smd/pki"
	"github.com/opensmd/portal/internal/smd/xspp"
	"github.com/opensmd/portal/internal/store"
)

// ErrNoSigningKey is returned by Keyring.Signer when an organisation has no
// key that is active and valid at the given time.
var ErrNoSigningKey = errors.New("provider: no active, valid signing key")

// Keyring holds the decrypted keys of every hosted organisation and the
// trust anchors, as loaded at one moment. It is read-only after Load and
// safe for concurrent use.
type Keyring struct {
	keys    map[string][]orgKey // by organisation ID, newest active_from first
	anchors []*x509.Certificate
	revoked revokedSet
}

type orgKey struct {
	id         string
	activeFrom time.Time
	pair       xspp.KeyPair
}

// Load decrypts every non-retired key of every hosted organisation and
// reads the trust anchors. A key that does not decrypt (wrong master
// secret, or a value moved or altered in the database) fails the load.
func Load(ctx context.Context, st *store.Store, master []byte) (*Keyring, error) {
	s, err := sealer(master)
	if err != nil {
		return nil, fmt.Errorf("load keyring: %w", err)
	}
	rows, err := st.ActiveOrgKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("load keyring: %w", err)
	}
	kr := &Keyring{keys: make(map[string][]orgKey)}
	for _, r := range rows {
		k, err := openKey(s, r)
		if err != nil {
			return nil, fmt.Errorf("load keyring: %w", err)
		}
		kr.keys[r.OrganisationID] = append(kr.keys[r.OrganisationID], k)
	}
	anchors, err := st.TrustAnchors(ctx)
	if err != nil {
		return nil, fmt.Errorf("load keyring: %w", err)
	}
	for _, a := range anchors {
		c, err := x509.ParseCertificate(a.CertDER)
		if err != nil {
			return nil, fmt.Errorf("load keyring: trust anchor %s: %w", a.ID, err)
		}
		kr.anchors = append(kr.anchors, c)
	}
	if kr.revoked, err = loadRevoked(ctx, st, kr.anchors); err != nil {
		return nil, fmt.Errorf("load keyring: %w", err)
	}
	return kr, nil
}

// openKey decrypts one stored key and checks it against its certificate.
func openKey(s interface {
	Open(sealed, ad []byte) ([]byte, error)
}, r store.OrgKey) (orgKey, error) {
	cert, err := x509.ParseCertificate(r.CertDER)
	if err != nil {
		return orgKey{}, fmt.Errorf("key %s: certificate: %w", r.ID, err)
	}
	der, err := s.Open(r.KeyEnc, keyAD(r.ID, r.OrganisationID))
	if err != nil {
		return orgKey{}, fmt.Errorf("key %s of organisation %s: %w", r.ID, r.OrganisationID, err)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	clear(der)
	key, ok := parsed.(*rsa.PrivateKey)
	if err != nil || !ok {
		return orgKey{}, fmt.Errorf("key %s: not a PKCS#8 RSA private key", r.ID)
	}
	if pub, ok := cert.PublicKey.(*rsa.PublicKey); !ok || !pub.Equal(&key.PublicKey) {
		return orgKey{}, fmt.Errorf("key %s: does not match its certificate", r.ID)
	}
	return orgKey{id: r.ID, activeFrom: r.ActiveFrom, pair: xspp.KeyPair{Cert: cert, Key: key}}, nil
}

// KeyPairs returns every loaded key of organisation orgID, newest first
// (by active_from): during a rollover the older keys still decrypt messages
// encrypted to the previous certificate. Nil for an unknown organisation.
func (kr *Keyring) KeyPairs(orgID string) []xspp.KeyPair {
	keys := kr.keys[orgID]
	if len(keys) == 0 {
		return nil
	}
	out := make([]xspp.KeyPair, len(keys))
	for i, k := range keys {
		out[i] = k.pair
	}
	return out
}

// Signer returns the signing identity of organisation orgID at now: the
// key with the latest active_from not after now whose certificate is valid
// at now. It returns ErrNoSigningKey when there is none.
func (kr *Keyring) Signer(orgID string, now time.Time) (xspp.Signer, error) {
	for _, k := range kr.keys[orgID] { // newest active_from first
		c := k.pair.Cert
		if k.activeFrom.After(now) || now.Before(c.NotBefore) || now.After(c.NotAfter) {
			continue
		}
		return xspp.Signer{Key: k.pair.Key, Cert: c}, nil
	}
	return xspp.Signer{}, fmt.Errorf("organisation %s: %w", orgID, ErrNoSigningKey)
}

// Trust returns a Verifier whose Roots are the trust anchors (an empty
// pool, which trusts nothing, when there are none) and which refuses
// certificates on the anchors' current revocation lists. Callers may set
// its other fields; each call returns a new Verifier.
func (kr *Keyring) Trust() *pki.Verifier {
	pool := x509.NewCertPool()
	for _, c := range kr.anchors {
		pool.AddCert(c)
	}
	v := &pki.Verifier{Roots: pool}
	if len(kr.revoked) > 0 {
		v.Revoked = kr.revoked.revoked
	}
	return v
}

// KeyCache serves a Keyring reloaded from the database at most every TTL,
// so keys added with `portal org add` reach running workers without a
// restart. Safe for concurrent use.
type KeyCache struct {
	st     *store.Store
	master []byte
	ttl    time.Duration

	mu     sync.Mutex
	kr     *Keyring
	loaded time.Time
}

// NewKeyCache returns a KeyCache; ttl 0 means 30 seconds.
func NewKeyCache(st *store.Store, master []byte, ttl time.Duration) *KeyCache {
	if ttl == 0 {
		ttl = 30 * time.Second
	}
	return &KeyCache{st: st, master: master, ttl: ttl}
}

// Get returns the current Keyring, reloading it when older than the TTL.
// A failed reload keeps serving the previous Keyring, if any.
func (c *KeyCache) Get(ctx context.Context) (*Keyring, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.kr != nil && time.Since(c.loaded) < c.ttl {
		return c.kr, nil
	}
	kr, err := Load(ctx, c.st, c.master)
	if err != nil {
		if c.kr != nil {
			return c.kr, nil
		}
		return nil, err
	}
	c.kr, c.loaded = kr, time.Now()
	return kr, nil
}

// minReload bounds how often Invalidate can force a reload, so a stream
// of undecryptable messages cannot turn into a stream of key loads.
const minReload = 5 * time.Second

// Invalidate makes the next Get reload, unless the keyring was loaded
// within the last five seconds.
// Reset makes the next Get reload, unconditionally: for a process that
// has just added keys itself (the demo network).
func (c *KeyCache) Reset() {
	c.mu.Lock()
	c.loaded = time.Time{}
	c.mu.Unlock()
}

func (c *KeyCache) Invalidate() {
	c.mu.Lock()
	if time.Since(c.loaded) >= minReload {
		c.loaded = time.Time{}
	}
	c.mu.Unlock()
}
