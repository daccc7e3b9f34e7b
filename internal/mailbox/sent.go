package mailbox

import (
	"context"
	"fmt"
	"slices"

	"github.com/opensmd/portal/internal/store"
)

// SentOverdue is the sent list's status filter for overdue messages (see
// Timeline.Overdue).
const SentOverdue = "overdue"

// SentQuery filters the sent list. Patient and Recipient are matched after
// opening the summaries of the latest InboxScan documents that pass the
// SQL filter.
type SentQuery struct {
	// Status is a transport status, a clinical status or SentOverdue.
	Status    string
	Patient   string // part of the name, or the Medicare number
	Recipient string // part of the recipient's name or address
}

// SentEntry is one line of the sent list.
type SentEntry struct {
	store.SentItem
	Summary  Summary
	Progress string // the step it has reached, in words
	Overdue  string // why it needs chasing; "" when it does not
}

// Sent lists organisation orgID's sent documents matching q, newest first,
// at most limit.
func (s *Service) Sent(ctx context.Context, orgID string, q SentQuery, limit int) ([]SentEntry, error) {
	f := store.SentFilter{Status: q.Status}
	if q.Status == SentOverdue {
		f.Status = ""
	}
	items, err := s.st.Sent(ctx, orgID, f, InboxScan)
	if err != nil {
		return nil, err
	}
	match := newTextMatch(q.Patient, q.Recipient)
	now := s.now()
	out := []SentEntry{}
	for _, it := range items {
		sum, err := s.OpenSummary(it.Document)
		if err != nil {
			return nil, err
		}
		if !match.matches(sum.Patient, sum.To+" "+it.ReceiverOrgURI) {
			continue
		}
		e := SentEntry{SentItem: it, Summary: sum, Progress: progress(it.Status, it.ClinicalStatus),
			Overdue: overdue(it.Kind, sum.Urgency, it.Status, it.ClinicalStatus, it.QueuedAt, now, s.overdueAfter)}
		if q.Status == SentOverdue && e.Overdue == "" {
			continue
		}
		out = append(out, e)
		if len(out) == limit {
			break
		}
	}
	return out, nil
}

// SentMessage is a sent document opened for its page.
type SentMessage struct {
	Doc      store.Document
	Msg      store.Message
	Summary  Summary
	Timeline Timeline
}

// sentKinds are the kinds the sent pages show (store.Sent's).
var sentKinds = []string{store.KindReferral, store.KindReport, store.KindCDA, store.KindOther}

// SentMessage loads organisation orgID's sent document id with its
// timeline. Another organisation's, or a received one, is not found.
func (s *Service) SentMessage(ctx context.Context, orgID, id string) (SentMessage, error) {
	var r SentMessage
	d, err := s.st.Document(ctx, orgID, id)
	if err != nil {
		return r, err
	}
	m, err := s.st.OrgMessage(ctx, orgID, id)
	if err != nil {
		return r, err
	}
	if m.Direction != store.Outbound || !slices.Contains(sentKinds, d.Kind) {
		return r, store.ErrNotFound
	}
	m.PayloadEnc, m.Sealed = nil, nil // the sent pages show the summary only
	r.Doc, r.Msg = d, m
	if r.Summary, err = s.OpenSummary(d); err != nil {
		return r, err
	}
	events, err := s.st.MessageEvents(ctx, orgID, id)
	if err != nil {
		return r, err
	}
	r.Timeline = buildTimeline(m, d, r.Summary, events, s.now(), s.overdueAfter)
	return r, nil
}

// Timeline is the timeline of organisation orgID's sent document id.
func (s *Service) Timeline(ctx context.Context, orgID, id string) (Timeline, error) {
	r, err := s.SentMessage(ctx, orgID, id)
	return r.Timeline, err
}

// Retry queues organisation orgID's failed sent message id again
// (pipeline RetryTx), audited as message.retried in the same
// transaction. A message that has not failed is refused with
// pipeline.ErrNotFailed.
func (s *Service) Retry(ctx context.Context, orgID, id string, u InboxUser) error {
	if _, err := s.SentMessage(ctx, orgID, id); err != nil {
		return err
	}
	return s.st.WithTx(ctx, func(tx *store.Store) error {
		if err := s.pipe.RetryTx(ctx, tx, orgID, id); err != nil {
			return err
		}
		return s.audit(ctx, tx, orgID, u, "message.retried", id, nil)
	})
}

// PrintedSent loads sent document id for its print view (to post or fax
// it): the sent message opened like a received one, and its timeline. The
// printing is audited.
func (s *Service) PrintedSent(ctx context.Context, orgID, id string, u InboxUser) (Received, SentMessage, error) {
	sm, err := s.SentMessage(ctx, orgID, id)
	if err != nil {
		return Received{}, sm, err
	}
	m, err := s.st.OrgMessage(ctx, orgID, id)
	if err != nil {
		return Received{}, sm, err
	}
	r, err := s.opened(sm.Doc, m)
	if err != nil {
		return r, sm, err
	}
	err = s.st.WithTx(ctx, func(tx *store.Store) error {
		return s.audit(ctx, tx, orgID, u, "message.printed", id, nil)
	})
	return r, sm, err
}

// ViewSent is SentMessage for a user opening its page: the viewing is
// audited (the timeline's polls are not: they show no more than the page).
func (s *Service) ViewSent(ctx context.Context, orgID, id string, u InboxUser) (SentMessage, error) {
	sm, err := s.SentMessage(ctx, orgID, id)
	if err != nil {
		return sm, err
	}
	err = s.st.WithTx(ctx, func(tx *store.Store) error {
		return s.audit(ctx, tx, orgID, u, "message.viewed", id, map[string]string{"view": "sent"})
	})
	return sm, err
}

// OverdueRule says in words when a sent message counts as overdue.
func (s *Service) OverdueRule() string {
	return fmt.Sprintf("Overdue: not delivered %s after it was queued, or a referral not answered in time (%s if an emergency, %s if urgent, otherwise %s).",
		durationText(s.overdueAfter), durationText(answerWindow["emergency"]), durationText(answerWindow["urgent"]),
		durationText(routineAnswerWindow))
}

// SentAttention counts organisation orgID's latest InboxScan sent
// documents that failed and those overdue (the dashboard's reminder).
func (s *Service) SentAttention(ctx context.Context, orgID string) (failed, overdue int, err error) {
	entries, err := s.Sent(ctx, orgID, SentQuery{}, InboxScan)
	for _, e := range entries {
		switch {
		case e.Status == store.StatusFailed:
			failed++
		case e.Overdue != "":
			overdue++
		}
	}
	return failed, overdue, err
}
