package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// InboxItem is a received document with what the inbox shows of its
// message.
type InboxItem struct {
	Document
	SenderOrgURI    string
	ServiceCategory string
	PayloadType     string
	ReceivedAt      time.Time
}

// Inbox statuses a list can be filtered by (InboxFilter.Status).
const (
	InboxUnread    = "unread"
	InboxRead      = "read"
	InboxUnmatched = "unmatched" // an answer naming no message of ours
	// InboxReplyFailed: a reply to its sender (ACK, read acknowledgement,
	// answer) was not delivered.
	InboxReplyFailed = "reply_failed"
)

// replyFailed holds for a received document d with a reply that failed.
const replyFailed = `EXISTS (SELECT 1 FROM documents r JOIN messages rm ON rm.id = r.message_id
	AND rm.organisation_id = r.organisation_id
	WHERE r.answers = d.message_id AND r.organisation_id = d.organisation_id
	AND rm.direction = 'outbound' AND rm.status = 'failed')`

// InboxFilter narrows the inbox in SQL; patient and sender names are
// sealed and matched by the mailbox.
type InboxFilter struct {
	Kind string // a document kind; "" for any
	// Status is InboxUnread, InboxRead, InboxUnmatched, InboxReplyFailed or a clinical
	// status (accepted, declined, more_info); "" for any.
	Status     string
	AssignedTo string // a user ID; "" for anyone
	Since      time.Time
	Before     time.Time // exclusive
	Archived   bool      // the archive instead of the inbox
}

// inboxWhere selects the received documents of organisation $1 that
// belong in an inbox: clinical documents, and answers that matched none
// of our messages (matched answers only update the message they answer).
const inboxWhere = `d.organisation_id = $1 AND m.direction = 'inbound'
	AND (d.kind IN ('referral', 'report', 'cda', 'other') OR d.answers IS NULL)`

// Inbox lists organisation orgID's received documents matching f, newest
// first, at most limit.
func (s *Store) Inbox(ctx context.Context, orgID string, f InboxFilter, limit int) ([]InboxItem, error) {
	if err := checkID(orgID, "list inbox"); err != nil {
		return nil, err
	}
	q := `SELECT ` + prefixed("d.", documentColumns) + `, m.sender_org_uri, m.service_category, m.payload_type, m.created_at
		FROM documents d JOIN messages m ON m.id = d.message_id AND m.organisation_id = d.organisation_id
		WHERE ` + inboxWhere + ` AND (d.archived_at IS NOT NULL) = $2`
	args := []any{orgID, f.Archived}
	add := func(cond string, v any) {
		args = append(args, v)
		q += fmt.Sprintf(" AND "+cond, len(args))
	}
	if f.Kind != "" {
		add("d.kind = $%d", f.Kind)
	}
	switch f.Status {
	case "":
	case InboxUnread:
		q += " AND d.read_at IS NULL"
	case InboxRead:
		q += " AND d.read_at IS NOT NULL"
	case InboxUnmatched:
		q += " AND d.kind IN ('ack', 'read_ack', 'referral_response')"
	case InboxReplyFailed:
		q += " AND " + replyFailed
	default:
		add("d.clinical_status = $%d", f.Status)
	}
	if f.AssignedTo != "" {
		if err := checkID(f.AssignedTo, "list inbox"); err != nil {
			return nil, err
		}
		add("d.assigned_user_id = $%d", f.AssignedTo)
	}
	if !f.Since.IsZero() {
		add("m.created_at >= $%d", f.Since)
	}
	if !f.Before.IsZero() {
		add("m.created_at < $%d", f.Before)
	}
	args = append(args, limit)
	q += fmt.Sprintf(" ORDER BY m.created_at DESC, d.message_id LIMIT $%d", len(args))
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, normalise(err, "list inbox")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (InboxItem, error) {
		var it InboxItem
		d := &it.Document
		err := r.Scan(&d.MessageID, &d.OrganisationID, &d.Kind, &d.HL7ControlID, &d.SummaryEnc, &d.AuthorUserID,
			&d.Answers, &d.ReadAt, &d.ReadBy, &d.AssignedUserID, &d.ArchivedAt, &d.ClinicalStatus, &d.ClinicalDetail,
			&d.ClinicalAt, &d.CreatedAt, &d.UpdatedAt, &it.SenderOrgURI, &it.ServiceCategory, &it.PayloadType, &it.ReceivedAt)
		return it, err
	})
	return out, normalise(err, "list inbox")
}

// CountUnread counts organisation orgID's unread inbox documents (the nav
// badge: one indexed count per page).
func (s *Store) CountUnread(ctx context.Context, orgID string) (int, error) {
	if err := checkID(orgID, "count unread"); err != nil {
		return 0, err
	}
	var n int
	err := s.db.QueryRow(ctx, `SELECT count(*) FROM documents d JOIN messages m ON m.id = d.message_id
		WHERE `+inboxWhere+` AND d.read_at IS NULL AND d.archived_at IS NULL`, orgID).Scan(&n)
	return n, normalise(err, "count unread")
}

// CountReplyFailed counts organisation orgID's received documents in its
// inbox (not archived) with a reply that was not delivered.
func (s *Store) CountReplyFailed(ctx context.Context, orgID string) (int, error) {
	if err := checkID(orgID, "count failed replies"); err != nil {
		return 0, err
	}
	var n int
	err := s.db.QueryRow(ctx, `SELECT count(*) FROM documents d JOIN messages m ON m.id = d.message_id
		WHERE `+inboxWhere+` AND d.archived_at IS NULL AND `+replyFailed, orgID).Scan(&n)
	return n, normalise(err, "count failed replies")
}

// OrgMessage loads organisation orgID's message id with its payload.
func (s *Store) OrgMessage(ctx context.Context, orgID, id string) (Message, error) {
	if err := checkID(id, "load message"); err != nil {
		return Message{}, err
	}
	if err := checkID(orgID, "load message"); err != nil {
		return Message{}, err
	}
	m, err := scanMessage(s.db.QueryRow(ctx, `SELECT `+messageColumns+` FROM messages
		WHERE organisation_id = $1 AND id = $2`, orgID, id))
	return m, normalise(err, "load message")
}

// MarkRead records the first opening of document id of orgID by userID
// and reports whether this was it.
func (s *Store) MarkRead(ctx context.Context, orgID, id, userID string, at time.Time) (bool, error) {
	tag, err := s.db.Exec(ctx, `UPDATE documents SET read_at = $4, read_by = $3
		WHERE organisation_id = $1 AND message_id = $2 AND read_at IS NULL`, orgID, id, userID, at)
	if err != nil {
		return false, normalise(err, "mark read")
	}
	return tag.RowsAffected() == 1, nil
}

// AssignDocument assigns document id of orgID to userID, a user of the
// same organisation, or to nobody (nil).
func (s *Store) AssignDocument(ctx context.Context, orgID, id string, userID *string) error {
	if userID != nil {
		if _, err := s.OrgUser(ctx, orgID, *userID); err != nil {
			return err
		}
	}
	tag, err := s.db.Exec(ctx, `UPDATE documents SET assigned_user_id = $3
		WHERE organisation_id = $1 AND message_id = $2`, orgID, id, userID)
	if err == nil && tag.RowsAffected() == 0 {
		return fmt.Errorf("assign document: %w", ErrNotFound)
	}
	return normalise(err, "assign document")
}

// SetArchived moves document id of orgID to the archive or back.
func (s *Store) SetArchived(ctx context.Context, orgID, id string, archived bool, at time.Time) error {
	var v *time.Time
	if archived {
		v = &at
	}
	tag, err := s.db.Exec(ctx, `UPDATE documents SET archived_at = $3
		WHERE organisation_id = $1 AND message_id = $2`, orgID, id, v)
	if err == nil && tag.RowsAffected() == 0 {
		return fmt.Errorf("archive document: %w", ErrNotFound)
	}
	return normalise(err, "archive document")
}

// OrgNameByURI is the name this provider knows organisation orgURI by:
// a hosted organisation's, a directory listing's or a directory entry's;
// "" when unknown. The directory is shared, so no organisation filter.
func (s *Store) OrgNameByURI(ctx context.Context, orgURI, hpio string) (string, error) {
	var name string
	err := s.db.QueryRow(ctx, `SELECT coalesce(
		(SELECT name FROM organisations WHERE hpio = $2),
		(SELECT org_name FROM directory_listings WHERE org_uri = $1 AND org_name <> '' ORDER BY kind = 'organisation' DESC, updated_at DESC LIMIT 1),
		(SELECT name FROM directory_entries WHERE org_uri = $1), '')`, orgURI, hpio).Scan(&name)
	return name, normalise(err, "find organisation name")
}
