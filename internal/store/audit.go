package store

import (
	"context"
	"encoding/json"
	"time"
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

// Audit appends an event. Call it on the same tx Store as the action it
// records.
func (s *Store) Audit(ctx context.Context, e AuditEvent) error {
	detail, err := json.Marshal(e.Detail)
	if err != nil {
		return err
	}
	_, err = s.db.Exec(ctx, `INSERT INTO audit_events (organisation_id, user_id, action, ip, detail)
		VALUES (NULLIF($1, '')::uuid, NULLIF($2, '')::uuid, $3, $4, $5)`,
		e.OrganisationID, e.UserID, e.Action, e.IP, detail)
	return normalise(err, "append audit event")
}

// OrgAuditEvents lists the latest events of one organisation.
func (s *Store) OrgAuditEvents(ctx context.Context, orgID string, limit int) ([]AuditEvent, error) {
	rows, err := s.db.Query(ctx, `SELECT a.id, a.at, coalesce(a.organisation_id::text, ''), coalesce(a.user_id::text, ''),
		coalesce(u.display_name, ''), a.action, coalesce(a.ip, ''), a.detail
		FROM audit_events a LEFT JOIN users u ON u.id = a.user_id
		WHERE a.organisation_id = $1 ORDER BY a.id DESC LIMIT $2`, orgID, limit)
	if err != nil {
		return nil, normalise(err, "list audit events")
	}
	defer rows.Close()
	var out []AuditEvent
	for rows.Next() {
		var e AuditEvent
		var detail []byte
		if err := rows.Scan(&e.ID, &e.At, &e.OrganisationID, &e.UserID, &e.UserName, &e.Action, &e.IP, &detail); err != nil {
			return nil, normalise(err, "scan audit event")
		}
		if len(detail) > 0 {
			if err := json.Unmarshal(detail, &e.Detail); err != nil {
				return nil, err
			}
		}
		out = append(out, e)
	}
	return out, normalise(rows.Err(), "list audit events")
}
