package mailbox

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/opensmd/portal/internal/store"
)

// Timeline step keys, in order. The sent viewer names its steps with them
// (data-testid "step-<key>").
const (
	StepComposed     = "composed"
	StepQueued       = "queued"
	StepSent         = "sent"
	StepDelivered    = "delivered"
	StepAcknowledged = "acknowledged"
	StepRead         = "read"
	StepAnswer       = "answer"
)

// Step states.
const (
	StateDone    = "done"
	StateCurrent = "current"
	StatePending = "pending"
	StateFailed  = "failed"
	StateSkipped = "skipped" // will not happen, or happened unreported
)

// Step is one step of a sent message's way to its receiver.
type Step struct {
	Key, Label, State string
	At                time.Time // when it happened; zero when it has not
	Detail            string    // plain English
	// Answer is the receiver's answer on the answer step: accepted,
	// declined or more_info.
	Answer string
}

// Timeline is what became of a sent message, step by step.
type Timeline struct {
	Steps []Step
	// Final is true when nothing more will happen without the sender
	// acting: watching it can stop.
	Final bool
	// Overdue says why the message needs chasing ("" when it does not).
	Overdue string
	Failure *Failure
}

// Failure is why a sent message did not get through, and what to do.
type Failure struct {
	What, Todo string
	// Retry is true when the message can be queued again (its sending
	// failed); otherwise the receiver's system refused it.
	Retry bool
}

// answerWindow is how long a referral may wait for an answer (accepted,
// declined or a question) before it is overdue, by urgency: a simple,
// explainable rule of thumb, not a clinical standard.
var answerWindow = map[string]time.Duration{"emergency": 4 * time.Hour, "urgent": 24 * time.Hour}

const routineAnswerWindow = 7 * 24 * time.Hour

var answerLabel = map[string]string{
	store.ClinicalAccepted: "Accepted", store.ClinicalDeclined: "Declined", store.ClinicalMoreInfo: "More information requested",
}

// overdue says why a sent message needs chasing: not delivered
// overdueAfter after it was queued (and no answer shows it arrived), or a
// referral unanswered beyond its urgency's answer window; "" otherwise.
func overdue(kind, urgency, status, clinical string, queuedAt, now time.Time, overdueAfter time.Duration) string {
	if status == store.StatusFailed || clinical == store.ClinicalRejected {
		return "" // failures stand out on their own
	}
	if (status == store.StatusQueued || status == store.StatusSent) && clinical == "" && now.Sub(queuedAt) > overdueAfter {
		return fmt.Sprintf("Not delivered %s after it was queued.", durationText(overdueAfter))
	}
	if kind != store.KindReferral || answerLabel[clinical] != "" {
		return ""
	}
	w, ok := answerWindow[urgency]
	if !ok {
		w = routineAnswerWindow
	}
	if now.Sub(queuedAt) > w {
		u := urgency
		if !ok {
			u = "routine"
		}
		return fmt.Sprintf("No answer %s after it was sent (the expected time for a%s %s referral).", durationText(w), an(u), u)
	}
	return ""
}

func an(word string) string {
	if strings.ContainsAny(word[:1], "aeiou") {
		return "n"
	}
	return ""
}

func durationText(d time.Duration) string {
	plural := func(n int, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return plural(int(d/(24*time.Hour)), "day")
	case d >= time.Hour && d%time.Hour == 0:
		return plural(int(d/time.Hour), "hour")
	}
	return plural(int(d.Round(time.Minute)/time.Minute), "minute")
}

// progress is the sent list's one-line status of a message.
func progress(status, clinical string) string {
	if status == store.StatusFailed {
		return "Failed"
	}
	if l := answerLabel[clinical]; l != "" {
		return l
	}
	switch clinical {
	case store.ClinicalRead:
		return "Read"
	case store.ClinicalAcknowledged:
		return "Acknowledged"
	case store.ClinicalRejected:
		return "Rejected by the receiver's system"
	}
	switch status {
	case store.StatusDelivered:
		return "Delivered"
	case store.StatusSent:
		return "Sent, awaiting delivery"
	}
	return "Queued"
}

// failureAdvice is what to do about a failed sending, by the pipeline's
// failure detail (internal/pipeline outbound.go and trd.go).
func failureAdvice(detail string) string {
	const fallback = " Or print it and send it by post or fax."
	has := func(s ...string) bool {
		for _, x := range s {
			if strings.Contains(detail, x) {
				return true
			}
		}
		return false
	}
	switch {
	case has("directory has no entry", "cannot receive this type", "encryption certificate"):
		return "The directory has no usable secure-messaging address for this recipient. Choose another endpoint for them (another listing of the practitioner or practice)." + fallback
	case has("expired"):
		return "The receiver's system could not be reached before the message expired; it may be down. Retry later, or choose another endpoint." + fallback
	case has("Refused by the receiver's provider"):
		return "The receiver's provider refused the message. Check the recipient, choose another endpoint if they have one, or retry if the problem was temporary." + fallback
	case has("could not accept it"):
		return "The receiver's provider took the message but could not pass it on to the recipient. Retry, or choose another endpoint." + fallback
	case has("signing certificate", "SMD identity", "Sealing failed", "stored payload"):
		return "Your organisation's secure-messaging set-up has a problem: ask an administrator to check the certificates, then retry." + fallback
	case has("Delivery failed"):
		return "A secure connection to the receiver's provider could not be made (their certificate may have changed). Retry later, or choose another endpoint." + fallback
	}
	return "Retry, or choose another endpoint." + fallback
}

// buildTimeline lays out the steps of sent message m (document d, summary
// sum) from its events. Transport steps count from the latest retry;
// clinical answers (from the receiver's HL7) count whenever they came.
func buildTimeline(m store.Message, d store.Document, sum Summary, events []store.MessageEvent, now time.Time, overdueAfter time.Duration) Timeline {
	transport, queuedAt, queuedDetail := sinceRetry(m, events)
	composedAt := sum.ComposedAt
	if composedAt.IsZero() {
		composedAt = d.CreatedAt
	}
	steps := []Step{
		{Key: StepComposed, Label: "Composed", State: StateDone, At: composedAt},
		{Key: StepQueued, Label: "Queued", State: StateDone, At: queuedAt, Detail: queuedDetail},
		{Key: StepSent, Label: "Sent", Detail: "Accepted by the receiver's secure-messaging provider."},
		{Key: StepDelivered, Label: "Delivered", Detail: "The receiver's provider confirmed delivery."},
		{Key: StepAcknowledged, Label: "Acknowledged", Detail: "The receiver's clinical system filed it (HL7 acknowledgement)."},
		{Key: StepRead, Label: "Read", Detail: "Opened at the receiver."},
		{Key: StepAnswer, Label: "Accepted or declined", Detail: "The receiver's answer to the referral."},
	}
	sent, failed := firstEvent(transport, store.StatusSent), firstEvent(transport, store.StatusFailed)
	ack := firstEvent(events, store.ClinicalAcknowledged, store.ClinicalRejected)
	for i, e := range map[int]*store.MessageEvent{2: sent, 3: firstEvent(transport, store.StatusDelivered), 4: ack,
		5: firstEvent(events, store.ClinicalRead)} {
		if e != nil {
			steps[i].State, steps[i].At = StateDone, e.At
		}
	}
	var t Timeline
	if ack != nil && ack.Status == store.ClinicalRejected {
		steps[4].Label, steps[4].State, steps[4].Detail = "Rejected", StateFailed, ack.Detail
		t.Failure = &Failure{What: ack.Detail, Todo: "The receiver's clinical system could not file it. Phone the receiver to sort it out, or print it and send it by post or fax."}
	}
	if l := answerLabel[d.ClinicalStatus]; l != "" && d.ClinicalAt != nil {
		steps[6].Label, steps[6].State, steps[6].At, steps[6].Detail, steps[6].Answer = l, StateDone, *d.ClinicalAt, d.ClinicalDetail, d.ClinicalStatus
	}
	if d.Kind != store.KindReferral {
		steps[6].State, steps[6].Detail = StateSkipped, "Only referrals are accepted or declined."
	}
	if failed != nil && m.Status == store.StatusFailed {
		i := 2 // failed before its provider took it, or after
		if sent != nil {
			i = 3
		}
		steps[i].State, steps[i].At, steps[i].Detail = StateFailed, failed.At, failed.Detail
		t.Failure = &Failure{What: failed.Detail, Todo: failureAdvice(failed.Detail), Retry: true}
	}
	fillStates(steps, t.Failure != nil)
	t.Final = t.Failure != nil || d.ClinicalStatus == store.ClinicalAccepted || d.ClinicalStatus == store.ClinicalDeclined ||
		(d.Kind != store.KindReferral && steps[5].State == StateDone)
	if !t.Final {
		markCurrent(steps, transport)
	}
	t.Steps = steps
	t.Overdue = overdue(d.Kind, sum.Urgency, m.Status, d.ClinicalStatus, queuedAt, now, overdueAfter)
	return t
}

// sinceRetry returns the events of the latest sending (after the last
// retry, or all), when it was queued and how.
func sinceRetry(m store.Message, events []store.MessageEvent) ([]store.MessageEvent, time.Time, string) {
	for i := len(events) - 1; i >= 0; i-- {
		if events[i].Status == store.StatusRetry {
			return events[i+1:], events[i].At, "Queued again after a retry."
		}
	}
	if e := firstEvent(events, store.StatusQueued); e != nil {
		return events, e.At, "Waiting to be sent."
	}
	return events, m.CreatedAt, "Waiting to be sent."
}

// fillStates gives the steps without a state one: skipped when a later
// step was reported (it happened unreported, or was not needed) or after
// a failure (it will not happen), pending otherwise.
func fillStates(steps []Step, failed bool) {
	last := -1
	for i, s := range steps {
		if s.State == StateDone || s.State == StateFailed {
			last = i
		}
	}
	for i := range steps {
		switch {
		case steps[i].State != "":
		case i < last:
			steps[i].State, steps[i].Detail = StateSkipped, "Not reported by the receiver."
		case failed:
			steps[i].State, steps[i].Detail = StateSkipped, ""
		default:
			steps[i].State = StatePending
		}
	}
}

// markCurrent makes the first pending step the current one, saying what
// it waits for (and, while sending, the last failed attempt).
func markCurrent(steps []Step, transport []store.MessageEvent) {
	for i := range steps {
		if steps[i].State != StatePending {
			continue
		}
		steps[i].State, steps[i].Detail = StateCurrent, waiting[steps[i].Key]
		if e := lastEvent(transport, store.StatusQueued); steps[i].Key == StepSent && e != nil &&
			strings.HasPrefix(e.Detail, "Delivery attempt") {
			steps[i].Detail += " " + e.Detail
		}
		return
	}
}

func firstEvent(evs []store.MessageEvent, status ...string) *store.MessageEvent {
	for i := range evs {
		if slices.Contains(status, evs[i].Status) {
			return &evs[i]
		}
	}
	return nil
}

func lastEvent(evs []store.MessageEvent, status string) *store.MessageEvent {
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Status == status {
			return &evs[i]
		}
	}
	return nil
}

var waiting = map[string]string{
	StepSent:         "Sending to the receiver's secure-messaging provider.",
	StepDelivered:    "Waiting for the receiver's provider to confirm delivery.",
	StepAcknowledged: "Waiting for the receiver's clinical system to acknowledge it.",
	StepRead:         "Waiting for someone at the receiver to open it.",
	StepAnswer:       "Waiting for the receiver to accept or decline the referral.",
}
