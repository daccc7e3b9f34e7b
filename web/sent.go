package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/opensmd/portal/internal/mailbox"
	"github.com/opensmd/portal/internal/pipeline"
	"github.com/opensmd/portal/internal/store"
	"github.com/opensmd/portal/views/pages"
)

// sentFilters reads the sent list's filters from the query string.
func sentFilters(c echo.Context) (pages.SentListProps, mailbox.SentQuery) {
	q := c.QueryParams()
	p := pages.SentListProps{Patient: q.Get("patient"), Recipient: q.Get("recipient"), Status: q.Get("status")}
	keep := url.Values{}
	for _, k := range []string{"patient", "recipient", "status"} {
		if v := q.Get(k); v != "" {
			keep.Set(k, v)
		}
	}
	p.Query = keep.Encode()
	return p, mailbox.SentQuery{Status: p.Status, Patient: p.Patient, Recipient: p.Recipient}
}

func (h *Handler) sentRows(c echo.Context, q mailbox.SentQuery) ([]pages.SentRow, error) {
	entries, err := h.mail.Sent(c.Request().Context(), currentOrg(c).ID, q, inboxPage)
	if err != nil {
		return nil, err
	}
	rows := make([]pages.SentRow, len(entries))
	for i, e := range entries {
		rows[i] = pages.SentRow{ID: e.MessageID, Patient: patientName(e.Summary.Patient), Medicare: e.Summary.Patient.Medicare,
			To: orText(e.Summary.To, e.ReceiverOrgURI), Subject: orText(e.Summary.Subject, "(no subject)"), Kind: e.Kind,
			Urgency: e.Summary.Urgency, Progress: e.Progress, Overdue: e.Overdue, Failed: e.Status == store.StatusFailed,
			Changed: e.ChangedAt}
	}
	return rows, nil
}

func (h *Handler) listSent(c echo.Context) error {
	p, q := sentFilters(c)
	rows, err := h.sentRows(c, q)
	if err != nil {
		return err
	}
	p.OverdueRule = h.mail.OverdueRule()
	if p.Live, err = h.liveBody(c, "", "sent-rows", "/sent/rows", p.Query, pages.SentRows(rows)); err != nil {
		return err
	}
	return h.render(c, http.StatusOK, pages.Sent(p))
}

// listSentRows is the sent table body for the live refresh.
func (h *Handler) listSentRows(c echo.Context) error {
	p, q := sentFilters(c)
	rows, err := h.sentRows(c, q)
	if err != nil {
		return err
	}
	return h.pollRows(c, "sent-rows", "/sent/rows", p.Query, pages.SentRows(rows))
}

// timelineProps is the page form of a sent message's timeline.
func timelineProps(r mailbox.SentMessage) pages.TimelineProps {
	tl := r.Timeline
	p := pages.TimelineProps{ID: r.Doc.MessageID, Final: tl.Final, Overdue: tl.Overdue}
	for _, s := range tl.Steps {
		p.Steps = append(p.Steps, pages.TimelineStep{Key: s.Key, Label: s.Label, State: s.State, Detail: s.Detail,
			Answer: s.Answer, At: s.At})
	}
	if f := tl.Failure; f != nil {
		p.Failure = &pages.SentFailure{What: f.What, Todo: f.Todo, Retry: f.Retry, Another: anotherEndpoint(r.Summary)}
	}
	return p
}

// anotherEndpoint links to the recipient's directory listing (its other
// endpoints and listings are found from there), or to a directory search
// for them.
func anotherEndpoint(s mailbox.Summary) string {
	if s.ToListingID != "" {
		return "/directory/" + url.PathEscape(s.ToListingID)
	}
	name, _, _ := strings.Cut(s.To, ",")
	return "/directory?" + url.Values{"q": {strings.TrimSpace(name)}}.Encode()
}

// bannerProps is the patient banner of a summary (the banner is shared
// with the received viewer).
func (h *Handler) bannerProps(s mailbox.Summary) pages.MessageProps {
	p := pages.MessageProps{Patient: patientName(s.Patient), Sex: sexText(s.Patient.Sex), Medicare: s.Patient.Medicare,
		IHI: s.Patient.IHI}
	if dob, err := time.Parse("2006-01-02", s.Patient.DOB); err == nil {
		p.DOB, p.Age = dob.Format("2 Jan 2006"), age(dob, h.now())
	}
	return p
}

func (h *Handler) showSent(c echo.Context) error {
	r, err := h.mail.ViewSent(c.Request().Context(), currentOrg(c).ID, c.Param("id"), inboxUser(c))
	if err != nil {
		return err
	}
	s := r.Summary
	p := pages.SentProps{Banner: h.bannerProps(s), ID: r.Doc.MessageID, Subject: orText(s.Subject, "(no subject)"),
		To: orText(s.To, r.Msg.ReceiverOrgURI), ToURI: r.Msg.ReceiverOrgURI, Kind: r.Doc.Kind, Urgency: s.Urgency}
	if p.Live, err = h.liveTimeline(c, r, ""); err != nil {
		return err
	}
	for _, a := range s.Attachments {
		p.Attachments = append(p.Attachments, pages.SentAttachment{Name: a.Name, Type: a.Type, Size: a.Size})
	}
	return h.render(c, http.StatusOK, pages.SentMessage(p))
}

// showSentTimeline is the timeline fragment the viewer polls.
func (h *Handler) showSentTimeline(c echo.Context) error {
	r, err := h.mail.SentMessage(c.Request().Context(), currentOrg(c).ID, c.Param("id"))
	if err != nil {
		return err
	}
	live, err := h.liveTimeline(c, r, c.QueryParam("v"))
	if err != nil {
		return err
	}
	if live == nil {
		return c.NoContent(http.StatusNoContent)
	}
	return h.fragment(c, live)
}

// printSent is the print view of a sent message, to post or fax it.
func (h *Handler) printSent(c echo.Context) error {
	r, sm, err := h.mail.PrintedSent(c.Request().Context(), currentOrg(c).ID, c.Param("id"), inboxUser(c))
	if err != nil {
		return err
	}
	p, err := h.messageProps(c, r)
	if err != nil {
		return err
	}
	to := pages.Recipient{Name: orText(sm.Summary.To, r.Msg.ReceiverOrgURI)}
	if id := sm.Summary.ToListingID; id != "" {
		if l, err := h.store.Listing(c.Request().Context(), id); err == nil {
			to = pages.Recipient{Name: orText(l.Name, l.OrgName), OrgName: l.OrgName, Phone: l.Phone,
				Address: mailbox.JoinParts(", ", l.AddressLine, mailbox.JoinParts(" ", l.Suburb, l.State, l.Postcode))}
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return h.render(c, http.StatusOK, pages.SentPrint(p, to))
}

func (h *Handler) retrySent(c echo.Context) error {
	err := h.mail.Retry(c.Request().Context(), currentOrg(c).ID, c.Param("id"), inboxUser(c))
	kind, text := "success", "Sending again: watch its progress below."
	switch {
	case errors.Is(err, pipeline.ErrNotFailed):
		kind, text = "error", "Only a message that failed can be sent again; this one has not failed."
	case err != nil:
		return err
	}
	if err := h.flash(c, kind, text); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/sent/"+c.Param("id"))
}
