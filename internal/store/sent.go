package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// SentItem is a sent clinical document with what the sent list shows of
// its message.
type SentItem struct {
	Document
	ReceiverOrgURI string
	Status         string // the message's transport status
	StatusDetail   string
	QueuedAt       time.Time // when the message was (last) queued
	ChangedAt      time.Time // its latest timeline event
}

// SentFilter narrows the sent list in SQL; patient and recipient names are
// sealed and matched by the mailbox.
type SentFilter struct {
	// Status is a transport status (queued, sent, delivered, failed) or a
	// clinical status (acknowledged, read, accepted, declined, more_info);
	// "" for any.
	Status string
}

// sentWhere selects the sent documents of organisation $1 that staff
// composed: automatic answers (ACKs, read acknowledgements) and referral
// responses are shown on the message they answer, not as sent items.
const sentWhere = `d.organisation_id = $1 AND m.organisation_id = d.organisation_id AND m.direction = 'outbound'
	AND d.kind IN ('referral', 'report', 'cda', 'other')`

// Sent lists organisation orgID's sent documents matching f, newest first,
// at most limit.
func (s *Store) Sent(ctx context.Context, orgID string, f SentFilter, limit int) ([]SentItem, error) {
	if err := checkID(orgID, "list sent"); err != nil {
		return nil, err
	}
	q := `WHERE ` + sentWhere
	args := []any{orgID}
	switch f.Status {
	case "":
	case StatusQueued, StatusSent, StatusDelivered, StatusFailed:
		args = append(args, f.Status)
		q += " AND m.status = $2"
	default:
		args = append(args, f.Status)
		q += " AND d.clinical_status = $2"
	}
	args = append(args, limit)
	q += fmt.Sprintf(" ORDER BY m.created_at DESC, d.message_id LIMIT $%d", len(args))
	return s.sentItems(ctx, "list sent", q, args...)
}

// RepliesTo lists what organisation orgID sent back about its received
// message id (ACK, read acknowledgement, referral responses), oldest
// first, with how far each got.
func (s *Store) RepliesTo(ctx context.Context, orgID, id string) ([]SentItem, error) {
	if err := checkID(orgID, "list replies"); err != nil {
		return nil, err
	}
	if err := checkID(id, "list replies"); err != nil {
		return nil, err
	}
	return s.sentItems(ctx, "list replies", `WHERE d.organisation_id = $1 AND m.organisation_id = d.organisation_id
		AND m.direction = 'outbound' AND d.answers = $2 ORDER BY m.created_at, d.message_id`, orgID, id)
}

// sentItems runs the sent-item query with the given WHERE … ORDER BY.
func (s *Store) sentItems(ctx context.Context, op, where string, args ...any) ([]SentItem, error) {
	rows, err := s.db.Query(ctx, `SELECT `+prefixed("d.", documentColumns)+`, m.receiver_org_uri, m.status, m.status_detail,
			coalesce((SELECT max(e.at) FROM message_events e WHERE e.message_id = m.id AND e.status = 'retry'), m.created_at),
			coalesce((SELECT max(e.at) FROM message_events e WHERE e.message_id = m.id), m.updated_at)
		FROM documents d JOIN messages m ON m.id = d.message_id `+where, args...)
	if err != nil {
		return nil, normalise(err, op)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (SentItem, error) {
		var it SentItem
		d := &it.Document
		err := r.Scan(&d.MessageID, &d.OrganisationID, &d.Kind, &d.HL7ControlID, &d.SummaryEnc, &d.AuthorUserID,
			&d.Answers, &d.ReadAt, &d.ReadBy, &d.AssignedUserID, &d.ArchivedAt, &d.ClinicalStatus, &d.ClinicalDetail,
			&d.ClinicalAt, &d.CreatedAt, &d.UpdatedAt, &it.ReceiverOrgURI, &it.Status, &it.StatusDetail, &it.QueuedAt, &it.ChangedAt)
		return it, err
	})
	return out, normalise(err, op)
}

// MessageEvents lists the timeline of organisation orgID's message id,
// oldest first (none for another organisation's message).
func (s *Store) MessageEvents(ctx context.Context, orgID, id string) ([]MessageEvent, error) {
	if err := checkID(orgID, "list message events"); err != nil {
		return nil, err
	}
	if err := checkID(id, "list message events"); err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT e.message_id, e.at, e.status, e.detail FROM message_events e
		JOIN messages m ON m.id = e.message_id WHERE m.organisation_id = $1 AND e.message_id = $2
		ORDER BY e.id`, orgID, id)
	if err != nil {
		return nil, normalise(err, "list message events")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (MessageEvent, error) {
		var e MessageEvent
		err := r.Scan(&e.MessageID, &e.At, &e.Status, &e.Detail)
		return e, err
	})
	return out, normalise(err, "list message events")
}

// StatusRetry is the timeline event of a failed message queued again.
const StatusRetry = "retry"

// RequeueFailed queues organisation orgID's failed outbound message id
// again under a new invocationID until expiresAt, forgetting its sealed
// form and endpoint so that the next attempt resolves and seals afresh,
// and appends the retry event. It returns false, changing nothing, when
// there is no such failed message.
func (s *Store) RequeueFailed(ctx context.Context, orgID, id, invocationID string, expiresAt time.Time, detail string) (bool, error) {
	if err := checkID(orgID, "requeue message"); err != nil {
		return false, err
	}
	if err := checkID(id, "requeue message"); err != nil {
		return false, err
	}
	var moved bool
	err := s.WithTx(ctx, func(tx *Store) error {
		tag, err := tx.db.Exec(ctx, `UPDATE messages SET status = 'queued', status_detail = $5, invocation_id = $3,
			sealed = NULL, digest_value = NULL, endpoint_url = '', sent_at = NULL, final_at = NULL, expires_at = $4
			WHERE organisation_id = $1 AND id = $2 AND direction = 'outbound' AND status = 'failed'`,
			orgID, id, invocationID, expiresAt, detail)
		if err != nil {
			return normalise(err, "requeue message")
		}
		if moved = tag.RowsAffected() == 1; !moved {
			return nil
		}
		return tx.AddMessageEvent(ctx, id, StatusRetry, detail)
	})
	return moved, err
}
