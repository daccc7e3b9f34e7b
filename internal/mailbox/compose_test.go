package mailbox

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/opensmd/portal/internal/golden"
	"github.com/opensmd/portal/internal/jobs"
	"github.com/opensmd/portal/internal/pipeline"
	"github.com/opensmd/portal/internal/provider"
	"github.com/opensmd/portal/internal/store"
)

// composer is provider A with gp and org39 hosted (no workers: messages
// are queued, never delivered), a fixed clock and control ID, and a
// referring clinician of gp.
type composer struct {
	n        *node
	gp       store.Organisation
	clin     InboxUser
	org39    store.Listing // org39's organisation listing
	physio   store.Listing // not reachable: no directory entry here
	reportTo store.Listing // accepts reports only
}

var composeTime = time.Date(2026, 11, 24, 9, 30, 0, 0, time.FixedZone("AEDT", 11*3600))

func newComposer(t *testing.T) *composer {
	t.Helper()
	f, err := fixtureOnce()
	if err != nil {
		t.Fatal(err)
	}
	n := newNode(t, f, "A", "127.0.0.1", f.tlsA, map[string]identity{gpURI: f.gp, org39URI: f.org39})
	client, err := jobs.New(n.pool, jobs.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	n.p.SetJobs(client)
	n.mail.now = func() time.Time { return composeTime }
	n.mail.newID = func() string { return "CTRL0001" }
	ctx := t.Context()
	c := &composer{n: n, gp: n.orgs[gpURI]}
	u := n.user(t, gpURI, "Henry Button")
	if err := n.st.SetPractitioner(ctx, c.gp.ID, u.ID, "8003610833334085", "2426621B", "General practice"); err != nil {
		t.Fatal(err)
	}
	c.clin = InboxUser{ID: u.ID, HPII: "8003610833334085", IP: "192.0.2.1"}
	if _, err := provider.SyncHostedListings(ctx, n.st); err != nil {
		t.Fatal(err)
	}
	ls, _, err := n.st.SearchListings(ctx, store.ListingSearch{OrgURI: org39URI, Kind: store.ListingOrganisation})
	if err != nil || len(ls) != 1 {
		t.Fatalf("org39 listing: %v %d", err, len(ls))
	}
	c.org39 = ls[0]
	if c.physio, err = n.st.UpsertListing(ctx, store.Listing{Kind: store.ListingPractitioner, OrgURI: physioURI,
		Name: "Jane Smith", Source: store.SourceManual, SourceRef: "physio"}); err != nil {
		t.Fatal(err)
	}
	if c.reportTo, err = n.st.UpsertListing(ctx, store.Listing{Kind: store.ListingService, OrgURI: org39URI,
		Name: "Results desk", Source: store.SourceHosted, SourceRef: "results", PayloadTypes: []string{CategoryReport}}); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *composer) form(kind string) Form {
	return Form{Kind: kind, ListingID: c.org39.ID, Reason: "Right knee pain", Clinical: "Pain for 3 weeks.\nWorse on stairs.",
		Urgency: "urgent", Validity: "12", Patient: PatientForm{Family: "Citizen", Given: "Abbi", DOB: "1977-03-21", Sex: "F",
			Medicare: "2123 45670 1", IHI: "8003608166690503", Street: "1 Main St", Suburb: "Hobart", State: "TAS", Postcode: "7000"}}
}

var (
	testPDF = []byte("%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF\n")
	testZIP = []byte("PK\x03\x04\x14\x00\x00\x00package")
	testPNG = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
)

func file(t *testing.T, name string, data []byte) File {
	t.Helper()
	f, err := NewFile(name, data)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestForm_Validate(t *testing.T) {
	c := &composer{org39: store.Listing{ID: "x"}}
	scenarios := map[string]struct {
		mutate func(*Form)
		field  string
		want   string
	}{
		"BadMedicareCheckDigit": {func(f *Form) { f.Patient.Medicare = "2123456711" }, "patient_medicare", "check digit"},
		"ShortMedicare":         {func(f *Form) { f.Patient.Medicare = "21234" }, "patient_medicare", "10 digits"},
		"BadIHI":                {func(f *Form) { f.Patient.IHI = "8003608166690504" }, "patient_ihi", "check digit"},
		"MissingRecipient":      {func(f *Form) { f.ListingID = "" }, "listing", "Choose who to send this to"},
		"FutureDOB":             {func(f *Form) { f.Patient.DOB = "2027-01-01" }, "patient_dob", "in the future"},
		"BadDOB":                {func(f *Form) { f.Patient.DOB = "21/03/1977" }, "patient_dob", "like 1977-03-21"},
		"NoFamilyName":          {func(f *Form) { f.Patient.Family = " " }, "patient_family", "family name"},
		"NoSex":                 {func(f *Form) { f.Patient.Sex = "" }, "patient_sex", "sex"},
		"BadPostcode":           {func(f *Form) { f.Patient.Postcode = "700" }, "patient_postcode", "4 digits"},
		"NoReason":              {func(f *Form) { f.Reason = "" }, "reason", "reason for referral"},
		"BadUrgency":            {func(f *Form) { f.Urgency = "whenever" }, "urgency", "routine, urgent or emergency"},
		"NoValidity":            {func(f *Form) { f.Validity = "" }, "validity", "valid"},
		"BadKind":               {func(f *Form) { f.Kind = "fax" }, "kind", "Choose what to send"},
	}
	f := c.form(store.KindReferral)
	if errs := f.Validate(composeTime); len(errs) != 0 {
		t.Fatalf("valid form refused: %v", errs)
	}
	for name, s := range scenarios {
		t.Run(name, func(t *testing.T) {
			f := c.form(store.KindReferral)
			s.mutate(&f)
			errs := f.Validate(composeTime)
			if !strings.Contains(errs[s.field], s.want) {
				t.Errorf("errors %v, want %s: %q", errs, s.field, s.want)
			}
		})
	}
	// Every problem at once, not the first.
	f = Form{Kind: store.KindReferral, Patient: PatientForm{Medicare: "1"}}
	if errs := f.Validate(composeTime); len(errs) < 7 {
		t.Errorf("only %d errors for an empty form: %v", len(errs), errs)
	}
}

func TestNewFile(t *testing.T) {
	scenarios := map[string]struct {
		name     string
		data     []byte
		wantType string
		wantErr  string
	}{
		"PDF":          {"letter.pdf", testPDF, TypePDF, ""},
		"ZIP":          {"package.zip", testZIP, TypeZIP, ""},
		"PNG":          {"x.png", testPNG, TypePNG, ""},
		"JPEG":         {"x.jpg", []byte("\xff\xd8\xff\xe0JFIF"), TypeJPEG, ""},
		"TextAsPDF":    {"notes.pdf", []byte("just some notes"), "", `"notes.pdf" is a text file`},
		"HTML":         {"page.pdf", []byte("<html><script>x</script></html>"), "", "a web page"},
		"Oversized":    {"big.pdf", append(append([]byte{}, testPDF...), make([]byte, MaxAttachment)...), "", "at most 5 MB"},
		"Empty":        {"empty.pdf", nil, "", "is empty"},
		"PathInName":   {`C:\Users\me\..\scan.pdf`, testPDF, TypePDF, ""},
		"ControlChars": {"a\x00b\r\n.pdf", testPDF, TypePDF, ""},
	}
	for name, s := range scenarios {
		t.Run(name, func(t *testing.T) {
			f, err := NewFile(s.name, s.data)
			switch {
			case s.wantErr == "" && (err != nil || f.Type != s.wantType):
				t.Errorf("NewFile = %q, %v", f.Type, err)
			case s.wantErr != "" && (err == nil || !strings.Contains(err.Error(), s.wantErr)):
				t.Errorf("NewFile error %v, want %q", err, s.wantErr)
			case err == nil && strings.ContainsAny(f.Name, "/\\\x00\r\n"):
				t.Errorf("name %q not sanitised", f.Name)
			}
		})
	}
}

func TestService_Check(t *testing.T) {
	c := newComposer(t)
	ctx := t.Context()
	scenarios := map[string]struct {
		kind   string
		mutate func(*Form)
		files  []File
		field  string
		want   string
	}{
		"UnreachableRecipient": {store.KindReferral, func(f *Form) { f.ListingID = c.physio.ID }, nil, "listing", "cannot receive secure messages"},
		"UnknownRecipient":     {store.KindReferral, func(f *Form) { f.ListingID = "3f1c7f9e-0000-4000-8000-000000000000" }, nil, "listing", "not in the directory"},
		"NotAccepted":          {store.KindReferral, func(f *Form) { f.ListingID = c.reportTo.ID }, nil, "listing", "does not accept referrals"},
		"ReportWithoutPDF":     {store.KindReport, nil, nil, "attachment", "as a PDF"},
		"CDAWithoutZIP":        {store.KindCDA, nil, []File{{Name: "a.pdf", Type: TypePDF, Data: testPDF}}, "attachment", "CDA package (a ZIP file)"},
		"ZIPInReferral":        {store.KindReferral, nil, []File{{Name: "p.zip", Type: TypeZIP, Data: testZIP}}, "attachment", "only be sent as a CDA package"},
		"TooMuchInTotal": {store.KindReferral, nil, []File{{Name: "a.pdf", Type: TypePDF, Data: make([]byte, 6<<20)},
			{Name: "b.pdf", Type: TypePDF, Data: make([]byte, 5<<20)}}, "attachment", "limit is 10 MB"},
		"OnBehalfOfStranger": {store.KindReferral, func(f *Form) { f.OnBehalfOf = c.gp.ID }, nil, "referrer", "clinician of your organisation"},
	}
	for name, s := range scenarios {
		t.Run(name, func(t *testing.T) {
			f := c.form(s.kind)
			if s.mutate != nil {
				s.mutate(&f)
			}
			errs, _, _, err := c.n.mail.Check(ctx, c.gp.ID, c.clin, f, s.files)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(errs[s.field], s.want) {
				t.Errorf("errors %v, want %s: %q", errs, s.field, s.want)
			}
		})
	}
	// A reception user refers only on behalf of a practitioner.
	rec := c.n.user(t, gpURI, "Rita Reception")
	errs, _, _, err := c.n.mail.Check(ctx, c.gp.ID, InboxUser{ID: rec.ID}, c.form(store.KindReferral), nil)
	if err != nil || !strings.Contains(errs["referrer"], "choose the referring clinician") {
		t.Errorf("reception referring for nobody: %v %v", errs, err)
	}
	f := c.form(store.KindReferral)
	f.OnBehalfOf = c.clin.ID
	if errs, _, _, err := c.n.mail.Check(ctx, c.gp.ID, InboxUser{ID: rec.ID}, f, nil); err != nil || len(errs) != 0 {
		t.Errorf("on behalf of a clinician: %v %v", errs, err)
	}
}

// sent loads what Send queued: the message, its payload and document.
func (c *composer) sent(t *testing.T, id string) (store.Message, []byte, Summary) {
	t.Helper()
	m, err := c.n.st.OrgMessage(t.Context(), c.gp.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := c.n.p.OpenPayload(m)
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.n.st.Document(t.Context(), c.gp.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := c.n.mail.OpenSummary(d)
	if err != nil {
		t.Fatal(err)
	}
	return m, payload, sum
}

func (c *composer) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := c.n.pool.QueryRow(t.Context(), q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestService_SendReferral(t *testing.T) {
	c := newComposer(t)
	ctx := t.Context()
	id, err := c.n.mail.SaveDraft(ctx, c.gp.ID, c.clin, "", c.form(store.KindReferral), []File{file(t, "knee x-ray.pdf", testPDF)})
	if err != nil {
		t.Fatal(err)
	}
	// Saving again neither duplicates the draft nor audits it again.
	if _, err := c.n.mail.SaveDraft(ctx, c.gp.ID, c.clin, id, c.form(store.KindReferral), nil); err != nil {
		t.Fatal(err)
	}
	if n := c.count(t, `SELECT count(*) FROM audit_events WHERE action = 'message.composed'`); n != 1 {
		t.Errorf("%d message.composed events", n)
	}
	msgID, err := c.n.mail.Send(ctx, c.gp.ID, id, c.clin)
	if err != nil {
		t.Fatal(err)
	}
	m, payload, sum := c.sent(t, msgID)
	golden.Check(t, "compose-referral.hl7", payload)
	if m.ReceiverOrgURI != org39URI || m.ServiceCategory != CategoryReferral || m.SenderIndividual != hpiiURIPrefix+"8003610833334085" {
		t.Errorf("message %s -> %s (%s) by %q", m.SenderOrgURI, m.ReceiverOrgURI, m.ServiceCategory, m.SenderIndividual)
	}
	if sum.Patient.Medicare != "2123456701" || sum.Subject != "Referral: Right knee pain" || sum.ToListingID != c.org39.ID ||
		len(sum.Attachments) != 1 || sum.Attachments[0].Name != "knee x-ray.pdf" || sum.ComposedAt.IsZero() {
		t.Errorf("summary %+v", sum)
	}
	if n := c.count(t, `SELECT count(*) FROM audit_events WHERE action = 'message.sent' AND detail->>'message_id' = $1`, msgID); n != 1 {
		t.Errorf("%d message.sent events", n)
	}
	if n := c.count(t, `SELECT count(*) FROM river_job`); n != 1 {
		t.Errorf("%d jobs queued", n)
	}
	// The second click finds no draft and sends nothing.
	if _, err := c.n.mail.Send(ctx, c.gp.ID, id, c.clin); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second send: %v", err)
	}
	if n := c.count(t, `SELECT count(*) FROM messages`); n != 1 {
		t.Errorf("%d messages after a double send", n)
	}
}

func TestService_SendReportAndCDA(t *testing.T) {
	c := newComposer(t)
	ctx := t.Context()
	f := c.form(store.KindReport)
	f.Reason, f.Clinical = "Discharge letter", "Home today."
	id, err := c.n.mail.SaveDraft(ctx, c.gp.ID, c.clin, "", f, []File{file(t, "letter.pdf", testPDF)})
	if err != nil {
		t.Fatal(err)
	}
	msgID, err := c.n.mail.Send(ctx, c.gp.ID, id, c.clin)
	if err != nil {
		t.Fatal(err)
	}
	m, payload, _ := c.sent(t, msgID)
	golden.Check(t, "compose-report.hl7", payload)
	if m.ServiceCategory != CategoryReport {
		t.Errorf("category %s", m.ServiceCategory)
	}

	f = c.form(store.KindCDA)
	f.Reason = "eReferral"
	id, err = c.n.mail.SaveDraft(ctx, c.gp.ID, c.clin, "", f, []File{file(t, "package.zip", testZIP)})
	if err != nil {
		t.Fatal(err)
	}
	msgID, err = c.n.mail.Send(ctx, c.gp.ID, id, c.clin)
	if err != nil {
		t.Fatal(err)
	}
	m, payload, _ = c.sent(t, msgID)
	if m.ServiceCategory != CategoryEReferralMDM || !bytes.HasPrefix(payload, []byte("MSH|^~\\&|")) ||
		!bytes.Contains(payload, []byte("|MDM^T02^MDM_T02|CTRL0001|P|2.3.1|")) ||
		!bytes.Contains(payload, []byte("OBX|1|ED|57133-1^Referral Note^LN||^application^zip^Base64^UEsDBBQAAABwYWNrYWdl")) {
		t.Errorf("MDM^T02 (%s):\n%s", m.ServiceCategory, bytes.ReplaceAll(payload, []byte("\r"), []byte("\n")))
	}
}

// failingSubmit queues the message and then fails, as a full queue or a
// lost connection would after the first writes of the transaction.
type failingSubmit struct{ Submitter }

func (f failingSubmit) SubmitTx(ctx context.Context, tx *store.Store, o pipeline.Outbound) (store.Message, error) {
	if _, err := f.Submitter.SubmitTx(ctx, tx, o); err != nil {
		return store.Message{}, err
	}
	return store.Message{}, errors.New("queue unavailable")
}

func TestService_SendIsAtomic(t *testing.T) {
	c := newComposer(t)
	ctx := t.Context()
	id, err := c.n.mail.SaveDraft(ctx, c.gp.ID, c.clin, "", c.form(store.KindReferral), nil)
	if err != nil {
		t.Fatal(err)
	}
	failing := *c.n.mail
	failing.pipe = failingSubmit{c.n.p}
	if _, err := failing.Send(ctx, c.gp.ID, id, c.clin); err == nil {
		t.Fatal("send succeeded")
	}
	for what, q := range map[string]string{"messages": `SELECT count(*) FROM messages`, "documents": `SELECT count(*) FROM documents`,
		"jobs": `SELECT count(*) FROM river_job`, "sent events": `SELECT count(*) FROM audit_events WHERE action = 'message.sent'`} {
		if n := c.count(t, q); n != 0 {
			t.Errorf("%d %s left by a failed send", n, what)
		}
	}
	if _, err := c.n.mail.OpenDraft(ctx, c.gp.ID, c.clin.ID, id); err != nil {
		t.Errorf("draft gone after a failed send: %v", err)
	}
	// Invalid drafts are refused with every error, and kept.
	f := c.form(store.KindReferral)
	f.Patient.Medicare, f.ListingID = "2123456711", c.physio.ID
	if _, err := c.n.mail.SaveDraft(ctx, c.gp.ID, c.clin, id, f, nil); err != nil {
		t.Fatal(err)
	}
	var ve *ValidationError
	if _, err := c.n.mail.Send(ctx, c.gp.ID, id, c.clin); !errors.As(err, &ve) || ve.Errors["patient_medicare"] == "" || ve.Errors["listing"] == "" {
		t.Errorf("invalid send: %v", err)
	}
}

func TestDrafts_AuthorAndOrganisationOnly(t *testing.T) {
	c := newComposer(t)
	ctx := t.Context()
	id, err := c.n.mail.SaveDraft(ctx, c.gp.ID, c.clin, "", c.form(store.KindReferral), []File{file(t, "a.png", testPNG)})
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.n.mail.OpenDraft(ctx, c.gp.ID, c.clin.ID, id)
	if err != nil || len(d.Files) != 1 || !bytes.Equal(d.Files[0].Data, testPNG) || d.Form.Patient.Family != "Citizen" {
		t.Fatalf("draft %+v %v", d, err)
	}
	var enc []byte
	if err := c.n.pool.QueryRow(ctx, `SELECT form_enc FROM drafts WHERE id = $1`, id).Scan(&enc); err != nil || len(enc) == 0 {
		t.Fatalf("stored draft: %d bytes, %v", len(enc), err)
	}
	if bytes.Contains(enc, []byte("Citizen")) {
		t.Error("draft form stored in clear")
	}
	colleague := c.n.user(t, gpURI, "Other Colleague")
	other := c.n.orgs[org39URI]
	for who, u := range map[string]struct{ org, user string }{"Colleague": {c.gp.ID, colleague.ID}, "OtherOrg": {other.ID, c.clin.ID}} {
		if _, err := c.n.mail.OpenDraft(ctx, u.org, u.user, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s opened the draft: %v", who, err)
		}
		if _, err := c.n.mail.SaveDraft(ctx, u.org, InboxUser{ID: u.user}, id, Form{}, nil); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s saved the draft: %v", who, err)
		}
		if err := c.n.mail.RemoveFile(ctx, u.org, InboxUser{ID: u.user}, id, d.Files[0].ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s removed a file: %v", who, err)
		}
		if err := c.n.mail.DeleteDraft(ctx, u.org, InboxUser{ID: u.user}, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s deleted the draft: %v", who, err)
		}
		if list, err := c.n.mail.Drafts(ctx, u.org, u.user); err != nil || len(list) != 0 {
			t.Errorf("%s lists %d drafts (%v)", who, len(list), err)
		}
	}
	if err := c.n.mail.RemoveFile(ctx, c.gp.ID, c.clin, id, d.Files[0].ID); err != nil {
		t.Fatal(err)
	}
	if list, err := c.n.mail.Drafts(ctx, c.gp.ID, c.clin.ID); err != nil || len(list) != 1 || list[0].Form.Reason != "Right knee pain" {
		t.Errorf("drafts %+v %v", list, err)
	}
	if err := c.n.mail.DeleteDraft(ctx, c.gp.ID, c.clin, id); err != nil {
		t.Fatal(err)
	}
}
