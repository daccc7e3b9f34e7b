package mailbox

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/opensmd/portal/internal/hl7"
	"github.com/opensmd/portal/internal/pipeline"
	"github.com/opensmd/portal/internal/provider"
	"github.com/opensmd/portal/internal/store"
)

// mediaHL7v2 is the media type the pipeline records for HL7 v2.
const mediaHL7v2 = "application/hl7-v2"

// Delivered records what a message delivered to an organisation's inbox
// is, inside the pipeline's delivery transaction tx (pipeline.Config.
// Delivered): a clinical document is listed and acknowledged (an HL7 ACK
// back to the sender, unless MSH-16 is NE); an answer (ACK, read
// acknowledgement, RRI^I12) updates the message it answers. An error
// rolls the delivery back and the pipeline retries it. Every delivery is
// audited as message.received in the same transaction.
func (s *Service) Delivered(ctx context.Context, tx *store.Store, m store.Message, payload []byte) error {
	kind, err := s.record(ctx, tx, m, payload)
	if err != nil {
		return err
	}
	return tx.Audit(ctx, store.AuditEvent{OrganisationID: m.OrganisationID, Action: "message.received",
		Detail: map[string]string{"message_id": m.ID, "kind": kind, "from": m.SenderOrgURI, "category": m.ServiceCategory}})
}

// record is Delivered without the audit event; it returns the document kind.
func (s *Service) record(ctx context.Context, tx *store.Store, m store.Message, payload []byte) (string, error) {
	d := store.Document{MessageID: m.ID, OrganisationID: m.OrganisationID, Kind: store.KindOther}
	from, err := s.senderName(ctx, tx, m, nil)
	if err != nil {
		return "", err
	}
	var msg *hl7.Message
	if m.PayloadType == mediaHL7v2 || hl7.Looks(payload) {
		// The pipeline refuses malformed HL7 before delivery; a payload
		// that still does not parse is kept as "other", never lost.
		msg, _ = hl7.Parse(payload)
	}
	if msg == nil {
		sum := Summary{From: from, Subject: "Received " + describePayload(m.PayloadType)}
		return d.Kind, s.insertReceived(ctx, tx, d, sum)
	}
	d.Kind = classify(msg, m.ServiceCategory)
	d.HL7ControlID = clipText(msg.ControlID(), 200)
	sum := summarise(msg, d.Kind)
	if sum.From, err = s.senderName(ctx, tx, m, msg); err != nil {
		return "", err
	}
	switch d.Kind {
	case store.KindAck, store.KindReadAck, store.KindReferralResponse:
		return d.Kind, s.recordAnswer(ctx, tx, m, msg, d, sum)
	}
	if err := s.insertReceived(ctx, tx, d, sum); err != nil {
		return "", err
	}
	// Addressed to a practitioner here (HPI-I or PRD RT): theirs to handle.
	if m.RecipientUserID != nil {
		if err := tx.AssignDocument(ctx, m.OrganisationID, m.ID, m.RecipientUserID); err != nil {
			return "", err
		}
	}
	if d.Kind == store.KindOther || msg.WantsNoAck() {
		return d.Kind, nil
	}
	var refused *pipeline.RefusedError
	if err := s.acknowledge(ctx, tx, m, msg); errors.As(err, &refused) {
		// The message is delivered all the same: an ACK that cannot go
		// back (say the organisation's signing certificate has lapsed) must
		// not cost the referral. Nothing was written for it.
		s.log.WarnContext(ctx, "Application ACK not queued", "message_id", m.ID, "error", err)
	} else if err != nil {
		return "", err
	}
	return d.Kind, nil
}

func (s *Service) insertReceived(ctx context.Context, tx *store.Store, d store.Document, sum Summary) error {
	enc, err := s.sealSummary(d.MessageID, sum)
	if err != nil {
		return err
	}
	d.SummaryEnc = enc
	return tx.InsertDocument(ctx, d)
}

// classify names what an HL7 message is by MSH-9 (and, for an ACK, the
// read profile in MSH-12 or the read service category).
func classify(msg *hl7.Message, category string) string {
	typ, trigger := msgType(msg)
	switch {
	case typ == "REF" && trigger == "I12":
		return store.KindReferral
	case typ == "ORU" && trigger == "R01":
		return store.KindReport
	case typ == "MDM" && (trigger == "T02" || trigger == "T04"):
		return store.KindCDA
	case typ == "ACK" && (msg.IsReadAck() || category == CategoryReadAck):
		return store.KindReadAck
	case typ == "ACK":
		return store.KindAck
	case typ == "RRI" && trigger == "I12":
		return store.KindReferralResponse
	}
	return store.KindOther
}

func msgType(msg *hl7.Message) (typ, trigger string) {
	c := msg.Components(msg.Type())
	typ = strings.ToUpper(msg.Value(c[0]))
	if len(c) > 1 {
		trigger = strings.ToUpper(msg.Value(c[1]))
	}
	return typ, trigger
}

// urgency maps RF1-2 (HL7 table 0280) to what the inbox shows.
var urgencyByPriority = map[string]string{"S": "emergency", "A": "urgent", "R": "routine"}

// summarise is what lists show of msg: patient, subject, urgency and
// attachments (named by position: HL7 ED values carry no file name).
func summarise(msg *hl7.Message, kind string) Summary {
	p := msg.Patient()
	sum := Summary{Patient: PatientSummary{Family: p.Family, Given: p.Given, Sex: p.Sex, Medicare: p.Medicare, IHI: p.IHI}}
	if !p.DOB.IsZero() {
		sum.Patient.DOB = p.DOB.Format("2006-01-02")
	}
	switch kind {
	case store.KindReferral:
		r, _ := msg.Referral()
		sum.Subject = JoinParts(": ", "Referral", r.Reason)
		sum.Urgency = urgencyByPriority[strings.ToUpper(r.Priority)]
		sum.To = msg.Providers()["RT"].Name()
	case store.KindReport:
		svc, _ := msg.Observation()
		sum.Subject = JoinParts(": ", "Report", svc)
	case store.KindCDA:
		sum.Subject = JoinParts(": ", "Clinical document", cdaTitle(msg))
	case store.KindAck, store.KindReadAck:
		code, _, text, _ := msg.Acknowledged()
		what := "Acknowledgement"
		if kind == store.KindReadAck {
			what = "Read acknowledgement"
		}
		sum.Subject = JoinParts(": ", what+" ("+code+")", text)
	case store.KindReferralResponse:
		st, reason := msg.ReferralStatus()
		sum.Subject = JoinParts(": ", "Referral response ("+referralStatusText[st]+")", reason)
	default:
		sum.Subject = "HL7 message " + msg.Value(msg.Type())
	}
	if atts, err := msg.Attachments(); err == nil {
		for i, a := range atts {
			sum.Attachments = append(sum.Attachments, AttachmentInfo{Name: AttachmentName(i, a.MediaType), Type: a.MediaType, Size: len(a.Data)})
		}
	}
	return sum
}

var referralStatusText = map[string]string{
	hl7.StatusAccepted: "accepted", hl7.StatusDeclined: "declined", hl7.StatusMoreInfo: "more information requested",
}

// cdaTitle is the document type text of an MDM's first OBX-3.
func cdaTitle(msg *hl7.Message) string {
	for _, o := range msg.All("OBX") {
		if c := msg.Components(o.Field(3)); len(c) > 1 {
			return msg.Value(c[1])
		}
	}
	return ""
}

// AttachmentName is the name attachment i (0-based) of media type t is
// listed and downloaded under: "attachment-1.pdf". Only letters and
// digits of the subtype are kept, so it is safe in a header.
func AttachmentName(i int, t string) string {
	_, sub, _ := strings.Cut(t, "/")
	ext := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, strings.ToLower(sub))
	if len(ext) > 10 {
		ext = ext[:10]
	}
	if ext == "" {
		ext = "bin"
	}
	return fmt.Sprintf("attachment-%d.%s", i+1, ext)
}

// senderName is who the message is from as shown: the referring
// practitioner (PRD RP) when there is one, and the sender organisation's
// name as this provider knows it, else its HPI-O.
func (s *Service) senderName(ctx context.Context, tx *store.Store, m store.Message, msg *hl7.Message) (string, error) {
	hpio, _ := provider.HPIOFromURI(m.SenderOrgURI)
	org, err := tx.OrgNameByURI(ctx, m.SenderOrgURI, hpio)
	if err != nil {
		return "", err
	}
	if org == "" {
		org = m.SenderOrgURI
		if hpio != "" {
			org = "HPI-O " + hpio
		}
	}
	// Only a referral's PRD RP is its sender: an RRI repeats the PRDs of
	// the referral it answers.
	if msg != nil && classify(msg, m.ServiceCategory) == store.KindReferral {
		if rp := msg.Providers()["RP"].Name(); rp != "" {
			return rp + ", " + org, nil
		}
	}
	return org, nil
}

// acknowledge queues the application ACK (AA) of msg back to its sender
// in tx, recorded as a document answering m.
func (s *Service) acknowledge(ctx context.Context, tx *store.Store, m store.Message, msg *hl7.Message) error {
	id := s.newID()
	b, err := hl7.Ack(msg, "AA", "Delivered to the inbox", s.now(), id)
	if err != nil {
		return err
	}
	return s.sendAnswer(ctx, tx, m, b, id, store.KindAck, CategoryAck, "")
}

// sendAnswer submits an answer payload to the sender of received message
// m, recorded as a document of kind answering m.
func (s *Service) sendAnswer(ctx context.Context, tx *store.Store, m store.Message, payload []byte, controlID, kind, category, senderIndividual string) error {
	out, err := s.pipe.SubmitTx(ctx, tx, pipeline.Outbound{From: m.ReceiverOrgURI, To: m.SenderOrgURI,
		Category: category, Payload: payload, PayloadType: mediaHL7v2, SenderIndividual: senderIndividual})
	if err != nil {
		return fmt.Errorf("queue %s: %w", kind, err)
	}
	answers := m.ID
	return tx.InsertDocument(ctx, store.Document{MessageID: out.ID, OrganisationID: m.OrganisationID, Kind: kind,
		HL7ControlID: controlID, Answers: &answers})
}

// recordAnswer links an answer to the message of ours it names (MSA-2),
// which must have been sent to the organisation answering: the answer is
// archived at once and the original's clinical status and timeline move
// on (never back: a late ACK does not undo an acceptance). An answer that
// names nothing of ours stays in the inbox, so nothing is lost.
func (s *Service) recordAnswer(ctx context.Context, tx *store.Store, m store.Message, msg *hl7.Message, d store.Document, sum Summary) error {
	_, controlID, _, ok := msg.Acknowledged()
	var orig store.Document
	var err error
	if ok && controlID != "" {
		orig, err = tx.OutboundByControlID(ctx, m.OrganisationID, m.SenderOrgURI, controlID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	if !ok || controlID == "" || err != nil {
		sum.Subject = "Unmatched answer. " + sum.Subject
		return s.insertReceived(ctx, tx, d, sum)
	}
	d.Answers = &orig.MessageID
	if err := s.insertReceived(ctx, tx, d, sum); err != nil {
		return err
	}
	now := s.now()
	if err := tx.SetArchived(ctx, m.OrganisationID, m.ID, true, now); err != nil {
		return err
	}
	status, detail := answerStatus(msg, d.Kind)
	if status == "" {
		return nil
	}
	// The status never regresses (a read acknowledgement arriving after
	// the acceptance leaves it accepted), but the timeline keeps the first
	// of each answer, whenever it came.
	if _, err := tx.SetClinicalStatus(ctx, m.OrganisationID, orig.MessageID, status, detail, now); err != nil {
		return err
	}
	_, err = tx.AddMessageEventOnce(ctx, orig.MessageID, status, detail)
	return err
}

// answerStatus is the clinical status an answer gives the message it
// answers, with the text shown on its timeline; "" for none.
func answerStatus(msg *hl7.Message, kind string) (status, detail string) {
	code, _, text, _ := msg.Acknowledged()
	switch kind {
	case store.KindReadAck:
		return store.ClinicalRead, "Opened by the receiver"
	case store.KindAck:
		switch strings.ToUpper(code) {
		case "AA", "CA":
			return store.ClinicalAcknowledged, JoinParts(": ", "Accepted into the receiver's system", text)
		case "AE", "AR", "CE", "CR":
			return store.ClinicalRejected, JoinParts(": ", "Rejected by the receiver's system ("+code+")", text)
		}
	case store.KindReferralResponse:
		st, reason := msg.ReferralStatus()
		switch st {
		case hl7.StatusAccepted:
			return store.ClinicalAccepted, JoinParts(": ", "Referral accepted", reason)
		case hl7.StatusDeclined:
			return store.ClinicalDeclined, JoinParts(": ", "Referral declined", reason)
		case hl7.StatusMoreInfo:
			return store.ClinicalMoreInfo, JoinParts(": ", "More information requested", reason)
		}
	}
	return "", ""
}

// describePayload names a media type for people.
func describePayload(t string) string {
	switch {
	case t == "":
		return "a document of unknown type"
	case t == "application/pdf":
		return "a PDF document"
	case strings.Contains(t, "xml"):
		return "an XML document (" + t + ")"
	case strings.HasPrefix(t, "text/"):
		return "a text document (" + t + ")"
	}
	return "a document (" + t + ")"
}

// JoinParts joins the non-blank parts, trimmed, with sep.
func JoinParts(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
