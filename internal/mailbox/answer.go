package mailbox

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/opensmd/portal/internal/hl7"
	"github.com/opensmd/portal/internal/pipeline"
	"github.com/opensmd/portal/internal/store"
)

// FieldError is a problem with one field of an inbox action's form, in
// words for the person who filled it in.
type FieldError struct {
	Field, Message string
}

func (e *FieldError) Error() string { return e.Message }

// ErrAlreadyAnswered refuses a second answer to a referral, which is only
// allowed after asking for more information.
var ErrAlreadyAnswered = errors.New("this referral has already been answered")

// Answers a referral can get (Respond).
var responseStatus = map[string]string{
	store.ClinicalAccepted: hl7.StatusAccepted,
	store.ClinicalDeclined: hl7.StatusDeclined,
	store.ClinicalMoreInfo: hl7.StatusMoreInfo,
}

var responseAction = map[string]string{
	store.ClinicalAccepted: "message.accepted",
	store.ClinicalDeclined: "message.declined",
	store.ClinicalMoreInfo: "message.more_info",
}

// maxReason bounds a decline reason or question (documents.clinical_detail).
const maxReason = 2000

// Respond answers received referral id with an RRI^I12 to its sender:
// status is accepted, declined (reason required) or more_info (the
// question, required). The referral records the answer sent, and the
// RRI, its timeline event and the audit event are written in one
// transaction.
func (s *Service) Respond(ctx context.Context, orgID, id string, u InboxUser, status, reason string) error {
	code, ok := responseStatus[status]
	if !ok {
		return &FieldError{"status", "Choose accept, decline or request more information."}
	}
	reason = strings.TrimSpace(reason)
	switch {
	case status == store.ClinicalDeclined && reason == "":
		return &FieldError{"reason", "Enter the reason for declining: the referrer will see it."}
	case status == store.ClinicalMoreInfo && reason == "":
		return &FieldError{"reason", "Enter the information you need from the referrer."}
	case len(reason) > maxReason:
		return &FieldError{"reason", "Keep this under 2,000 characters."}
	}
	r, err := s.Received(ctx, orgID, id)
	if err != nil {
		return err
	}
	if r.Doc.Kind != store.KindReferral || r.HL7 == nil {
		return store.ErrNotFound // only referrals are answered
	}
	if r.Doc.ClinicalStatus != "" && r.Doc.ClinicalStatus != store.ClinicalMoreInfo {
		return ErrAlreadyAnswered
	}
	cid := s.newID()
	b, err := hl7.ReferralResponse(hl7.ResponseInput{Header: r.HL7.ReplyHeader(s.now(), cid), Referral: r.HL7,
		Status: code, Reason: reason})
	if err != nil {
		return err
	}
	detail := JoinParts(": ", map[string]string{store.ClinicalAccepted: "Referral accepted",
		store.ClinicalDeclined: "Referral declined", store.ClinicalMoreInfo: "More information requested"}[status], reason)
	return s.st.WithTx(ctx, func(tx *store.Store) error {
		changed, err := tx.SetClinicalStatus(ctx, orgID, id, status, detail, s.now())
		if err != nil {
			return err
		}
		if !changed {
			return ErrAlreadyAnswered // answered meanwhile, in another tab
		}
		if err := tx.AddMessageEvent(ctx, id, status, detail); err != nil {
			return err
		}
		if err := s.sendAnswer(ctx, tx, r.Msg, b, cid, store.KindReferralResponse, CategoryReferralResponse, u.senderIndividual()); err != nil {
			return err
		}
		return s.audit(ctx, tx, orgID, u, responseAction[status], id, nil)
	})
}

// MaxReplyPDF bounds the PDF of a reply (the web layer's body limit is
// 2 MB).
const MaxReplyPDF = 1800 << 10

// IsPDF reports whether b looks like a PDF file (its magic number).
func IsPDF(b []byte) bool { return bytes.HasPrefix(b, []byte("%PDF-")) }

// Reply sends a report (ORU^R01) about the same patient back to the
// sender of received document id: text and/or a PDF. It returns the new
// message's ID.
func (s *Service) Reply(ctx context.Context, orgID, id string, u InboxUser, text string, pdf []byte) (string, error) {
	text = strings.TrimSpace(text)
	switch {
	case text == "" && len(pdf) == 0:
		return "", &FieldError{"text", "Write a reply or attach a PDF."}
	case len(pdf) > 0 && !IsPDF(pdf):
		return "", &FieldError{"document", "The attached file is not a PDF. Save it as PDF and attach it again."}
	case len(pdf) > MaxReplyPDF:
		return "", &FieldError{"document", "The PDF is larger than 1.8 MB."}
	case len(text) > 20000:
		return "", &FieldError{"text", "Keep the reply under 20,000 characters."}
	}
	r, err := s.Received(ctx, orgID, id)
	if err != nil {
		return "", err
	}
	if r.HL7 == nil || !clinicalKind(r.Doc.Kind) {
		return "", store.ErrNotFound
	}
	cid := s.newID()
	in := hl7.ReportInput{Header: r.HL7.ReplyHeader(s.now(), cid), Patient: r.Patient, Service: "Reply",
		Observed: s.now(), Text: text}
	if r.IsReferral {
		in.PlacerID = r.Referral.ReferralID
	}
	if len(pdf) > 0 {
		in.Attachments = []hl7.Attachment{{MediaType: "application/pdf", Data: pdf}}
	}
	b, err := hl7.Report(in)
	if err != nil {
		return "", err
	}
	sum := Summary{Patient: r.Summary.Patient, Subject: "Report: reply to " + strings.ToLower(firstWord(r.Summary.Subject)),
		To: r.Summary.From, ComposedAt: s.now()}
	if len(pdf) > 0 {
		sum.Attachments = []AttachmentInfo{{Name: AttachmentName(0, "application/pdf"), Type: "application/pdf", Size: len(pdf)}}
	}
	var newID string
	err = s.st.WithTx(ctx, func(tx *store.Store) error {
		out, err := s.pipe.SubmitTx(ctx, tx, pipeline.Outbound{From: r.Msg.ReceiverOrgURI, To: r.Msg.SenderOrgURI,
			Category: CategoryReport, Payload: b, PayloadType: mediaHL7v2, SenderIndividual: u.senderIndividual()})
		if err != nil {
			return err
		}
		newID = out.ID
		if err := s.insertOutbound(ctx, tx, out, store.KindReport, cid, u, sum); err != nil {
			return err
		}
		return s.audit(ctx, tx, orgID, u, "message.sent", out.ID, map[string]string{"reply_to": id})
	})
	return newID, err
}

func firstWord(subject string) string {
	w, _, _ := strings.Cut(subject, ":")
	if w == "" {
		return "message"
	}
	return w
}

func (s *Service) insertOutbound(ctx context.Context, tx *store.Store, m store.Message, kind, controlID string, u InboxUser, sum Summary) error {
	enc, err := s.sealSummary(m.ID, sum)
	if err != nil {
		return err
	}
	author := u.ID
	return tx.InsertDocument(ctx, store.Document{MessageID: m.ID, OrganisationID: m.OrganisationID, Kind: kind,
		HL7ControlID: controlID, SummaryEnc: enc, AuthorUserID: &author})
}

// Forward re-sends the payload of received document id, unchanged, as a
// new message from this organisation to directory listing listingID. It
// returns the new message's ID.
func (s *Service) Forward(ctx context.Context, orgID, id string, u InboxUser, listingID string) (string, error) {
	listingID = strings.TrimSpace(listingID)
	if listingID == "" {
		return "", &FieldError{"listing", "Choose who to forward this to."}
	}
	l, err := s.st.Listing(ctx, listingID)
	if errors.Is(err, store.ErrNotFound) {
		return "", &FieldError{"listing", "That recipient is not in the directory."}
	}
	if err != nil {
		return "", err
	}
	if !l.Reachable() {
		return "", &FieldError{"listing", l.Name + " cannot receive secure messages: the directory has no SMD endpoint for them."}
	}
	r, err := s.Received(ctx, orgID, id)
	if err != nil {
		return "", err
	}
	if r.Doc.Kind != store.KindOther && !clinicalKind(r.Doc.Kind) {
		return "", store.ErrNotFound // answers are not forwarded
	}
	o := pipeline.Outbound{From: r.Msg.ReceiverOrgURI, To: l.OrgURI, Category: r.Msg.ServiceCategory,
		Payload: r.Payload, PayloadType: r.Msg.PayloadType, SenderIndividual: u.senderIndividual()}
	if l.Kind == store.ListingPractitioner && l.HPII != "" {
		o.ReceiverIndividual = hpiiURIPrefix + l.HPII
	}
	if o.From == l.OrgURI {
		return "", &FieldError{"listing", "That is your own organisation."}
	}
	accepts, err := s.Accepts(ctx, l)
	if err != nil {
		return "", err
	}
	if !slices.Contains(accepts, o.Category) {
		return "", &FieldError{"listing", l.Name + " cannot receive this type of message by secure messaging."}
	}
	sum := r.Summary
	sum.From, sum.To, sum.ToListingID, sum.ComposedAt = "", recipientName(l), l.ID, s.now()
	var newID string
	err = s.st.WithTx(ctx, func(tx *store.Store) error {
		out, err := s.pipe.SubmitTx(ctx, tx, o)
		if err != nil {
			return err
		}
		newID = out.ID
		if err := s.insertOutbound(ctx, tx, out, r.Doc.Kind, r.Doc.HL7ControlID, u, sum); err != nil {
			return err
		}
		return s.audit(ctx, tx, orgID, u, "message.forwarded", id, map[string]string{"forwarded_as": out.ID, "to": l.OrgURI})
	})
	return newID, err
}

// Archive moves received document id out of the inbox (or back).
func (s *Service) Archive(ctx context.Context, orgID, id string, u InboxUser, archived bool) error {
	return s.st.WithTx(ctx, func(tx *store.Store) error {
		if _, err := s.inboundDoc(ctx, tx, orgID, id); err != nil {
			return err
		}
		if err := tx.SetArchived(ctx, orgID, id, archived, s.now()); err != nil {
			return err
		}
		v := "false"
		if archived {
			v = "true"
		}
		return s.audit(ctx, tx, orgID, u, "message.archived", id, map[string]string{"archived": v})
	})
}

// Assign assigns received document id to a user of the organisation, or
// to nobody when userID is "".
func (s *Service) Assign(ctx context.Context, orgID, id string, u InboxUser, userID string) error {
	var to *string
	if userID != "" {
		to = &userID
	}
	return s.st.WithTx(ctx, func(tx *store.Store) error {
		if _, err := s.inboundDoc(ctx, tx, orgID, id); err != nil {
			return err
		}
		if err := tx.AssignDocument(ctx, orgID, id, to); errors.Is(err, store.ErrNotFound) && to != nil {
			return &FieldError{"assignee", "Choose a member of your organisation."}
		} else if err != nil {
			return err
		}
		return s.audit(ctx, tx, orgID, u, "message.assigned", id, map[string]string{"assignee": userID})
	})
}

// inboundDoc loads received document id of orgID (not found for another
// organisation's, or for one this organisation sent).
func (s *Service) inboundDoc(ctx context.Context, tx *store.Store, orgID, id string) (store.Document, error) {
	d, err := tx.Document(ctx, orgID, id)
	if err != nil {
		return d, err
	}
	m, err := tx.OrgMessage(ctx, orgID, id)
	if err != nil {
		return d, err
	}
	if m.Direction != store.Inbound {
		return d, store.ErrNotFound
	}
	return d, nil
}
