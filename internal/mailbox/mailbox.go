// Package mailbox is the clinical side of the portal: it turns what staff
// compose into HL7 v2 messages for the SMD pipeline, records what each
// sent and received message is (a referral, a report, an answer), and
// answers received messages (HL7 ACK, read acknowledgement, RRI^I12).
//
// Patient details are sealed at rest like payloads: the store holds
// Summary as sealed JSON, opened here for the pages that show it.
package mailbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/opensmd/portal/internal/pipeline"
	"github.com/opensmd/portal/internal/provider"
	"github.com/opensmd/portal/internal/secretbox"
	"github.com/opensmd/portal/internal/store"
)

// sealPurpose names the secretbox key for summaries, drafts and draft
// attachments.
const sealPurpose = "mailbox"

// Service categories (SMD serviceCategory; also FHIR Endpoint payload
// types) of what the portal sends and opens (SMD.md §3.1): the provider
// package's, named for the mailbox.
const (
	CategoryReferral         = provider.CategoryReferral
	CategoryReferralResponse = provider.CategoryReferralResponse
	CategoryReport           = provider.CategoryReport
	CategoryAck              = provider.CategoryACK
	CategoryReadAck          = provider.CategoryReadACK
	CategoryEReferralMDM     = provider.CategoryEReferralMDM
	CategorySpecialistLetter = provider.CategorySpecialistMDM
	CategoryDischargeSummary = provider.CategoryDischargeMDM
	CategoryHL7Ack2012       = "http://ns.electronichealth.net.au/ack/sc/deliver/hl7Ack/2012"
)

// Submitter queues an outbound SMD message within the caller's
// transaction (pipeline.Pipeline).
type Submitter interface {
	SubmitTx(ctx context.Context, tx *store.Store, o pipeline.Outbound) (store.Message, error)
	OpenPayload(m store.Message) ([]byte, error)
	RetryTx(ctx context.Context, tx *store.Store, orgID, id string) error
}

// Config is what the Service needs.
type Config struct {
	Store    *store.Store
	Pipeline Submitter
	Master   []byte
	Logger   *slog.Logger
	Now      func() time.Time
	// OverdueAfter is how long a sent message may stay undelivered after
	// it was queued before the sent list flags it (default 15 min).
	OverdueAfter time.Duration
}

// Service composes, records and answers clinical messages.
type Service struct {
	st    *store.Store
	pipe  Submitter
	box   *secretbox.Sealer
	log   *slog.Logger
	now   func() time.Time
	newID func() string // HL7 control ids; replaced in tests
	// overdueAfter is Config.OverdueAfter.
	overdueAfter time.Duration
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Pipeline == nil {
		return nil, errors.New("mailbox: Store and Pipeline are required")
	}
	box, err := secretbox.NewSealer(secretbox.DeriveKey(cfg.Master, sealPurpose))
	if err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.OverdueAfter <= 0 {
		cfg.OverdueAfter = 15 * time.Minute
	}
	return &Service{st: cfg.Store, pipe: cfg.Pipeline, box: box, log: cfg.Logger, now: cfg.Now, newID: newControlID,
		overdueAfter: cfg.OverdueAfter}, nil
}

// Summary is what lists and banners show about a message without opening
// its payload. It is stored sealed (documents.summary_enc).
type Summary struct {
	Patient     PatientSummary   `json:"patient"`
	Subject     string           `json:"subject,omitempty"` // e.g. "Referral: right knee pain"
	Urgency     string           `json:"urgency,omitempty"` // routine, urgent, emergency
	From        string           `json:"from,omitempty"`    // sender practitioner / organisation, as shown
	To          string           `json:"to,omitempty"`      // recipient practitioner / organisation, as shown
	ToListingID string           `json:"to_listing,omitempty"`
	Attachments []AttachmentInfo `json:"attachments,omitempty"`
	// ComposedAt is when the draft was started (the first timeline step).
	ComposedAt time.Time `json:"composed_at,omitzero"`
}

// PatientSummary identifies the patient in lists and the patient banner.
type PatientSummary struct {
	Family   string `json:"family,omitempty"`
	Given    string `json:"given,omitempty"`
	DOB      string `json:"dob,omitempty"` // YYYY-MM-DD
	Sex      string `json:"sex,omitempty"`
	Medicare string `json:"medicare,omitempty"`
	IHI      string `json:"ihi,omitempty"`
}

// AttachmentInfo describes one attached document.
type AttachmentInfo struct {
	Name string `json:"name"`
	Type string `json:"type"`
	Size int    `json:"size"`
}

func summaryAD(messageID string) []byte { return []byte("documents/" + messageID) }

// sealSummary seals s for the document of messageID.
func (s *Service) sealSummary(messageID string, sum Summary) ([]byte, error) {
	b, err := json.Marshal(sum)
	if err != nil {
		return nil, err
	}
	return s.box.Seal(b, summaryAD(messageID)), nil
}

// OpenSummary opens the sealed summary of document d; a document without
// one has an empty Summary.
func (s *Service) OpenSummary(d store.Document) (Summary, error) {
	var sum Summary
	if d.SummaryEnc == nil {
		return sum, nil
	}
	b, err := s.box.Open(d.SummaryEnc, summaryAD(d.MessageID))
	if err != nil {
		return sum, err
	}
	err = json.Unmarshal(b, &sum)
	return sum, err
}

// newControlID returns a fresh HL7 MSH-10 (at most 20 characters in HL7
// v2.4): a time prefix for humans and random hex for uniqueness.
func newControlID() string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return time.Now().UTC().Format("060102") + hex.EncodeToString(b[:])
}
