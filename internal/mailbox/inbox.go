package mailbox

import (
	"context"
	"strings"
	"time"

	"github.com/opensmd/portal/internal/hl7"
	"github.com/opensmd/portal/internal/store"
)

// InboxScan is how many of an organisation's latest received documents a
// patient or sender search looks through: names are sealed, so they are
// opened and matched here rather than in SQL.
const InboxScan = 500

// InboxQuery filters the inbox. Patient and Sender are matched after
// opening the summaries of the latest InboxScan documents that pass the
// SQL filters (store.InboxFilter).
type InboxQuery struct {
	store.InboxFilter
	Patient string // part of the name, or the Medicare number
	Sender  string // part of the sender's name or address
}

// InboxEntry is one line of the inbox.
type InboxEntry struct {
	store.InboxItem
	Summary Summary
}

// Inbox lists organisation orgID's received documents matching q, newest
// first, at most limit.
func (s *Service) Inbox(ctx context.Context, orgID string, q InboxQuery, limit int) ([]InboxEntry, error) {
	items, err := s.st.Inbox(ctx, orgID, q.InboxFilter, InboxScan)
	if err != nil {
		return nil, err
	}
	match := newTextMatch(q.Patient, q.Sender)
	out := []InboxEntry{}
	for _, it := range items {
		sum, err := s.OpenSummary(it.Document)
		if err != nil {
			return nil, err
		}
		if !match.matches(sum.Patient, sum.From+" "+it.SenderOrgURI) {
			continue
		}
		out = append(out, InboxEntry{InboxItem: it, Summary: sum})
		if len(out) == limit {
			break
		}
	}
	return out, nil
}

// textMatch is what staff typed into a list's text filters, lower-cased:
// the patient, and the other party (sender or recipient). The store
// cannot filter on them: patient details are sealed.
type textMatch struct{ patient, party string }

func newTextMatch(patient, party string) textMatch {
	return textMatch{strings.ToLower(strings.TrimSpace(patient)), strings.ToLower(strings.TrimSpace(party))}
}

// matches reports whether a document about patient p, exchanged with
// party (its name as shown and its address), passes the filters.
func (m textMatch) matches(p PatientSummary, party string) bool {
	return (m.patient == "" || matchPatient(p, m.patient)) &&
		(m.party == "" || strings.Contains(strings.ToLower(party), m.party))
}

// matchPatient matches q (lower case) against the patient's name in
// either order, or, when q is digits, the start of the Medicare number.
func matchPatient(p PatientSummary, q string) bool {
	if digits := strings.ReplaceAll(q, " ", ""); digits != "" && strings.Trim(digits, "0123456789") == "" {
		return p.Medicare != "" && strings.HasPrefix(p.Medicare, digits)
	}
	given, family := strings.ToLower(p.Given), strings.ToLower(p.Family)
	return strings.Contains(given+" "+family, q) || strings.Contains(family+" "+given, q) ||
		strings.Contains(family+", "+given, q)
}

// Unread counts the organisation's unread inbox documents.
func (s *Service) Unread(ctx context.Context, orgID string) (int, error) {
	return s.st.CountUnread(ctx, orgID)
}

// Received is a received document opened for the viewer.
type Received struct {
	Doc     store.Document
	Msg     store.Message
	Summary Summary
	Payload []byte
	// HL7 is the parsed payload; nil when it is not HL7 v2.
	HL7         *hl7.Message
	Patient     hl7.Patient
	Referral    hl7.ReferralInfo
	IsReferral  bool
	Referrer    hl7.Provider // PRD RP
	ReferredTo  hl7.Provider // PRD RT
	Service     string       // OBR-4 of a report
	Observed    time.Time
	Text        string // OBX TX/FT/ST text, unescaped
	Attachments []hl7.Attachment
	// AttachmentProblem says why the attachments could not be read.
	AttachmentProblem string
	// Answer: the MSA of an acknowledgement, the RF1 status of an RRI.
	AnswerCode, AnswerControlID, AnswerText string
}

// Received loads organisation orgID's received document id for viewing,
// with no side effects (see Open). Another organisation's is not found.
func (s *Service) Received(ctx context.Context, orgID, id string) (Received, error) {
	d, err := s.st.Document(ctx, orgID, id)
	if err != nil {
		return Received{}, err
	}
	m, err := s.st.OrgMessage(ctx, orgID, id)
	if err != nil {
		return Received{}, err
	}
	if m.Direction != store.Inbound {
		return Received{}, store.ErrNotFound // the sent side has its own pages
	}
	return s.opened(d, m)
}

// opened opens document d of message m (either direction): its summary
// and payload, parsed when it is HL7 v2.
func (s *Service) opened(d store.Document, m store.Message) (Received, error) {
	r := Received{Doc: d, Msg: m}
	var err error
	if r.Summary, err = s.OpenSummary(d); err != nil {
		return r, err
	}
	if r.Payload, err = s.pipe.OpenPayload(m); err != nil {
		return r, err
	}
	if !hl7.Looks(r.Payload) {
		return r, nil
	}
	msg, err := hl7.Parse(r.Payload)
	if err != nil {
		return r, nil // shown as source only
	}
	r.HL7 = msg
	r.Patient = msg.Patient()
	r.Referral, r.IsReferral = msg.Referral()
	prd := msg.Providers()
	r.Referrer, r.ReferredTo = prd["RP"], prd["RT"]
	r.Service, r.Observed = msg.Observation()
	r.Text = msg.Text()
	if r.Attachments, err = msg.Attachments(); err != nil {
		r.AttachmentProblem = "The attachments of this message cannot be read: " + strings.TrimPrefix(err.Error(), "hl7: ")
	}
	switch d.Kind {
	case store.KindAck, store.KindReadAck:
		r.AnswerCode, r.AnswerControlID, r.AnswerText, _ = msg.Acknowledged()
	case store.KindReferralResponse:
		_, r.AnswerControlID, _, _ = msg.Acknowledged()
		r.AnswerCode, r.AnswerText = msg.ReferralStatus()
	}
	return r, nil
}

// InboxUser is the signed-in user acting on the inbox, for the audit
// trail and the SMD sender individual.
type InboxUser struct {
	ID, HPII, IP string
}

func (u InboxUser) senderIndividual() string {
	if u.HPII == "" {
		return ""
	}
	return hpiiURIPrefix + u.HPII
}

const hpiiURIPrefix = "http://ns.electronichealth.net.au/id/hi/hpii/1.0/"

func (s *Service) audit(ctx context.Context, tx *store.Store, orgID string, u InboxUser, action, id string, detail map[string]string) error {
	if detail == nil {
		detail = map[string]string{}
	}
	detail["message_id"] = id
	return tx.Audit(ctx, store.AuditEvent{OrganisationID: orgID, UserID: u.ID, IP: u.IP, Action: action, Detail: detail})
}

// Open is Received for a user opening the document: it is marked read
// (the first time) and audited (every time), and on the first opening of
// a clinical HL7 document the read acknowledgement is queued to the
// sender unless MSH-16 is NE, all in one transaction.
func (s *Service) Open(ctx context.Context, orgID, id string, u InboxUser) (Received, error) {
	r, err := s.Received(ctx, orgID, id)
	if err != nil {
		return r, err
	}
	err = s.st.WithTx(ctx, func(tx *store.Store) error {
		first, err := tx.MarkRead(ctx, orgID, id, u.ID, s.now())
		if err != nil {
			return err
		}
		if err := s.audit(ctx, tx, orgID, u, "message.viewed", id, nil); err != nil {
			return err
		}
		if !first || r.HL7 == nil || r.HL7.WantsNoAck() || !clinicalKind(r.Doc.Kind) {
			return nil
		}
		cid := s.newID()
		b, err := hl7.ReadAck(r.HL7, "Opened by the receiver", s.now(), cid)
		if err != nil {
			return err
		}
		return s.sendAnswer(ctx, tx, r.Msg, b, cid, store.KindReadAck, CategoryReadAck, u.senderIndividual())
	})
	if err != nil {
		return r, err
	}
	if r.Doc.ReadAt == nil {
		now := s.now()
		r.Doc.ReadAt, r.Doc.ReadBy = &now, &u.ID
	}
	return r, nil
}

func clinicalKind(kind string) bool {
	return kind == store.KindReferral || kind == store.KindReport || kind == store.KindCDA
}

// Attachment returns attachment n (1-based) of received document id and
// audits its download (inline viewing included).
func (s *Service) Attachment(ctx context.Context, orgID, id string, n int, inline bool, u InboxUser) (hl7.Attachment, string, error) {
	r, err := s.Received(ctx, orgID, id)
	if err != nil {
		return hl7.Attachment{}, "", err
	}
	if n < 1 || n > len(r.Attachments) {
		return hl7.Attachment{}, "", store.ErrNotFound
	}
	a := r.Attachments[n-1]
	mode := "download"
	if inline {
		mode = "inline"
	}
	err = s.st.WithTx(ctx, func(tx *store.Store) error {
		return s.audit(ctx, tx, orgID, u, "attachment.downloaded", id, map[string]string{"attachment": AttachmentName(n-1, a.MediaType), "mode": mode})
	})
	return a, AttachmentName(n-1, a.MediaType), err
}

// Printed loads received document id for its print view and audits it.
func (s *Service) Printed(ctx context.Context, orgID, id string, u InboxUser) (Received, error) {
	r, err := s.Received(ctx, orgID, id)
	if err != nil {
		return r, err
	}
	err = s.st.WithTx(ctx, func(tx *store.Store) error {
		return s.audit(ctx, tx, orgID, u, "message.printed", id, nil)
	})
	return r, err
}

// Source loads received document id for "view source" and audits it as
// a viewing.
func (s *Service) Source(ctx context.Context, orgID, id string, u InboxUser) (Received, error) {
	r, err := s.Received(ctx, orgID, id)
	if err != nil {
		return r, err
	}
	err = s.st.WithTx(ctx, func(tx *store.Store) error {
		return s.audit(ctx, tx, orgID, u, "message.viewed", id, map[string]string{"view": "source"})
	})
	return r, err
}
