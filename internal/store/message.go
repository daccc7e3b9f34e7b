package store

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Message directions.
const (
	Outbound = "outbound"
	Inbound  = "inbound"
)

// Message statuses (messages.status). Outbound: queued → sent → delivered
// or failed. Inbound: received → delivered (portal inbox) or held (for
// SMR) → retrieved, or failed.
const (
	StatusQueued    = "queued"
	StatusSent      = "sent"
	StatusDelivered = "delivered"
	StatusFailed    = "failed"
	StatusReceived  = "received"
	StatusHeld      = "held"
	StatusRetrieved = "retrieved"
)

// Message is one SMD message as one hosted organisation sees it.
type Message struct {
	ID                 string
	OrganisationID     string
	Direction          string
	InvocationID       string
	SenderOrgURI       string
	ReceiverOrgURI     string
	SenderIndividual   string
	ReceiverIndividual string
	ServiceCategory    string
	Status             string
	StatusDetail       string
	PayloadEnc         []byte
	PayloadSize        int
	PayloadType        string
	Sealed             []byte
	DigestValue        []byte
	EndpointURL        string
	Peer               string
	RecipientUserID    *string
	Attempts           int
	ExpiresAt          time.Time
	SentAt             *time.Time
	FinalAt            *time.Time
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

const messageColumns = `id, organisation_id, direction, invocation_id, sender_org_uri, receiver_org_uri,
	sender_individual, receiver_individual, service_category, status, status_detail, payload_enc,
	payload_size, payload_type, sealed, digest_value, endpoint_url, peer, recipient_user_id, attempts,
	expires_at, sent_at, final_at, created_at, updated_at`

// messageSummaryColumns is messageColumns without the large columns.
const messageSummaryColumns = `id, organisation_id, direction, invocation_id, sender_org_uri, receiver_org_uri,
	sender_individual, receiver_individual, service_category, status, status_detail, NULL::bytea,
	payload_size, payload_type, NULL::bytea, digest_value, endpoint_url, peer, recipient_user_id, attempts,
	expires_at, sent_at, final_at, created_at, updated_at`

func scanMessage(row interface{ Scan(...any) error }) (Message, error) {
	var m Message
	err := row.Scan(&m.ID, &m.OrganisationID, &m.Direction, &m.InvocationID, &m.SenderOrgURI, &m.ReceiverOrgURI,
		&m.SenderIndividual, &m.ReceiverIndividual, &m.ServiceCategory, &m.Status, &m.StatusDetail, &m.PayloadEnc,
		&m.PayloadSize, &m.PayloadType, &m.Sealed, &m.DigestValue, &m.EndpointURL, &m.Peer, &m.RecipientUserID,
		&m.Attempts, &m.ExpiresAt, &m.SentAt, &m.FinalAt, &m.CreatedAt, &m.UpdatedAt)
	return m, err
}

// InsertMessage inserts m (ID chosen by the caller) with its first
// timeline event (m.Status). It returns false, and writes nothing, when a
// message with the same direction, sender organisation and invocationId
// exists: the duplicate rule of SMD.md §1.11.
func (s *Store) InsertMessage(ctx context.Context, m Message) (bool, error) {
	if err := checkID(m.ID, "insert message"); err != nil {
		return false, err
	}
	const q = `INSERT INTO messages (id, organisation_id, direction, invocation_id, sender_org_uri,
		receiver_org_uri, sender_individual, receiver_individual, service_category, status, status_detail,
		payload_enc, payload_size, payload_type, sealed, digest_value, endpoint_url, peer, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
		ON CONFLICT (direction, sender_org_uri, invocation_id) DO NOTHING`
	var inserted bool
	err := s.WithTx(ctx, func(tx *Store) error {
		tag, err := tx.db.Exec(ctx, q, m.ID, m.OrganisationID, m.Direction, m.InvocationID, m.SenderOrgURI,
			m.ReceiverOrgURI, m.SenderIndividual, m.ReceiverIndividual, m.ServiceCategory, m.Status, m.StatusDetail,
			m.PayloadEnc, m.PayloadSize, m.PayloadType, m.Sealed, m.DigestValue, m.EndpointURL, m.Peer, m.ExpiresAt)
		if err != nil {
			return err
		}
		if inserted = tag.RowsAffected() == 1; !inserted {
			return nil
		}
		return tx.AddMessageEvent(ctx, m.ID, m.Status, m.StatusDetail)
	})
	return inserted, normalise(err, "insert message")
}

// Message loads message id with its payload and sealed bytes.
func (s *Store) Message(ctx context.Context, id string) (Message, error) {
	if err := checkID(id, "load message"); err != nil {
		return Message{}, err
	}
	m, err := scanMessage(s.db.QueryRow(ctx, `SELECT `+messageColumns+` FROM messages WHERE id = $1`, id))
	return m, normalise(err, "load message")
}

// OutboundMessage loads the outbound message of senderOrgURI with
// invocationID, without its large columns.
func (s *Store) OutboundMessage(ctx context.Context, senderOrgURI, invocationID string) (Message, error) {
	m, err := scanMessage(s.db.QueryRow(ctx, `SELECT `+messageSummaryColumns+` FROM messages
		WHERE direction = 'outbound' AND sender_org_uri = $1 AND invocation_id = $2`, senderOrgURI, invocationID))
	return m, normalise(err, "load outbound message")
}

// InboundMessage loads organisation orgID's inbound message with
// invocationID (any sender), with its sealed bytes.
func (s *Store) InboundMessage(ctx context.Context, orgID, invocationID string) (Message, error) {
	if err := checkID(orgID, "load inbound message"); err != nil {
		return Message{}, err
	}
	m, err := scanMessage(s.db.QueryRow(ctx, `SELECT `+messageColumns+` FROM messages
		WHERE direction = 'inbound' AND organisation_id = $1 AND invocation_id = $2
		ORDER BY created_at LIMIT 1`, orgID, invocationID))
	return m, normalise(err, "load inbound message")
}

// AddMessageEvent appends an event to message id's timeline.
func (s *Store) AddMessageEvent(ctx context.Context, id, status, detail string) error {
	_, err := s.db.Exec(ctx, `INSERT INTO message_events (message_id, status, detail) VALUES ($1, $2, $3)`,
		id, status, truncate(detail, 2000))
	return normalise(err, "add message event")
}

// AddMessageEventOnce appends an event unless message id's timeline has
// one with that status already; it reports whether it did. Answers that
// arrive out of order (a read acknowledgement after the acceptance) are
// still history, but a repeated one is not news. The message row is
// locked first, so two deliveries of the same answer at once add one.
func (s *Store) AddMessageEventOnce(ctx context.Context, id, status, detail string) (bool, error) {
	added := false
	err := s.WithTx(ctx, func(tx *Store) error {
		if _, err := tx.db.Exec(ctx, `SELECT 1 FROM messages WHERE id = $1 FOR UPDATE`, id); err != nil {
			return normalise(err, "lock message")
		}
		tag, err := tx.db.Exec(ctx, `INSERT INTO message_events (message_id, status, detail)
			SELECT $1, $2, $3 WHERE NOT EXISTS (SELECT 1 FROM message_events WHERE message_id = $1 AND status = $2)`,
			id, status, truncate(detail, 2000))
		added = err == nil && tag.RowsAffected() == 1
		return normalise(err, "add message event")
	})
	return added, err
}

// Transition moves message id from one of the statuses from to status,
// with detail, and appends the event; sent stamps sent_at, and delivered,
// failed, held or retrieved stamp final_at. It returns false, changing
// nothing, when the message is not in one of from: statuses only move
// forward, however late a step reports.
func (s *Store) Transition(ctx context.Context, id string, from []string, status, detail string) (bool, error) {
	if err := checkID(id, "transition message"); err != nil {
		return false, err
	}
	var moved bool
	err := s.WithTx(ctx, func(tx *Store) error {
		tag, err := tx.db.Exec(ctx, `UPDATE messages SET status = $3, status_detail = $4,
			sent_at = CASE WHEN $3 = 'sent' THEN coalesce(sent_at, now()) ELSE sent_at END,
			final_at = CASE WHEN $3 IN ('delivered', 'failed', 'held', 'retrieved') THEN coalesce(final_at, now()) ELSE final_at END
			WHERE id = $1 AND status = ANY($2)`, id, from, status, truncate(detail, 2000))
		if err != nil {
			return normalise(err, "transition message")
		}
		if moved = tag.RowsAffected() == 1; !moved {
			return nil
		}
		return tx.AddMessageEvent(ctx, id, status, detail)
	})
	return moved, err
}

// SetSealed records an outbound message's sealed form, the digest of our
// signature and the endpoint it is delivered to.
func (s *Store) SetSealed(ctx context.Context, id string, sealed, digest []byte, endpointURL string) error {
	_, err := s.db.Exec(ctx, `UPDATE messages SET sealed = $2, digest_value = $3, endpoint_url = $4 WHERE id = $1`,
		id, sealed, digest, endpointURL)
	return normalise(err, "set sealed message")
}

// CountAttempt adds one delivery attempt to message id and returns the
// new count.
func (s *Store) CountAttempt(ctx context.Context, id string) (int, error) {
	var n int
	err := s.db.QueryRow(ctx, `UPDATE messages SET attempts = attempts + 1 WHERE id = $1 RETURNING attempts`, id).Scan(&n)
	return n, normalise(err, "count attempt")
}

// Opened is what the inbound pipeline learnt from opening a message.
type Opened struct {
	PayloadEnc      []byte
	PayloadSize     int
	PayloadType     string
	DigestValue     []byte
	RecipientUserID *string
}

// SetOpened records an inbound message's opened payload and routing.
func (s *Store) SetOpened(ctx context.Context, id string, o Opened) error {
	_, err := s.db.Exec(ctx, `UPDATE messages SET payload_enc = $2, payload_size = $3, payload_type = $4,
		digest_value = $5, recipient_user_id = $6 WHERE id = $1`,
		id, o.PayloadEnc, o.PayloadSize, o.PayloadType, o.DigestValue, o.RecipientUserID)
	return normalise(err, "set opened message")
}

// MessageEvent is one step of a message's timeline.
type MessageEvent struct {
	MessageID string
	At        time.Time
	Status    string
	Detail    string
}

// OrgMessages lists organisation orgID's messages, newest first, without
// their large columns, each with its timeline (oldest event first).
func (s *Store) OrgMessages(ctx context.Context, orgID string, limit int) ([]Message, map[string][]MessageEvent, error) {
	if err := checkID(orgID, "list messages"); err != nil {
		return nil, nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT `+messageSummaryColumns+` FROM messages
		WHERE organisation_id = $1 ORDER BY created_at DESC, id LIMIT $2`, orgID, limit)
	if err != nil {
		return nil, nil, normalise(err, "list messages")
	}
	msgs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Message, error) { return scanMessage(r) })
	if err != nil {
		return nil, nil, normalise(err, "list messages")
	}
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
	}
	rows, err = s.db.Query(ctx, `SELECT message_id, at, status, detail FROM message_events
		WHERE message_id = ANY($1) ORDER BY message_id, id`, ids)
	if err != nil {
		return nil, nil, normalise(err, "list message events")
	}
	events := make(map[string][]MessageEvent, len(msgs))
	var e MessageEvent
	_, err = pgx.ForEachRow(rows, []any{&e.MessageID, &e.At, &e.Status, &e.Detail}, func() error {
		events[e.MessageID] = append(events[e.MessageID], e)
		return nil
	})
	return msgs, events, normalise(err, "list message events")
}

// HeldMessages lists organisation orgID's inbound messages held for SMR
// retrieval, oldest first, without payloads, and how many there are in
// all: those not yet retrieved, or with all those retrieved too. Each
// one's PayloadSize is the size of its sealed form.
func (s *Store) HeldMessages(ctx context.Context, orgID string, all bool, limit int) ([]Message, int, error) {
	if err := checkID(orgID, "list held messages"); err != nil {
		return nil, 0, err
	}
	var total int
	if err := s.db.QueryRow(ctx, `SELECT count(*) FROM messages
		WHERE organisation_id = $1 AND direction = 'inbound' AND (status = 'held' OR $2 AND status = 'retrieved')`, orgID, all).Scan(&total); err != nil {
		return nil, 0, normalise(err, "count held messages")
	}
	// PayloadSize reads the sealed size: what SMR reports.
	cols := strings.Replace(messageSummaryColumns, "payload_size", "coalesce(length(sealed), 0)", 1)
	rows, err := s.db.Query(ctx, `SELECT `+cols+` FROM messages
		WHERE organisation_id = $1 AND direction = 'inbound' AND (status = 'held' OR $2 AND status = 'retrieved')
		ORDER BY created_at, id LIMIT $3`, orgID, all, limit)
	if err != nil {
		return nil, 0, normalise(err, "list held messages")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Message, error) { return scanMessage(r) })
	return out, total, normalise(err, "list held messages")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 { // do not split a UTF-8 sequence
		n--
	}
	return s[:n]
}
