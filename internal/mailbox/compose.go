package mailbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/opensmd/portal/internal/hi"
	"github.com/opensmd/portal/internal/provider"
	"github.com/opensmd/portal/internal/store"
)

// Attachment limits. Base64 in the HL7 adds a third, so the largest
// message stays near 14 MB, well inside the pipeline's 50 MB.
const (
	MaxAttachment  = 5 << 20  // one file
	MaxAttachments = 10 << 20 // all files of a draft
	MaxFiles       = 10
)

// Media types a composed message can carry (Sniff).
const (
	TypePDF  = "application/pdf"
	TypeZIP  = "application/zip"
	TypePNG  = "image/png"
	TypeJPEG = "image/jpeg"
)

// Form is a message being composed: a referral (REF^I12), a letter or
// report (ORU^R01) or a CDA package (MDM^T02). It is stored sealed in its
// draft as JSON; fields are kept exactly as typed.
type Form struct {
	Kind    string      `json:"kind"`
	Patient PatientForm `json:"patient"`
	// OnBehalfOf is the user ID of the referring clinician when it is not
	// the author (a clinician of the same organisation).
	OnBehalfOf string `json:"on_behalf_of,omitempty"`
	ListingID  string `json:"listing,omitempty"`
	Reason     string `json:"reason,omitempty"` // reason for referral; the subject of a report or package
	Clinical   string `json:"clinical,omitempty"`
	Urgency    string `json:"urgency,omitempty"`  // routine, urgent, emergency
	Validity   string `json:"validity,omitempty"` // referral validity in months, or "indefinite"
}

// PatientForm is the patient as typed.
type PatientForm struct {
	Family   string `json:"family,omitempty"`
	Given    string `json:"given,omitempty"`
	DOB      string `json:"dob,omitempty"` // YYYY-MM-DD
	Sex      string `json:"sex,omitempty"` // F, M, O, U
	Medicare string `json:"medicare,omitempty"`
	IHI      string `json:"ihi,omitempty"`
	Street   string `json:"street,omitempty"`
	Suburb   string `json:"suburb,omitempty"`
	State    string `json:"state,omitempty"`
	Postcode string `json:"postcode,omitempty"`
}

// Choices offered by the form.
var (
	Kinds      = []string{store.KindReferral, store.KindReport, store.KindCDA}
	Urgencies  = []string{"routine", "urgent", "emergency"}
	Validities = []string{"3", "12", "indefinite"}
	Sexes      = []string{"F", "M", "O", "U"}
	States     = []string{"ACT", "NSW", "NT", "QLD", "SA", "TAS", "VIC", "WA"}
)

// kindCategories are the service categories a kind is sent as, in order
// of preference; the recipient must accept one.
var kindCategories = map[string][]string{
	store.KindReferral: {CategoryReferral, CategoryReferral + "-L1"},
	store.KindReport:   {CategoryReport},
	store.KindCDA:      {CategoryEReferralMDM, CategorySpecialistLetter, CategoryDischargeSummary},
}

// Errors maps form fields (by input name) to what is wrong, in words for
// the person who filled them in.
type Errors map[string]string

// ValidationError refuses a send or preview: every field error at once.
type ValidationError struct{ Errors Errors }

func (e *ValidationError) Error() string { return fmt.Sprintf("%d form errors", len(e.Errors)) }

var postcode = regexp.MustCompile(`^[0-9]{4}$`)

// Validate checks the form's own fields (not the recipient, referrer or
// attachments, which need the database: see Service.Check) and returns
// every problem.
func (f Form) Validate(now time.Time) Errors {
	errs := Errors{}
	set := func(field, msg string) {
		if _, ok := errs[field]; !ok {
			errs[field] = msg
		}
	}
	if !slices.Contains(Kinds, f.Kind) {
		set("kind", "Choose what to send: a referral, a letter or report, or a CDA package.")
	}
	p := f.Patient
	long := func(field, v string, n int) {
		if utf8.RuneCountInString(v) > n {
			set(field, fmt.Sprintf("Keep this under %d characters.", n))
		}
	}
	if strings.TrimSpace(p.Family) == "" {
		set("patient_family", "Enter the patient's family name.")
	}
	if strings.TrimSpace(p.Given) == "" {
		set("patient_given", "Enter the patient's given name.")
	}
	long("patient_family", p.Family, 100)
	long("patient_given", p.Given, 100)
	switch dob, err := time.Parse("2006-01-02", strings.TrimSpace(p.DOB)); {
	case strings.TrimSpace(p.DOB) == "":
		set("patient_dob", "Enter the patient's date of birth.")
	case err != nil:
		set("patient_dob", "Enter the date of birth like 1977-03-21.")
	case dob.After(now):
		set("patient_dob", "The date of birth is in the future.")
	case dob.Year() < 1890:
		set("patient_dob", "Check the year of birth.")
	}
	if !slices.Contains(Sexes, p.Sex) {
		set("patient_sex", "Choose the patient's sex.")
	}
	if strings.TrimSpace(p.Medicare) != "" {
		if _, err := hi.Medicare(p.Medicare); err != nil {
			set("patient_medicare", err.Error())
		}
	}
	if strings.TrimSpace(p.IHI) != "" {
		if _, err := hi.Validate(hi.IHI, p.IHI); err != nil {
			set("patient_ihi", err.Error())
		}
	}
	long("patient_street", p.Street, 200)
	long("patient_suburb", p.Suburb, 100)
	if p.State != "" && !slices.Contains(States, p.State) {
		set("patient_state", "Choose a state or territory from the list.")
	}
	if v := strings.TrimSpace(p.Postcode); v != "" && !postcode.MatchString(v) {
		set("patient_postcode", "A postcode has 4 digits.")
	}
	if strings.TrimSpace(f.ListingID) == "" {
		set("listing", "Choose who to send this to: search the directory and pick a recipient.")
	}
	if strings.TrimSpace(f.Reason) == "" {
		if f.Kind == store.KindReferral {
			set("reason", "Enter the reason for referral.")
		} else {
			set("reason", "Enter a subject, e.g. \"Discharge letter\".")
		}
	}
	long("reason", f.Reason, 500)
	long("clinical", f.Clinical, 20000)
	if !slices.Contains(Urgencies, f.Urgency) {
		set("urgency", "Choose routine, urgent or emergency.")
	}
	if f.Kind == store.KindReferral && !slices.Contains(Validities, f.Validity) {
		set("validity", "Choose how long the referral is valid.")
	}
	return errs
}

// File is an attachment of a draft, opened.
type File struct {
	ID   string // draft attachment ID; "" before it is saved
	Name string // sanitised
	Type string // sniffed
	Data []byte
}

// Sniff names the media type of b from its first bytes: one of the four
// types a message can carry, or else what net/http detects, for the
// error message.
func Sniff(b []byte) (string, bool) {
	switch {
	case IsPDF(b):
		return TypePDF, true
	case bytes.HasPrefix(b, []byte("PK\x03\x04")):
		return TypeZIP, true
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return TypePNG, true
	case bytes.HasPrefix(b, []byte("\xff\xd8\xff")):
		return TypeJPEG, true
	}
	t, _, _ := strings.Cut(http.DetectContentType(b), ";")
	return t, false
}

var typeWords = map[string]string{
	"text/plain": "a text file", "text/html": "a web page", "application/octet-stream": "not a recognised document type",
	"image/gif": "a GIF image", "image/webp": "a WebP image", "image/bmp": "a BMP image", "text/xml": "an XML file",
}

// NewFile checks an uploaded file: its type from its bytes (the name and
// the browser's claimed type are not trusted) and its size. The error is
// a sentence naming the file.
func NewFile(name string, data []byte) (File, error) {
	name = SafeFileName(name)
	if len(data) == 0 {
		return File{}, fmt.Errorf("%q is empty.", name)
	}
	if len(data) > MaxAttachment {
		return File{}, fmt.Errorf("%q is %s; each file can be at most 5 MB.", name, sizeWords(len(data)))
	}
	t, ok := Sniff(data)
	if !ok {
		what, known := typeWords[t]
		if !known {
			what = "of type " + t
		}
		return File{}, fmt.Errorf("%q is %s. Attach a PDF, a CDA package (ZIP) or a PNG or JPEG image.", name, what)
	}
	return File{Name: name, Type: t, Data: data}, nil
}

func sizeWords(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d KB", (n+1023)>>10)
}

// SafeFileName keeps the base name of an uploaded file, without control
// or path characters and at most 100 characters; it is shown, never used
// as a path.
func SafeFileName(name string) string {
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || strings.ContainsRune(`/\:*?"<>|`, r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(name, ""))
	name = strings.TrimSpace(strings.Trim(name, "."))
	if r := []rune(name); len(r) > 100 {
		name = string(r[:100])
	}
	if name == "" {
		name = "attachment"
	}
	return name
}

// checkFiles checks the attachments against the kind: a report needs a
// PDF, a CDA package exactly one ZIP and nothing else, and only a CDA
// package may carry a ZIP.
func checkFiles(kind string, files []File, errs Errors) {
	total, zips, pdfs := 0, 0, 0
	for _, f := range files {
		total += len(f.Data)
		switch f.Type {
		case TypeZIP:
			zips++
		case TypePDF:
			pdfs++
		}
	}
	var msg string
	switch {
	case len(files) > MaxFiles:
		msg = fmt.Sprintf("Attach at most %d files.", MaxFiles)
	case total > MaxAttachments:
		msg = "The attachments together are " + sizeWords(total) + "; the limit is 10 MB. Remove some."
	case kind == store.KindReport && pdfs == 0:
		msg = "Attach the letter or report as a PDF."
	case kind == store.KindCDA && zips == 0:
		msg = "Attach the CDA package (a ZIP file)."
	case kind == store.KindCDA && len(files) > 1:
		msg = "A CDA package is sent on its own: remove the other files."
	case kind != store.KindCDA && zips > 0:
		msg = "A ZIP file can only be sent as a CDA package: choose \"CDA package\" or remove it."
	}
	if msg != "" {
		errs["attachment"] = msg
	}
}

// Check validates f and its files for sending from organisation orgID by
// author: the form's fields, the referrer, the recipient (in the
// directory, reachable by SMD, accepting this kind, not ourselves) and
// the attachments. It returns every problem, and the recipient and
// referrer when found.
func (s *Service) Check(ctx context.Context, orgID string, author InboxUser, f Form, files []File) (Errors, store.Listing, store.User, error) {
	errs := f.Validate(s.now())
	l, err := s.recipient(ctx, orgID, f, errs)
	if err != nil {
		return nil, l, store.User{}, err
	}
	ref, err := s.referrer(ctx, orgID, author, f, errs)
	if err != nil {
		return nil, l, ref, err
	}
	checkFiles(f.Kind, files, errs)
	return errs, l, ref, nil
}

func (s *Service) recipient(ctx context.Context, orgID string, f Form, errs Errors) (store.Listing, error) {
	id := strings.TrimSpace(f.ListingID)
	if id == "" {
		return store.Listing{}, nil
	}
	l, err := s.st.Listing(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		errs["listing"] = "That recipient is not in the directory. Search again and pick one."
		return l, nil
	}
	if err != nil {
		return l, err
	}
	org, err := s.st.Organisation(ctx, orgID)
	if err != nil {
		return l, err
	}
	switch accepts, err := s.Accepts(ctx, l); {
	case err != nil:
		return l, err
	case !l.Reachable():
		errs["listing"] = l.Name + " cannot receive secure messages: the directory has no SMD endpoint for them."
	case l.OrgURI == provider.OrgURI(org):
		errs["listing"] = "That is your own organisation."
	case slices.Contains(Kinds, f.Kind) && categoryFor(f.Kind, accepts) == "":
		errs["listing"] = l.Name + " does not accept " + kindWords[f.Kind] + " by secure message."
	}
	return l, nil
}

var kindWords = map[string]string{
	store.KindReferral: "referrals", store.KindReport: "letters or reports", store.KindCDA: "CDA packages",
}

// Accepts is what listing l takes: its payload types, or its directory
// entry's service categories when the listing names none.
func (s *Service) Accepts(ctx context.Context, l store.Listing) ([]string, error) {
	if len(l.PayloadTypes) > 0 || l.EntryID == nil {
		return l.PayloadTypes, nil
	}
	e, err := s.st.DirectoryEntry(ctx, *l.EntryID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return e.ServiceCategories, err
}

// categoryFor is the first category of kind that accepted holds.
func categoryFor(kind string, accepted []string) string {
	for _, c := range kindCategories[kind] {
		if slices.Contains(accepted, c) {
			return c
		}
	}
	return ""
}

// referrer is the clinician the message is sent for: the author, or the
// clinician named in OnBehalfOf. A referral needs a practitioner (HPI-I
// or Medicare provider number) to name in PRD RP.
func (s *Service) referrer(ctx context.Context, orgID string, author InboxUser, f Form, errs Errors) (store.User, error) {
	id := author.ID
	if f.OnBehalfOf != "" {
		id = f.OnBehalfOf
	}
	u, err := s.st.OrgUser(ctx, orgID, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !u.Active) {
		errs["referrer"] = "Choose a clinician of your organisation."
		return u, nil
	}
	if err != nil {
		return u, err
	}
	if f.Kind == store.KindReferral && u.HPII == "" && u.ProviderNumber == "" {
		if f.OnBehalfOf == "" {
			errs["referrer"] = "A referral is sent for a practitioner: choose the referring clinician."
		} else {
			errs["referrer"] = u.DisplayName + " has no HPI-I or provider number, so cannot refer."
		}
	}
	return u, nil
}

// AcceptsKind reports whether a recipient accepting categories accepted
// takes documents of kind.
func AcceptsKind(kind string, accepted []string) bool { return categoryFor(kind, accepted) != "" }
