package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// AuditEvent is one security or clinical event. Detail never holds
// passwords, keys or clinical content.
type AuditEvent struct {
	ID             int64
	At             time.Time
	OrganisationID string // "" when not tied to an organisation
	UserID         string // "" for anonymous events
	UserName       string // filled when listing
	Action         string
	IP             string
	Detail         map[string]string
}

// auditLock serialises appends so the hash chain follows id order; it is
// held until the appending transaction ends.
const auditLock = 0x706f7274616c6175 // "portalau"

// Audit appends an event, chained to the previous one (see AuditHash).
// Call it on the same tx Store as the action it records.
func (s *Store) Audit(ctx context.Context, e AuditEvent) error {
	return s.WithTx(ctx, func(tx *Store) error {
		if _, err := tx.db.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(auditLock)); err != nil {
			return normalise(err, "lock audit trail")
		}
		var prev []byte
		err := tx.db.QueryRow(ctx, `SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1`).Scan(&prev)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return normalise(err, "read audit chain")
		}
		if prev == nil {
			prev = make([]byte, sha256.Size) // the chain's first link
		}
		e.At = time.Now().UTC().Truncate(time.Microsecond) // as PostgreSQL stores it
		hash, detail, err := AuditHash(prev, e)
		if err != nil {
			return err
		}
		_, err = tx.db.Exec(ctx, `INSERT INTO audit_events (organisation_id, user_id, at, action, ip, detail, prev_hash, hash)
			VALUES (NULLIF($1, '')::uuid, NULLIF($2, '')::uuid, $3, $4, $5, $6, $7, $8)`,
			e.OrganisationID, e.UserID, e.At, e.Action, e.IP, detail, prev, hash)
		return normalise(err, "append audit event")
	})
}

// AuditHash is the chain hash of e after the row whose hash is prev:
// SHA-256 over prev and the JSON of the row's content (time in UTC with
// microseconds; detail keys sorted). It also returns the detail JSON.
func AuditHash(prev []byte, e AuditEvent) (hash, detail []byte, err error) {
	detail, err = json.Marshal(e.Detail)
	if err != nil {
		return nil, nil, err
	}
	content, err := json.Marshal(struct {
		At           string          `json:"at"`
		Organisation string          `json:"organisation_id"`
		User         string          `json:"user_id"`
		Action       string          `json:"action"`
		IP           string          `json:"ip"`
		Detail       json.RawMessage `json:"detail"`
	}{e.At.UTC().Format(time.RFC3339Nano), e.OrganisationID, e.UserID, e.Action, e.IP, detail})
	if err != nil {
		return nil, nil, err
	}
	h := sha256.New()
	h.Write(prev)
	h.Write(content)
	return h.Sum(nil), detail, nil
}

// AuditProblem is where VerifyAudit found the chain broken.
type AuditProblem struct {
	ID     int64 // the first row that does not fit
	Reason string
}

// VerifyAudit recomputes the hash chain over the whole audit trail, in id
// order, and returns the rows checked and the first problem (nil if
// intact): a row whose content no longer matches its hash (changed), or
// whose prev_hash is not the hash of the row before it (a row deleted,
// inserted or reordered), or an unhashed row after the chain began.
func (s *Store) VerifyAudit(ctx context.Context) (int, *AuditProblem, error) {
	rows, err := s.db.Query(ctx, `SELECT id, at, coalesce(organisation_id::text, ''), coalesce(user_id::text, ''),
		action, coalesce(ip, ''), detail, prev_hash, hash FROM audit_events ORDER BY id`)
	if err != nil {
		return 0, nil, normalise(err, "read audit trail")
	}
	defer rows.Close()
	n := 0
	var last []byte // hash of the previous row; nil before the chain starts
	var lastID int64
	for rows.Next() {
		var e AuditEvent
		var detail, prev, hash []byte
		if err := rows.Scan(&e.ID, &e.At, &e.OrganisationID, &e.UserID, &e.Action, &e.IP, &detail, &prev, &hash); err != nil {
			return n, nil, normalise(err, "scan audit event")
		}
		n++
		if hash == nil {
			if last != nil {
				return n, &AuditProblem{e.ID, "row has no hash although the chain began before it"}, nil
			}
			continue // appended before the chain existed
		}
		if len(detail) > 0 {
			if err := json.Unmarshal(detail, &e.Detail); err != nil {
				return n, &AuditProblem{e.ID, "detail is not a JSON object of strings"}, nil
			}
		}
		want, _, err := AuditHash(prev, e)
		if err != nil {
			return n, nil, err
		}
		if !bytes.Equal(want, hash) {
			return n, &AuditProblem{e.ID, "row content does not match its hash: it was changed"}, nil
		}
		expected := last
		if expected == nil {
			expected = make([]byte, sha256.Size)
		}
		if !bytes.Equal(prev, expected) {
			after := "the start of the chain"
			if last != nil {
				after = fmt.Sprintf("row %d", lastID)
			}
			return n, &AuditProblem{e.ID, "row does not follow " + after + ": a row was deleted, inserted or reordered here"}, nil
		}
		last, lastID = hash, e.ID
	}
	return n, nil, normalise(rows.Err(), "read audit trail")
}

// OrgAuditEvents lists the latest events of one organisation.
func (s *Store) OrgAuditEvents(ctx context.Context, orgID string, limit int) ([]AuditEvent, error) {
	return s.FilterAuditEvents(ctx, AuditFilter{OrganisationID: orgID, Limit: limit})
}
