package store

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// AuditFilter selects one organisation's audit events. Zero fields do not
// filter.
type AuditFilter struct {
	OrganisationID string // required
	ActionPrefix   string // "certificate." or an exact action
	UserID         string
	From, To       time.Time // From inclusive, To exclusive
	Text           string    // case-insensitive substring of the detail JSON
	Limit          int       // 0 means 50
	Offset         int
}

// likeEscape escapes the LIKE wildcards of s (with backslash, the default
// escape character).
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// FilterAuditEvents lists the events matching f, newest first, with the
// users' names filled in. Only f.OrganisationID's events are ever read.
func (s *Store) FilterAuditEvents(ctx context.Context, f AuditFilter) ([]AuditEvent, error) {
	if checkID(f.OrganisationID, "filter audit events") != nil {
		return nil, nil
	}
	where := []string{"a.organisation_id = $1"}
	args := []any{f.OrganisationID}
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if f.ActionPrefix != "" {
		add(`a.action LIKE ?`, likeEscape(f.ActionPrefix)+"%")
	}
	if f.UserID != "" {
		if checkID(f.UserID, "filter audit events") != nil {
			return nil, nil // no user has that ID
		}
		add(`a.user_id = ?`, f.UserID)
	}
	if !f.From.IsZero() {
		add(`a.at >= ?`, f.From)
	}
	if !f.To.IsZero() {
		add(`a.at < ?`, f.To)
	}
	if f.Text != "" {
		add(`a.detail::text ILIKE ?`, "%"+likeEscape(f.Text)+"%")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	args = append(args, limit, max(f.Offset, 0))
	q := `SELECT a.id, a.at, coalesce(a.organisation_id::text, ''), coalesce(a.user_id::text, ''),
		coalesce(u.display_name, ''), a.action, coalesce(a.ip, ''), a.detail
		FROM audit_events a LEFT JOIN users u ON u.id = a.user_id
		WHERE ` + strings.Join(where, " AND ") + `
		ORDER BY a.id DESC LIMIT $` + strconv.Itoa(len(args)-1) + ` OFFSET $` + strconv.Itoa(len(args))
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, normalise(err, "filter audit events")
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
	return out, normalise(rows.Err(), "filter audit events")
}
