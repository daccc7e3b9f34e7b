package mailbox

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/opensmd/portal/internal/hl7"
	"github.com/opensmd/portal/internal/pipeline"
	"github.com/opensmd/portal/internal/provider"
	"github.com/opensmd/portal/internal/store"
)

// Preview is a draft as the receiver will see it, with every problem
// that would stop it being sent.
type Preview struct {
	Draft     Draft
	Errors    Errors
	Recipient store.Listing
	Referrer  store.User
	Summary   Summary
}

// Preview opens author u's draft id and checks it for sending.
func (s *Service) Preview(ctx context.Context, orgID string, u InboxUser, id string) (Preview, error) {
	d, err := s.OpenDraft(ctx, orgID, u.ID, id)
	if err != nil {
		return Preview{}, err
	}
	errs, l, ref, err := s.Check(ctx, orgID, u, d.Form, d.Files)
	if err != nil {
		return Preview{}, err
	}
	return Preview{Draft: d, Errors: errs, Recipient: l, Referrer: ref, Summary: summaryOf(d, l, ref)}, nil
}

var kindTitle = map[string]string{store.KindReferral: "Referral", store.KindReport: "Letter", store.KindCDA: "CDA package"}

// summaryOf is the sealed summary the sent message is listed by.
func summaryOf(d Draft, l store.Listing, ref store.User) Summary {
	f, p := d.Form, d.Form.Patient
	sum := Summary{
		Patient: PatientSummary{Family: strings.TrimSpace(p.Family), Given: strings.TrimSpace(p.Given),
			DOB: strings.TrimSpace(p.DOB), Sex: p.Sex, Medicare: digits(p.Medicare), IHI: digits(p.IHI)},
		Subject: kindTitle[f.Kind] + ": " + strings.TrimSpace(f.Reason), Urgency: f.Urgency, From: ref.DisplayName,
		To: recipientName(l), ToListingID: l.ID, ComposedAt: d.CreatedAt,
	}
	for _, file := range d.Files {
		sum.Attachments = append(sum.Attachments, AttachmentInfo{Name: file.Name, Type: file.Type, Size: len(file.Data)})
	}
	return sum
}

func digits(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), " ", "") }

// Send sends author u's draft id: it builds the HL7 message (REF^I12,
// ORU^R01 or MDM^T02) addressed from the organisation's MSH-3/4 to the
// recipient's MSH-5/6, and in one transaction deletes the draft, queues
// the SMD message, records its document and audits message.sent. A
// draft already sent (a double click) is store.ErrNotFound, and nothing
// is sent twice. Problems with the draft are a *ValidationError.
func (s *Service) Send(ctx context.Context, orgID, id string, u InboxUser) (string, error) {
	p, err := s.Preview(ctx, orgID, u, id)
	if err != nil {
		return "", err
	}
	if len(p.Errors) > 0 {
		return "", &ValidationError{Errors: p.Errors}
	}
	org, err := s.st.Organisation(ctx, orgID)
	if err != nil {
		return "", err
	}
	accepted, err := s.Accepts(ctx, p.Recipient)
	if err != nil {
		return "", err
	}
	category := categoryFor(p.Draft.Form.Kind, accepted)
	cid := s.newID()
	payload, err := build(org, p, category, s.now(), cid)
	if err != nil {
		return "", err
	}
	o := pipeline.Outbound{From: provider.OrgURI(org), To: p.Recipient.OrgURI, Category: category, Payload: payload,
		PayloadType: mediaHL7v2, SenderIndividual: InboxUser{HPII: p.Referrer.HPII}.senderIndividual()}
	if p.Recipient.Kind == store.ListingPractitioner && p.Recipient.HPII != "" {
		o.ReceiverIndividual = hpiiURIPrefix + p.Recipient.HPII
	}
	var newID string
	err = s.st.WithTx(ctx, func(tx *store.Store) error {
		// First, so a concurrent second send waits on the row and then
		// finds it gone.
		if err := tx.DeleteDraft(ctx, orgID, u.ID, id); err != nil {
			return err
		}
		out, err := s.pipe.SubmitTx(ctx, tx, o)
		if err != nil {
			return err
		}
		newID = out.ID
		if err := s.insertOutbound(ctx, tx, out, p.Draft.Form.Kind, cid, u, p.Summary); err != nil {
			return err
		}
		detail := map[string]string{"draft_id": id, "kind": p.Draft.Form.Kind, "to": p.Recipient.OrgURI}
		if p.Referrer.ID != u.ID {
			detail["on_behalf_of"] = p.Referrer.ID
		}
		return s.audit(ctx, tx, orgID, u, "message.sent", out.ID, detail)
	})
	return newID, err
}

// header addresses a message: MSH-3/4 are where answers come back to
// (the organisation's own receiving application and facility, as the
// directory publishes them), MSH-5/6 the recipient's (SMD.md §3.1).
func header(org store.Organisation, l store.Listing, at time.Time, cid string) hl7.Header {
	h := hl7.Header{SendingApplication: hl7.ParseHD(org.ReceivingApplication), SendingFacility: hl7.HPIO(org.HPIO),
		ReceivingApplication: hl7.ParseHD(l.ReceivingApplication), Time: at, ControlID: cid}
	if org.ReceivingFacility != "" {
		h.SendingFacility = hl7.ParseHD(org.ReceivingFacility)
	}
	switch hpio, err := provider.HPIOFromURI(l.OrgURI); {
	case l.ReceivingFacility != "":
		h.ReceivingFacility = hl7.ParseHD(l.ReceivingFacility)
	case l.HPIO != "":
		h.ReceivingFacility = hl7.HPIO(l.HPIO)
	case err == nil:
		h.ReceivingFacility = hl7.HPIO(hpio)
	}
	return h
}

var priority = map[string]string{"routine": "R", "urgent": "A", "emergency": "S"} // HL7 table 0280

// cdaDocument is OBX-3 of an MDM^T02 by service category.
var cdaDocument = map[string]string{
	CategoryEReferralMDM:     "57133-1^Referral Note^LN",
	CategorySpecialistLetter: "51852-2^Letter^LN",
	CategoryDischargeSummary: "18842-5^Discharge Summarization Note^LN",
}

// build writes the HL7 message of a checked draft.
func build(org store.Organisation, p Preview, category string, now time.Time, cid string) ([]byte, error) {
	f := p.Draft.Form
	h := header(org, p.Recipient, now, cid)
	patient := hl7.Patient{Family: strings.TrimSpace(f.Patient.Family), Given: strings.TrimSpace(f.Patient.Given),
		Sex: f.Patient.Sex, Medicare: digits(f.Patient.Medicare), IHI: digits(f.Patient.IHI),
		Address: hl7.Address{Street: strings.TrimSpace(f.Patient.Street), City: strings.TrimSpace(f.Patient.Suburb),
			State: f.Patient.State, Postcode: strings.TrimSpace(f.Patient.Postcode)}}
	if patient.Address != (hl7.Address{}) {
		patient.Address.Country = "AUS"
	}
	patient.DOB, _ = time.Parse("2006-01-02", strings.TrimSpace(f.Patient.DOB))
	author := userProvider(p.Referrer)
	var atts []hl7.Attachment
	for _, file := range p.Draft.Files {
		atts = append(atts, hl7.Attachment{MediaType: file.Type, Data: file.Data})
	}
	switch f.Kind {
	case store.KindReferral:
		in := hl7.ReferralInput{Header: h, Priority: priority[f.Urgency], Reason: strings.TrimSpace(f.Reason),
			ReferralID: cid, Effective: now, Referrer: author, ReferredTo: listingProvider(p.Recipient),
			Patient: patient, ClinicalText: strings.TrimSpace(f.Clinical), Attachments: atts}
		if months, err := strconv.Atoi(f.Validity); err == nil {
			in.Expiry = now.AddDate(0, months, 0)
		}
		return hl7.Referral(in)
	case store.KindReport:
		return hl7.Report(hl7.ReportInput{Header: h, Patient: patient, Service: strings.TrimSpace(f.Reason),
			Observed: now, Text: strings.TrimSpace(f.Clinical), Attachments: atts})
	}
	return hl7.CDAPackage(hl7.CDAInput{Header: h, Patient: patient, Author: author, DocumentID: cid,
		Document: cdaDocument[category], Package: atts[0].Data})
}

// splitName takes the last word of a display name as the family name.
func splitName(name string) (family, given string) {
	words := strings.Fields(name)
	if len(words) == 0 {
		return "", ""
	}
	return words[len(words)-1], strings.Join(words[:len(words)-1], " ")
}

func userProvider(u store.User) hl7.Provider {
	family, given := splitName(u.DisplayName)
	return hl7.Provider{Family: family, Given: given, ProviderNumber: u.ProviderNumber, HPII: u.HPII}
}

func listingProvider(l store.Listing) hl7.Provider {
	if l.Kind != store.ListingPractitioner {
		return hl7.Provider{Family: l.Name} // a service or organisation: named whole
	}
	family, given := splitName(l.Name)
	return hl7.Provider{Family: family, Given: given, ProviderNumber: l.ProviderNumber, HPII: l.HPII}
}

// recipientName names a listing as the sender sees it: the practitioner
// or service and its organisation, once when they are the same.
func recipientName(l store.Listing) string {
	if l.OrgName == l.Name {
		return l.Name
	}
	return JoinParts(", ", l.Name, l.OrgName)
}
