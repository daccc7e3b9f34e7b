package hl7

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Profiles (MSH-12.3) from the HL7 AU profile table (SMD.md §3.1).
const (
	ProfileREF = "HL7AU-OO-REF-SIMPLIFIED-201706"
	ProfileRRI = "HL7AU-OO-REF-SIMPLIFIED-201706/RRI"
	ProfileORU = "HL7AU-OO-ORU-201701"
	ProfileACK = "HL7AU-OO-ACK-201701"
)

// Referral status codes (RF1-1, HL7 table 0283). HL7 has no code for "more
// information requested": Pending is used for it (UNCONFIRMED against
// ADRM App. 8 and the May 2020 HL7 AU O&O decisions on RRI).
const (
	StatusAccepted = "A"
	StatusDeclined = "R"
	StatusMoreInfo = "P"
)

var statusText = map[string]string{
	StatusAccepted: "Accepted", StatusDeclined: "Rejected", StatusMoreInfo: "Pending",
}

// Patient is the PID content the portal writes and reads.
type Patient struct {
	Family, Given, Title string
	DOB                  time.Time // date only; zero when absent or unreadable
	Sex                  string    // HL7 table 0001: F, M, U, ...
	Medicare             string    // PID-3 ^^^AUSHIC^MC
	IHI                  string    // PID-3 ^^^AUSHIC^NI
	Address              Address
}

// Address is an XAD: street^^city^state^postcode^country.
type Address struct{ Street, City, State, Postcode, Country string }

// Provider is a referring or referred-to provider (PRD) or an author (PV1-9).
type Provider struct {
	Family, Given, Title string
	ProviderNumber       string // Medicare provider number, type AUSHICPR
	// HPII is written in PRD-7 with identifier type NPII (UNCONFIRMED:
	// ADRM's exact PRD-7 form for HPI-I was not available).
	HPII string
}

// Attachment is an OBX ED value: a media type such as application/pdf and
// its decoded bytes.
type Attachment struct {
	MediaType string
	Data      []byte
}

func (p Patient) pid() []string {
	var ids []string
	if p.Medicare != "" {
		ids = append(ids, Comp(p.Medicare, "", "", "AUSHIC", "MC"))
	}
	if p.IHI != "" {
		ids = append(ids, Comp(p.IHI, "", "", "AUSHIC", "NI"))
	}
	a := p.Address
	return []string{"1", "", Rep(ids...), "", Comp(p.Family, p.Given, "", "", p.Title), "",
		DT(p.DOB), Escape(p.Sex), "", "", Comp(a.Street, "", a.City, a.State, a.Postcode, a.Country)}
}

func (p Provider) prd(role string) []string {
	var ids []string
	if p.ProviderNumber != "" {
		ids = append(ids, Comp(p.ProviderNumber, "AUSHICPR"))
	}
	if p.HPII != "" {
		ids = append(ids, Comp(p.HPII, "NPII"))
	}
	return []string{Escape(role), Comp(p.Family, p.Given, "", "", p.Title), "", "", "", "", Rep(ids...)}
}

// xcn is the provider as an XCN (PV1-9), as in the ADHA MDM sample.
func (p Provider) xcn() string {
	return Comp(p.ProviderNumber, p.Family, p.Given, "", "", p.Title, "", "", "AUSHICPR")
}

// obx appends OBX segments: text as one FT value (line breaks escaped),
// then each attachment as ED.
func obx(b *Builder, textID, text string, atts []Attachment) error {
	n := 0
	if text != "" {
		n++
		b.Add("OBX", fmt.Sprint(n), "FT", textID, "", Escape(text), "", "", "", "", "", "F")
	}
	for _, a := range atts {
		typ, sub, ok := strings.Cut(a.MediaType, "/")
		if !ok || typ == "" || sub == "" {
			return fmt.Errorf("hl7: attachment media type %q is not type/subtype", a.MediaType)
		}
		n++
		// UNCONFIRMED: PDF^Display format in PDF^AUSPDI is the ADRM
		// display-segment identifier as remembered; other types reuse it
		// with their own subtype.
		id := Comp(strings.ToUpper(sub), "Display format in "+strings.ToUpper(sub), "AUSPDI")
		b.Add("OBX", fmt.Sprint(n), "ED", id, "",
			Comp("", typ, sub, "Base64", base64.StdEncoding.EncodeToString(a.Data)), "", "", "", "", "", "F")
	}
	return nil
}

// ReferralInput is a simplified referral (REF^I12).
type ReferralInput struct {
	Header                 Header // Type, Version and Profile are set by Referral
	Status, Priority, Type string // RF1-1 (table 0283), RF1-2 (0280: S, A, R), RF1-3 (0281)
	Reason                 string // RF1-10, free text
	ReferralID             string // RF1-6 originating referral identifier
	Effective, Expiry      time.Time
	Referrer, ReferredTo   Provider
	Patient                Patient
	ClinicalText           string // one FT OBX; may span lines
	Attachments            []Attachment
}

// Referral builds an HL7 AU simplified referral, REF^I12 v2.4: MSH, RF1,
// PRD (RP), PRD (RT), PID, then OBX. UNCONFIRMED: whether ADRM App. 8
// wants an OBR (and PV1) before the OBX group; this follows the issue's
// segment list.
func Referral(in ReferralInput) ([]byte, error) {
	h := in.Header
	h.Type, h.Version, h.Profile = "REF^I12^REF_I12", "2.4", ProfileREF
	status := in.Status
	if status == "" {
		status = "P"
	}
	b := NewMessage(h)
	b.Add("RF1", Comp(status, statusText[status], "HL70283"), Comp(in.Priority), Comp(in.Type), "", "",
		Comp(in.ReferralID), TS(in.Effective), TS(in.Expiry), "", Comp("", in.Reason))
	b.Add("PRD", in.Referrer.prd("RP")...)
	b.Add("PRD", in.ReferredTo.prd("RT")...)
	b.Add("PID", in.Patient.pid()...)
	if err := obx(b, Comp("REFERRAL", "Referral", "L"), in.ClinicalText, in.Attachments); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// ReportInput is a result report (ORU^R01).
type ReportInput struct {
	Header             Header // Type, Version and Profile are set by Report
	Patient            Patient
	PlacerID, FillerID string // OBR-2, OBR-3
	Service            string // OBR-4 text, e.g. "Chest X-ray"
	Observed           time.Time
	Text               string
	Attachments        []Attachment
}

// Report builds an ORU^R01 v2.4 (HL7AU-OO-ORU-201701): MSH, PID, OBR, OBX.
// UNCONFIRMED: ADRM's required PV1/ORC segments are left out.
func Report(in ReportInput) ([]byte, error) {
	h := in.Header
	h.Type, h.Version, h.Profile = "ORU^R01^ORU_R01", "2.4", ProfileORU
	b := NewMessage(h)
	b.Add("PID", in.Patient.pid()...)
	b.Add("OBR", "1", Comp(in.PlacerID), Comp(in.FillerID), Comp("", in.Service), "", "", TS(in.Observed),
		"", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "F")
	if err := obx(b, Comp("REPORT", "Report", "L"), in.Text, in.Attachments); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// CDAInput is a CDA package (a zip) wrapped in MDM^T02.
type CDAInput struct {
	Header     Header // Type and Version are set by CDAPackage
	Patient    Patient
	Author     Provider // PV1-9
	DocumentID string   // TXA-12
	// Document is OBX-3, e.g. "18842-5^Discharge Summarization Note^LN" (raw).
	Document string
	Package  []byte
}

// CDAPackage builds MDM^T02 v2.3.1 shaped like the ADHA sample: MSH, EVN,
// PID, PV1, TXA, OBX ED ^application^zip^Base64^...
func CDAPackage(in CDAInput) ([]byte, error) {
	if len(in.Package) == 0 {
		return nil, errors.New("hl7: CDA package is empty")
	}
	h := in.Header
	h.Type, h.Version, h.Profile = "MDM^T02^MDM_T02", "2.3.1", ""
	doc := in.Document
	if doc == "" {
		doc = "18842-5^Discharge Summarization Note^LN"
	}
	ts := TS(h.Time)
	b := NewMessage(h)
	b.Add("EVN", "T02", ts)
	b.Add("PID", in.Patient.pid()...)
	b.Add("PV1", "1", "N", "", "", "", "", "", "", in.Author.xcn())
	b.Add("TXA", "1", "NEHTA", "AP", ts, "", "", "", "", "", "", "", Escape(in.DocumentID), "", "", "", "PACKAGE.ZIP", "LA")
	b.Add("OBX", "1", "ED", doc, "", Comp("", "application", "zip", "Base64", base64.StdEncoding.EncodeToString(in.Package)))
	return b.Bytes(), nil
}

// Ack builds the acknowledgement of original: MSH-3..6 swapped, MSA with
// code (AA, AE or AR), original MSH-10 and text. The type is
// ACK^<trigger>^ACK_<trigger> for v2.3.1 (as the ADHA sample) and
// ACK^<trigger>^ACK for later versions, which carry profile
// HL7AU-OO-ACK-201701 (UNCONFIRMED).
func Ack(original *Message, code, text string, at time.Time, controlID string) ([]byte, error) {
	if original == nil || len(original.Segments) == 0 {
		return nil, errors.New("hl7: no message to acknowledge")
	}
	if code != "AA" && code != "AE" && code != "AR" {
		return nil, fmt.Errorf("hl7: acknowledgement code %q is not AA, AE or AR", code)
	}
	msh := original.MSH()
	trigger := original.Value(component(original, msh.Field(9), 1))
	version := original.Value(component(original, msh.Field(12), 0))
	h := original.ReplyHeader(at, controlID)
	h.Version = version
	if version == "2.3.1" || version == "2.3" {
		h.Type = "ACK^" + Escape(trigger) + "^ACK_" + Escape(trigger)
	} else {
		h.Type, h.Profile = "ACK^"+Escape(trigger)+"^ACK", ProfileACK
	}
	b := NewMessage(h)
	b.Add("MSA", code, Escape(original.Value(msh.Field(10))), Escape(text))
	return b.Bytes(), nil
}

func component(m *Message, field string, i int) string {
	c := m.Components(field)
	if i < len(c) {
		return c[i]
	}
	return ""
}

// ResponseInput is a referral response.
type ResponseInput struct {
	Header   Header   // Type, Version and Profile are set by ReferralResponse
	Referral *Message // the REF^I12 answered
	Status   string   // StatusAccepted, StatusDeclined or StatusMoreInfo
	Reason   string   // free text, in NTE-3 (UNCONFIRMED placement)
}

// ReferralResponse builds RRI^I12 (HL7AU-OO-REF-SIMPLIFIED-201706/RRI):
// MSH, MSA|AA|<referral MSH-10>, RF1 with the status and the referral's
// RF1-6, the referral's PRD and PID segments, and NTE with the reason.
func ReferralResponse(in ResponseInput) ([]byte, error) {
	if in.Referral == nil || len(in.Referral.Segments) == 0 {
		return nil, errors.New("hl7: no referral to respond to")
	}
	text, ok := statusText[in.Status]
	if !ok {
		return nil, fmt.Errorf("hl7: referral status %q is not A, R or P", in.Status)
	}
	ref := in.Referral
	if ref.d != defaultDelims {
		// PRD and PID are copied as written, which needs the same delimiters.
		return nil, errors.New("hl7: referral does not use the standard delimiters |^~\\&")
	}
	h := in.Header
	h.Type, h.Version, h.Profile = "RRI^I12^RRI_I12", "2.4", ProfileRRI
	b := NewMessage(h)
	b.Add("MSA", "AA", ref.MSH().Field(10))
	var origID string
	if rf1 := ref.All("RF1"); len(rf1) > 0 {
		origID = rf1[0].Field(6)
	}
	b.Add("RF1", Comp(in.Status, text, "HL70283"), "", "", "", "", origID)
	for _, s := range ref.Segments {
		if s.ID() == "PRD" || s.ID() == "PID" {
			b.Add(s.ID(), s.Fields[1:]...)
		}
	}
	if in.Reason != "" {
		b.Add("NTE", "1", "L", Escape(in.Reason))
	}
	return b.Bytes(), nil
}
