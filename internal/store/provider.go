package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// OrgKey is a hosted organisation's certificate with its sealed private
// key. KeyEnc is opaque here; internal/provider seals and opens it.
type OrgKey struct {
	ID             string // chosen by the caller: the sealed key is bound to it
	OrganisationID string
	CertDER        []byte
	KeyEnc         []byte
	SKI            []byte
	Subject        string
	NotBefore      time.Time
	NotAfter       time.Time
	// ActiveFrom is when the key becomes the one used for signing. Zero on
	// insert means the later of NotBefore and now.
	ActiveFrom time.Time
	CreatedAt  time.Time
	RetiredAt  *time.Time
	// ChainDER holds the intermediate CA certificates delivered with the
	// certificate, leaf side first (may be empty).
	ChainDER [][]byte
}

const orgKeyColumns = `id, organisation_id, cert_der, key_enc, ski, subject, not_before, not_after,
	active_from, created_at, retired_at, chain_der`

func scanOrgKey(row interface{ Scan(...any) error }) (OrgKey, error) {
	var k OrgKey
	err := row.Scan(&k.ID, &k.OrganisationID, &k.CertDER, &k.KeyEnc, &k.SKI, &k.Subject,
		&k.NotBefore, &k.NotAfter, &k.ActiveFrom, &k.CreatedAt, &k.RetiredAt, &k.ChainDER)
	return k, err
}

// AddOrgKey inserts k (k.ID set by the caller). The same certificate twice
// for one organisation returns ErrConflict.
func (s *Store) AddOrgKey(ctx context.Context, k OrgKey) (OrgKey, error) {
	if err := checkID(k.ID, "add org key"); err != nil {
		return OrgKey{}, err
	}
	if err := checkID(k.OrganisationID, "add org key"); err != nil {
		return OrgKey{}, err
	}
	var activeFrom *time.Time
	if !k.ActiveFrom.IsZero() {
		activeFrom = &k.ActiveFrom
	}
	chain := k.ChainDER
	if chain == nil {
		chain = [][]byte{}
	}
	q := `INSERT INTO org_keys (id, organisation_id, cert_der, key_enc, ski, subject, not_before, not_after, active_from, chain_der)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, coalesce($9, greatest($7, now())), $10)
		RETURNING ` + orgKeyColumns
	out, err := scanOrgKey(s.db.QueryRow(ctx, q, k.ID, k.OrganisationID, k.CertDER, k.KeyEnc, k.SKI,
		k.Subject, k.NotBefore, k.NotAfter, activeFrom, chain))
	return out, normalise(err, "add org key")
}

// ActiveOrgKeys lists the keys not retired, of every organisation, each
// organisation's newest (by active_from, then created_at) first.
func (s *Store) ActiveOrgKeys(ctx context.Context) ([]OrgKey, error) {
	rows, err := s.db.Query(ctx, `SELECT `+orgKeyColumns+` FROM org_keys
		WHERE retired_at IS NULL ORDER BY organisation_id, active_from DESC, created_at DESC, id`)
	return collectOrgKeys(rows, err)
}

// collectOrgKeys reads the org_keys rows of a query.
func collectOrgKeys(rows pgx.Rows, err error) ([]OrgKey, error) {
	if err != nil {
		return nil, normalise(err, "list org keys")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (OrgKey, error) { return scanOrgKey(r) })
	return out, normalise(err, "list org keys")
}

// SetOrgKeyActiveFrom schedules when key id of organisation orgID becomes
// the signing key. A retired key, or another organisation's, is not found.
func (s *Store) SetOrgKeyActiveFrom(ctx context.Context, orgID, id string, at time.Time) error {
	if err := checkID(id, "set org key active_from"); err != nil {
		return err
	}
	if err := checkID(orgID, "set org key active_from"); err != nil {
		return err
	}
	tag, err := s.db.Exec(ctx, `UPDATE org_keys SET active_from = $3
		WHERE id = $1 AND organisation_id = $2 AND retired_at IS NULL`, id, orgID, at)
	if err == nil && tag.RowsAffected() == 0 {
		return fmt.Errorf("set org key active_from: %w", ErrNotFound)
	}
	return normalise(err, "set org key active_from")
}

// RetireOrgKey marks key id of organisation orgID retired: it is no
// longer loaded. Another organisation's key is not found.
func (s *Store) RetireOrgKey(ctx context.Context, orgID, id string) error {
	if err := checkID(id, "retire org key"); err != nil {
		return err
	}
	if err := checkID(orgID, "retire org key"); err != nil {
		return err
	}
	tag, err := s.db.Exec(ctx, `UPDATE org_keys SET retired_at = now()
		WHERE id = $1 AND organisation_id = $2 AND retired_at IS NULL`, id, orgID)
	if err == nil && tag.RowsAffected() == 0 {
		return fmt.Errorf("retire org key: %w", ErrNotFound)
	}
	return normalise(err, "retire org key")
}

// TrustAnchor is a trusted CA certificate.
type TrustAnchor struct {
	ID        string
	CertDER   []byte
	Subject   string
	NotAfter  time.Time
	AddedAt   time.Time
	RemovedAt *time.Time
}

// AddTrustAnchor inserts a CA certificate; adding one already present
// returns the stored row (trusted again if it had been removed).
func (s *Store) AddTrustAnchor(ctx context.Context, a TrustAnchor) (TrustAnchor, error) {
	const q = `INSERT INTO trust_anchors (cert_der, subject, not_after) VALUES ($1, $2, $3)
		ON CONFLICT ((sha256(cert_der))) DO UPDATE SET removed_at = NULL
		RETURNING id, cert_der, subject, not_after, added_at, removed_at`
	var out TrustAnchor
	err := s.db.QueryRow(ctx, q, a.CertDER, a.Subject, a.NotAfter).Scan(
		&out.ID, &out.CertDER, &out.Subject, &out.NotAfter, &out.AddedAt, &out.RemovedAt)
	return out, normalise(err, "add trust anchor")
}

// TrustAnchors lists the anchors not removed, oldest first.
func (s *Store) TrustAnchors(ctx context.Context) ([]TrustAnchor, error) {
	rows, err := s.db.Query(ctx, `SELECT id, cert_der, subject, not_after, added_at, removed_at
		FROM trust_anchors WHERE removed_at IS NULL ORDER BY added_at, id`)
	if err != nil {
		return nil, normalise(err, "list trust anchors")
	}
	defer rows.Close()
	var out []TrustAnchor
	for rows.Next() {
		var a TrustAnchor
		if err := rows.Scan(&a.ID, &a.CertDER, &a.Subject, &a.NotAfter, &a.AddedAt, &a.RemovedAt); err != nil {
			return nil, normalise(err, "scan trust anchor")
		}
		out = append(out, a)
	}
	return out, normalise(rows.Err(), "list trust anchors")
}

// DirectoryEntry is an organisation messages can be sent to.
type DirectoryEntry struct {
	ID                string
	OrgURI            string
	Name              string
	EndpointURL       string
	EncryptionCertDER []byte
	ServiceCategories []string
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

const directoryColumns = `id, org_uri, name, endpoint_url, encryption_cert_der, service_categories, created_at, updated_at`

func scanDirectoryEntry(row interface{ Scan(...any) error }) (DirectoryEntry, error) {
	var e DirectoryEntry
	err := row.Scan(&e.ID, &e.OrgURI, &e.Name, &e.EndpointURL, &e.EncryptionCertDER,
		&e.ServiceCategories, &e.CreatedAt, &e.UpdatedAt)
	return e, err
}

// UpsertDirectoryEntry inserts e or replaces the entry with the same
// OrgURI.
func (s *Store) UpsertDirectoryEntry(ctx context.Context, e DirectoryEntry) (DirectoryEntry, error) {
	q := `INSERT INTO directory_entries (org_uri, name, endpoint_url, encryption_cert_der, service_categories)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (org_uri) DO UPDATE SET name = excluded.name, endpoint_url = excluded.endpoint_url,
			encryption_cert_der = excluded.encryption_cert_der, service_categories = excluded.service_categories
		RETURNING ` + directoryColumns
	out, err := scanDirectoryEntry(s.db.QueryRow(ctx, q, e.OrgURI, e.Name, e.EndpointURL,
		e.EncryptionCertDER, e.ServiceCategories))
	return out, normalise(err, "upsert directory entry")
}

// DirectoryEntryByOrgURI loads the entry of orgURI.
func (s *Store) DirectoryEntryByOrgURI(ctx context.Context, orgURI string) (DirectoryEntry, error) {
	out, err := scanDirectoryEntry(s.db.QueryRow(ctx,
		`SELECT `+directoryColumns+` FROM directory_entries WHERE org_uri = $1`, orgURI))
	return out, normalise(err, "load directory entry")
}

// CRL is a stored certificate revocation list.
type CRL struct {
	ID         string
	Issuer     string
	DER        []byte
	ThisUpdate time.Time
	NextUpdate *time.Time
	AddedAt    time.Time
}

// AddCRL stores a revocation list; the same list twice is stored once.
func (s *Store) AddCRL(ctx context.Context, c CRL) (CRL, error) {
	err := s.db.QueryRow(ctx, `INSERT INTO crls (issuer, crl_der, this_update, next_update) VALUES ($1, $2, $3, $4)
		ON CONFLICT ((sha256(crl_der))) DO UPDATE SET issuer = excluded.issuer
		RETURNING id, added_at`, c.Issuer, c.DER, c.ThisUpdate, c.NextUpdate).Scan(&c.ID, &c.AddedAt)
	return c, normalise(err, "add CRL")
}

// LatestCRLs returns the newest list (by thisUpdate) of each issuer.
func (s *Store) LatestCRLs(ctx context.Context) ([]CRL, error) {
	rows, err := s.db.Query(ctx, `SELECT DISTINCT ON (issuer) id, issuer, crl_der, this_update, next_update, added_at
		FROM crls ORDER BY issuer, this_update DESC, added_at DESC`)
	if err != nil {
		return nil, normalise(err, "list CRLs")
	}
	defer rows.Close()
	var out []CRL
	for rows.Next() {
		var c CRL
		if err := rows.Scan(&c.ID, &c.Issuer, &c.DER, &c.ThisUpdate, &c.NextUpdate, &c.AddedAt); err != nil {
			return nil, normalise(err, "scan CRL")
		}
		out = append(out, c)
	}
	return out, normalise(rows.Err(), "list CRLs")
}
