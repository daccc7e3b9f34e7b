package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Document kinds (documents.kind, migration 009).
const (
	KindReferral         = "referral"
	KindReport           = "report"
	KindCDA              = "cda"
	KindAck              = "ack"
	KindReadAck          = "read_ack"
	KindReferralResponse = "referral_response"
	KindOther            = "other"
)

// Clinical statuses (documents.clinical_status): the receiver's answers to
// an outbound message, and on an inbound referral the answer sent.
const (
	ClinicalAcknowledged = "acknowledged"
	ClinicalRejected     = "rejected"
	ClinicalRead         = "read"
	ClinicalAccepted     = "accepted"
	ClinicalDeclined     = "declined"
	ClinicalMoreInfo     = "more_info"
)

// clinicalRank orders answers: a later answer of a lower rank (an ACK
// arriving after the acceptance) never replaces a higher one. "More
// information requested" can be followed by accepted or declined.
var clinicalRank = map[string]int{
	"": 0, ClinicalAcknowledged: 1, ClinicalRejected: 1, ClinicalRead: 2,
	ClinicalMoreInfo: 3, ClinicalAccepted: 4, ClinicalDeclined: 4,
}

// ClinicalRank is the order of clinical statuses (see SetClinicalStatus).
func ClinicalRank(status string) int { return clinicalRank[status] }

// Document is the clinical view of one message row.
type Document struct {
	MessageID      string
	OrganisationID string
	Kind           string
	HL7ControlID   string
	SummaryEnc     []byte
	AuthorUserID   *string
	Answers        *string
	ReadAt         *time.Time
	ReadBy         *string
	AssignedUserID *string
	ArchivedAt     *time.Time
	ClinicalStatus string
	ClinicalDetail string
	ClinicalAt     *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

const documentColumns = `message_id, organisation_id, kind, hl7_control_id, summary_enc, author_user_id,
	answers, read_at, read_by, assigned_user_id, archived_at, clinical_status, clinical_detail, clinical_at,
	created_at, updated_at`

func scanDocument(row interface{ Scan(...any) error }) (Document, error) {
	var d Document
	err := row.Scan(&d.MessageID, &d.OrganisationID, &d.Kind, &d.HL7ControlID, &d.SummaryEnc, &d.AuthorUserID,
		&d.Answers, &d.ReadAt, &d.ReadBy, &d.AssignedUserID, &d.ArchivedAt, &d.ClinicalStatus, &d.ClinicalDetail,
		&d.ClinicalAt, &d.CreatedAt, &d.UpdatedAt)
	return d, err
}

// InsertDocument records the clinical view of a message. The organisation
// must be the message's own.
func (s *Store) InsertDocument(ctx context.Context, d Document) error {
	tag, err := s.db.Exec(ctx, `INSERT INTO documents (message_id, organisation_id, kind, hl7_control_id,
			summary_enc, author_user_id, answers)
		SELECT id, organisation_id, $3, $4, $5, $6, $7 FROM messages WHERE id = $1 AND organisation_id = $2`,
		d.MessageID, d.OrganisationID, d.Kind, d.HL7ControlID, d.SummaryEnc, d.AuthorUserID, d.Answers)
	if err == nil && tag.RowsAffected() == 0 {
		return fmt.Errorf("insert document: message %w", ErrNotFound)
	}
	return normalise(err, "insert document")
}

// Document loads the document of message id within organisation orgID.
func (s *Store) Document(ctx context.Context, orgID, id string) (Document, error) {
	if err := checkID(id, "load document"); err != nil {
		return Document{}, err
	}
	d, err := scanDocument(s.db.QueryRow(ctx, `SELECT `+documentColumns+` FROM documents
		WHERE organisation_id = $1 AND message_id = $2`, orgID, id))
	return d, normalise(err, "load document")
}

// OutboundByControlID finds the outbound message of orgID with HL7 control
// id controlID that was sent to receiverOrgURI: the original an answer
// (MSA-2) names. Only the organisation it was sent to can answer it.
func (s *Store) OutboundByControlID(ctx context.Context, orgID, receiverOrgURI, controlID string) (Document, error) {
	d, err := scanDocument(s.db.QueryRow(ctx, `SELECT `+prefixed("d.", documentColumns)+`
		FROM documents d JOIN messages m ON m.id = d.message_id
		WHERE d.organisation_id = $1 AND d.hl7_control_id = $3 AND m.direction = 'outbound'
			AND m.receiver_org_uri = $2
		ORDER BY d.created_at DESC LIMIT 1`, orgID, receiverOrgURI, controlID))
	return d, normalise(err, "find answered message")
}

// SetClinicalStatus records an answer on document id of orgID unless it
// already has an answer of higher rank (answers can arrive out of order).
// It reports whether the status changed.
func (s *Store) SetClinicalStatus(ctx context.Context, orgID, id, status, detail string, at time.Time) (bool, error) {
	if _, ok := clinicalRank[status]; !ok || status == "" {
		return false, fmt.Errorf("set clinical status: unknown status %q", status)
	}
	lower := []string{}
	for st, r := range clinicalRank {
		if r < clinicalRank[status] || (st == ClinicalMoreInfo && status == ClinicalMoreInfo) {
			lower = append(lower, st)
		}
	}
	tag, err := s.db.Exec(ctx, `UPDATE documents SET clinical_status = $3, clinical_detail = $4, clinical_at = $5
		WHERE organisation_id = $1 AND message_id = $2 AND clinical_status = ANY($6)`,
		orgID, id, status, truncate(detail, 2000), at, lower)
	if err != nil {
		return false, normalise(err, "set clinical status")
	}
	return tag.RowsAffected() == 1, nil
}

// prefixed qualifies each column of a column list with alias p.
func prefixed(p, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}
