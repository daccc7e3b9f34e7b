package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// OrgKeys lists every key of organisation orgID, retired ones included,
// newest (by active_from, then created_at) first.
func (s *Store) OrgKeys(ctx context.Context, orgID string) ([]OrgKey, error) {
	if checkID(orgID, "list org keys") != nil {
		return nil, nil // an ID that is not a UUID has no keys
	}
	rows, err := s.db.Query(ctx, `SELECT `+orgKeyColumns+` FROM org_keys
		WHERE organisation_id = $1 ORDER BY active_from DESC, created_at DESC, id`, orgID)
	return collectOrgKeys(rows, err)
}

// OrgKey loads key id of organisation orgID; another organisation's key is
// ErrNotFound.
func (s *Store) OrgKey(ctx context.Context, orgID, id string) (OrgKey, error) {
	if err := checkID(id, "load org key"); err != nil {
		return OrgKey{}, err
	}
	if err := checkID(orgID, "load org key"); err != nil {
		return OrgKey{}, err
	}
	k, err := scanOrgKey(s.db.QueryRow(ctx, `SELECT `+orgKeyColumns+` FROM org_keys
		WHERE id = $1 AND organisation_id = $2`, id, orgID))
	return k, normalise(err, "load org key")
}

// PendingKey is a private key generated for a certificate signing request,
// waiting for the issued certificate.
type PendingKey struct {
	ID             string // becomes the org_keys id when installed
	OrganisationID string
	KeyEnc         []byte
	CSRDER         []byte
	Subject        string
	CreatedAt      time.Time
}

// AddPendingKey stores k (k.ID chosen by the caller).
func (s *Store) AddPendingKey(ctx context.Context, k PendingKey) (PendingKey, error) {
	if err := checkID(k.ID, "add pending key"); err != nil {
		return PendingKey{}, err
	}
	err := s.db.QueryRow(ctx, `INSERT INTO pending_keys (id, organisation_id, key_enc, csr_der, subject)
		VALUES ($1, $2, $3, $4, $5) RETURNING created_at`,
		k.ID, k.OrganisationID, k.KeyEnc, k.CSRDER, k.Subject).Scan(&k.CreatedAt)
	return k, normalise(err, "add pending key")
}

// PendingKeys lists organisation orgID's keys still waiting for a
// certificate, newest first.
func (s *Store) PendingKeys(ctx context.Context, orgID string) ([]PendingKey, error) {
	rows, err := s.db.Query(ctx, `SELECT id, organisation_id, key_enc, csr_der, subject, created_at FROM pending_keys
		WHERE organisation_id = $1 AND installed_at IS NULL AND discarded_at IS NULL
		ORDER BY created_at DESC, id`, orgID)
	if err != nil {
		return nil, normalise(err, "list pending keys")
	}
	defer rows.Close()
	var out []PendingKey
	for rows.Next() {
		var k PendingKey
		if err := rows.Scan(&k.ID, &k.OrganisationID, &k.KeyEnc, &k.CSRDER, &k.Subject, &k.CreatedAt); err != nil {
			return nil, normalise(err, "scan pending key")
		}
		out = append(out, k)
	}
	return out, normalise(rows.Err(), "list pending keys")
}

// PendingKey loads pending key id of organisation orgID (not yet installed
// or discarded).
func (s *Store) PendingKey(ctx context.Context, orgID, id string) (PendingKey, error) {
	if err := checkID(id, "load pending key"); err != nil {
		return PendingKey{}, err
	}
	var k PendingKey
	err := s.db.QueryRow(ctx, `SELECT id, organisation_id, key_enc, csr_der, subject, created_at FROM pending_keys
		WHERE id = $1 AND organisation_id = $2 AND installed_at IS NULL AND discarded_at IS NULL`, id, orgID).Scan(
		&k.ID, &k.OrganisationID, &k.KeyEnc, &k.CSRDER, &k.Subject, &k.CreatedAt)
	return k, normalise(err, "load pending key")
}

// ClosePendingKey marks pending key id of orgID installed (its certificate
// arrived) or, when installed is false, discarded.
func (s *Store) ClosePendingKey(ctx context.Context, orgID, id string, installed bool) error {
	if err := checkID(id, "close pending key"); err != nil {
		return err
	}
	col := "discarded_at"
	if installed {
		col = "installed_at"
	}
	tag, err := s.db.Exec(ctx, `UPDATE pending_keys SET `+col+` = now()
		WHERE id = $1 AND organisation_id = $2 AND installed_at IS NULL AND discarded_at IS NULL`, id, orgID)
	if err == nil && tag.RowsAffected() == 0 {
		return fmt.Errorf("close pending key: %w", ErrNotFound)
	}
	return normalise(err, "close pending key")
}

// Notification is something an organisation's administrators should act
// on.
type Notification struct {
	ID             string
	OrganisationID string
	Kind           string
	Ref            string // (organisation, kind, ref) is unique
	Text           string
	Link           string
	CreatedAt      time.Time
}

// AddNotificationOnce stores n unless the organisation already has one of
// the same kind and ref (dismissed or not); it reports whether n was new.
func (s *Store) AddNotificationOnce(ctx context.Context, n Notification) (bool, error) {
	tag, err := s.db.Exec(ctx, `INSERT INTO notifications (organisation_id, kind, ref, text, link)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (organisation_id, kind, ref) DO NOTHING`,
		n.OrganisationID, n.Kind, n.Ref, n.Text, n.Link)
	if err != nil {
		return false, normalise(err, "add notification")
	}
	return tag.RowsAffected() == 1, nil
}

// OpenNotifications lists organisation orgID's notifications not
// dismissed, newest first.
func (s *Store) OpenNotifications(ctx context.Context, orgID string) ([]Notification, error) {
	rows, err := s.db.Query(ctx, `SELECT id, organisation_id, kind, ref, text, link, created_at FROM notifications
		WHERE organisation_id = $1 AND dismissed_at IS NULL ORDER BY created_at DESC, id`, orgID)
	if err != nil {
		return nil, normalise(err, "list notifications")
	}
	defer rows.Close()
	var out []Notification
	for rows.Next() {
		var n Notification
		if err := rows.Scan(&n.ID, &n.OrganisationID, &n.Kind, &n.Ref, &n.Text, &n.Link, &n.CreatedAt); err != nil {
			return nil, normalise(err, "scan notification")
		}
		out = append(out, n)
	}
	return out, normalise(rows.Err(), "list notifications")
}

// DismissNotification marks notification id of orgID dismissed by userID.
// Another organisation's, or one already dismissed, is ErrNotFound.
func (s *Store) DismissNotification(ctx context.Context, orgID, id, userID string) (Notification, error) {
	if err := checkID(id, "dismiss notification"); err != nil {
		return Notification{}, err
	}
	var n Notification
	err := s.db.QueryRow(ctx, `UPDATE notifications SET dismissed_at = now(), dismissed_by = $3
		WHERE id = $1 AND organisation_id = $2 AND dismissed_at IS NULL
		RETURNING id, organisation_id, kind, ref, text, link, created_at`, id, orgID, userID).Scan(
		&n.ID, &n.OrganisationID, &n.Kind, &n.Ref, &n.Text, &n.Link, &n.CreatedAt)
	return n, normalise(err, "dismiss notification")
}

// TrustAnchor loads trust anchor id (removed or not).
func (s *Store) TrustAnchor(ctx context.Context, id string) (TrustAnchor, error) {
	if err := checkID(id, "load trust anchor"); err != nil {
		return TrustAnchor{}, err
	}
	var a TrustAnchor
	err := s.db.QueryRow(ctx, `SELECT id, cert_der, subject, not_after, added_at, removed_at
		FROM trust_anchors WHERE id = $1`, id).Scan(&a.ID, &a.CertDER, &a.Subject, &a.NotAfter, &a.AddedAt, &a.RemovedAt)
	return a, normalise(err, "load trust anchor")
}

// RemoveTrustAnchor stops trusting anchor id; removing one already removed
// is ErrNotFound.
func (s *Store) RemoveTrustAnchor(ctx context.Context, id string) error {
	if err := checkID(id, "remove trust anchor"); err != nil {
		return err
	}
	tag, err := s.db.Exec(ctx, `UPDATE trust_anchors SET removed_at = now() WHERE id = $1 AND removed_at IS NULL`, id)
	if err == nil && tag.RowsAffected() == 0 {
		return fmt.Errorf("remove trust anchor: %w", ErrNotFound)
	}
	return normalise(err, "remove trust anchor")
}

// DirectoryEntries lists every directory entry by name.
func (s *Store) DirectoryEntries(ctx context.Context) ([]DirectoryEntry, error) {
	rows, err := s.db.Query(ctx, `SELECT `+directoryColumns+` FROM directory_entries ORDER BY name, org_uri`)
	if err != nil {
		return nil, normalise(err, "list directory entries")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (DirectoryEntry, error) { return scanDirectoryEntry(r) })
	return out, normalise(err, "list directory entries")
}
