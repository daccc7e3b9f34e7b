package web

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/opensmd/portal/internal/hl7"
	"github.com/opensmd/portal/internal/mailbox"
	"github.com/opensmd/portal/internal/pipeline"
	"github.com/opensmd/portal/internal/store"
	"github.com/opensmd/portal/views/pages"
)

// inboxPage is how many rows the inbox shows.
const inboxPage = 200

// unread is the nav badge count; a failure only hides the badge.
func (h *Handler) unread(c echo.Context) int {
	if h.mail == nil {
		return 0
	}
	n, err := h.mail.Unread(c.Request().Context(), currentOrg(c).ID)
	if err != nil {
		h.log.WarnContext(c.Request().Context(), "Could not count unread messages", "error", err)
		return 0
	}
	return n
}

func inboxUser(c echo.Context) mailbox.InboxUser {
	u, _ := currentUser(c)
	return mailbox.InboxUser{ID: u.ID, HPII: u.HPII, IP: c.RealIP()}
}

var (
	inboxKinds    = []string{store.KindReferral, store.KindReport, store.KindCDA, store.KindOther}
	inboxStatuses = []string{store.InboxUnread, store.InboxRead, store.InboxUnmatched, store.InboxReplyFailed,
		store.ClinicalAccepted, store.ClinicalDeclined, store.ClinicalMoreInfo}
)

// inboxFilters reads the filters from the query string: the page props
// (values as typed, errors) and the query for the mailbox.
func inboxFilters(c echo.Context) (pages.InboxProps, mailbox.InboxQuery) {
	q := c.QueryParams()
	p := pages.InboxProps{Patient: q.Get("patient"), Sender: q.Get("sender"), Kind: q.Get("kind"), Status: q.Get("status"),
		Assigned: q.Get("assigned"), Since: q.Get("since"), Before: q.Get("before"), Archived: q.Get("archived") == "1",
		Errors: map[string]string{}}
	mq := mailbox.InboxQuery{Patient: p.Patient, Sender: p.Sender}
	mq.Archived = p.Archived
	if slices.Contains(inboxKinds, p.Kind) {
		mq.Kind = p.Kind
	}
	if slices.Contains(inboxStatuses, p.Status) {
		mq.Status = p.Status
	}
	if p.Assigned == "me" {
		u, _ := currentUser(c)
		mq.AssignedTo = u.ID
	}
	mq.Since, mq.Before = parseDays(p.Since, "since", p.Before, "before", p.Errors)
	keep := url.Values{}
	for _, k := range []string{"patient", "sender", "kind", "status", "assigned", "since", "before", "archived"} {
		if v := q.Get(k); v != "" {
			keep.Set(k, v)
		}
	}
	p.Query = keep.Encode()
	return p, mq
}

// parseDate reads a YYYY-MM-DD filter in the server's time zone.
func parseDate(s, field string, errs map[string]string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	d, err := time.ParseInLocation(time.DateOnly, s, time.Local)
	if err != nil {
		errs[field] = "Enter a date like 2026-11-24."
		return time.Time{}, false
	}
	return d, true
}

// parseDays reads a from–to filter of whole days (YYYY-MM-DD, server
// time), the "to" day included: since is its first moment and before the
// moment after it. Errors go under the fields' names; a range that ends
// before it starts is refused on the "to" field.
func parseDays(from, fromField, to, toField string, errs map[string]string) (since, before time.Time) {
	since, _ = parseDate(from, fromField, errs)
	if d, ok := parseDate(to, toField, errs); ok {
		before = d.AddDate(0, 0, 1)
	}
	if !since.IsZero() && !before.IsZero() && !before.After(since) {
		errs[toField] = "The end date is before the start date."
		before = time.Time{}
	}
	return since, before
}

func (h *Handler) inboxRows(c echo.Context, q mailbox.InboxQuery) ([]pages.InboxRow, error) {
	ctx := c.Request().Context()
	org := currentOrg(c)
	entries, err := h.mail.Inbox(ctx, org.ID, q, inboxPage)
	if err != nil {
		return nil, err
	}
	names, err := h.userNames(c)
	if err != nil {
		return nil, err
	}
	rows := make([]pages.InboxRow, len(entries))
	for i, e := range entries {
		rows[i] = pages.InboxRow{ID: e.MessageID, Patient: patientName(e.Summary.Patient), Medicare: e.Summary.Patient.Medicare,
			From: e.Summary.From, Subject: orText(e.Summary.Subject, "(no subject)"), Kind: e.Kind, Urgency: e.Summary.Urgency,
			Status: inboxStatus(e.Document), Received: e.ReceivedAt, Unread: e.ReadAt == nil,
			Unmatched: e.Answers == nil && !slices.Contains(inboxKinds, e.Kind), Attachments: len(e.Summary.Attachments)}
		if e.AssignedUserID != nil {
			rows[i].Assigned = names[*e.AssignedUserID]
		}
	}
	return rows, nil
}

func (h *Handler) userNames(c echo.Context) (map[string]string, error) {
	users, err := h.store.OrgUsers(c.Request().Context(), currentOrg(c).ID)
	if err != nil {
		return nil, err
	}
	names := make(map[string]string, len(users))
	for _, u := range users {
		names[u.ID] = u.DisplayName
	}
	return names, nil
}

func (h *Handler) listInbox(c echo.Context) error {
	p, q := inboxFilters(c)
	rows, err := h.inboxRows(c, q)
	if err != nil {
		return err
	}
	if p.Live, err = h.liveBody(c, "", "inbox-rows", "/inbox/rows", p.Query, pages.InboxRows(rows)); err != nil {
		return err
	}
	return h.render(c, http.StatusOK, pages.Inbox(p))
}

// listInboxRows is the inbox table body for the live refresh, with the
// same filters as the page.
func (h *Handler) listInboxRows(c echo.Context) error {
	p, q := inboxFilters(c)
	rows, err := h.inboxRows(c, q)
	if err != nil {
		return err
	}
	return h.pollRows(c, "inbox-rows", "/inbox/rows", p.Query, pages.InboxRows(rows))
}

func patientName(p mailbox.PatientSummary) string {
	switch {
	case p.Family != "" && p.Given != "":
		return strings.ToUpper(p.Family) + ", " + p.Given
	case p.Family != "" || p.Given != "":
		return strings.TrimSpace(strings.ToUpper(p.Family) + " " + p.Given)
	}
	return "Patient not named"
}

var clinicalLabel = map[string]string{
	store.ClinicalAccepted: "Accepted", store.ClinicalDeclined: "Declined", store.ClinicalMoreInfo: "More information requested",
}

func inboxStatus(d store.Document) string {
	if l, ok := clinicalLabel[d.ClinicalStatus]; ok {
		return l
	}
	if d.Answers == nil && !slices.Contains(inboxKinds, d.Kind) {
		return "Unmatched answer"
	}
	if d.ReadAt == nil {
		return "Unread"
	}
	return "Read"
}

func orText(s, alt string) string {
	if strings.TrimSpace(s) == "" {
		return alt
	}
	return s
}

func (h *Handler) showInboxMessage(c echo.Context) error {
	r, err := h.mail.Open(c.Request().Context(), currentOrg(c).ID, c.Param("id"), inboxUser(c))
	if err != nil {
		return err
	}
	p, err := h.messageProps(c, r)
	if err != nil {
		return err
	}
	p.View, _ = strconv.Atoi(c.QueryParam("view"))
	if p.Picker, err = h.recipientPicker(c, c.QueryParam("recipient_q"), "", ""); err != nil {
		return err
	}
	return h.render(c, http.StatusOK, pages.Message(p))
}

func (h *Handler) messageProps(c echo.Context, r mailbox.Received) (pages.MessageProps, error) {
	names, err := h.userNames(c)
	if err != nil {
		return pages.MessageProps{}, err
	}
	s, d := r.Summary, r.Doc
	p := h.bannerProps(s)
	p.ID, p.From, p.Subject = d.MessageID, orText(s.From, r.Msg.SenderOrgURI), orText(s.Subject, "(no subject)")
	p.Kind, p.Urgency, p.Received, p.Text = d.Kind, s.Urgency, when(r.Msg.CreatedAt), r.Text
	p.AttachmentProblem, p.NotHL7, p.PayloadType = r.AttachmentProblem, r.HL7 == nil, r.Msg.PayloadType
	p.ClinicalStatus, p.ClinicalDetail, p.Archived = d.ClinicalStatus, d.ClinicalDetail, d.ArchivedAt != nil
	p.AnswerCode, p.AnswerControlID, p.AnswerText = r.AnswerCode, r.AnswerControlID, r.AnswerText
	p.CanRespond = d.Kind == store.KindReferral && r.HL7 != nil && (d.ClinicalStatus == "" || d.ClinicalStatus == store.ClinicalMoreInfo)
	p.CanReply = r.HL7 != nil && (d.Kind == store.KindReferral || d.Kind == store.KindReport || d.Kind == store.KindCDA)
	p.CanForward = d.Kind != store.KindAck && d.Kind != store.KindReadAck && d.Kind != store.KindReferralResponse
	p.Errors = map[string]string{}
	if d.ClinicalAt != nil {
		p.ClinicalAt = when(*d.ClinicalAt)
	}
	if d.ReadAt != nil {
		p.ReadBy = when(*d.ReadAt)
		if d.ReadBy != nil && names[*d.ReadBy] != "" {
			p.ReadBy += " by " + names[*d.ReadBy]
		}
	}
	if d.AssignedUserID != nil {
		p.AssignedTo, p.AssignedID = names[*d.AssignedUserID], *d.AssignedUserID
	}
	if r.IsReferral {
		p.Referrer, p.ReferredTo = providerText(r.Referrer), providerText(r.ReferredTo)
		p.Reason, p.ReferralID = r.Referral.Reason, r.Referral.ReferralID
		if p.Urgency == "" {
			p.Urgency = r.Referral.Priority
		}
		p.Validity = validity(r.Referral.Effective, r.Referral.Expiry)
	}
	if d.Kind == store.KindReport {
		p.Service = r.Service
		if !r.Observed.IsZero() {
			p.Observed = when(r.Observed)
		}
	}
	for i, a := range r.Attachments {
		p.Attachments = append(p.Attachments, pages.Attachment{N: i + 1, Name: mailbox.AttachmentName(i, a.MediaType),
			Type: a.MediaType, Size: len(a.Data), PDF: a.MediaType == "application/pdf"})
	}
	replies, err := h.mail.Replies(c.Request().Context(), currentOrg(c).ID, d.MessageID)
	if err != nil {
		return p, err
	}
	for _, r := range replies {
		v := pages.ReplyView{ID: r.ID, Kind: r.Kind, Status: r.Status, At: when(r.At)}
		if r.Failure != nil {
			v.What, v.Todo = r.Failure.What, r.Failure.Todo
		}
		p.Replies = append(p.Replies, v)
	}
	users, err := h.store.OrgUsers(c.Request().Context(), currentOrg(c).ID)
	if err != nil {
		return p, err
	}
	for _, u := range users {
		if u.Active {
			p.Users = append(p.Users, pages.Option{Value: u.ID, Label: u.DisplayName})
		}
	}
	return p, nil
}

func when(t time.Time) string { return t.Local().Format("2 Jan 2006 15:04") }

func providerText(p hl7.Provider) string {
	s := p.Name()
	if p.ProviderNumber != "" {
		s += " (provider number " + p.ProviderNumber + ")"
	}
	return strings.TrimSpace(s)
}

func validity(from, to time.Time) string {
	switch {
	case !from.IsZero() && !to.IsZero():
		return from.Format("2 Jan 2006") + " to " + to.Format("2 Jan 2006")
	case !to.IsZero():
		return "until " + to.Format("2 Jan 2006")
	case !from.IsZero():
		return "from " + from.Format("2 Jan 2006")
	}
	return ""
}

func sexText(s string) string {
	switch strings.ToUpper(s) {
	case "F":
		return "Female"
	case "M":
		return "Male"
	case "":
		return ""
	case "U":
		return "Unknown"
	}
	return "Other"
}

// age in whole years (months under two).
func age(dob, now time.Time) string {
	y := now.Year() - dob.Year()
	if now.YearDay() < dob.YearDay() {
		y--
	}
	if y >= 2 {
		return fmt.Sprintf("%d years", y)
	}
	m := (now.Year()-dob.Year())*12 + int(now.Month()) - int(dob.Month())
	if now.Day() < dob.Day() {
		m--
	}
	return fmt.Sprintf("%d months", max(m, 0))
}

// showAttachment serves attachment :n of a received message: a PDF may be
// viewed inline (sandboxed, in the viewer's iframe); anything else, and
// any download, is an attachment with a generated, safe filename.
func (h *Handler) showAttachment(c echo.Context) error {
	n, err := strconv.Atoi(c.Param("n"))
	if err != nil {
		return store.ErrNotFound
	}
	inline := c.QueryParam("inline") == "1"
	a, name, err := h.mail.Attachment(c.Request().Context(), currentOrg(c).ID, c.Param("id"), n, inline, inboxUser(c))
	if err != nil {
		return err
	}
	hd := c.Response().Header()
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "no-store")
	if inline && a.MediaType == "application/pdf" {
		hd.Set("Content-Disposition", `inline; filename="`+name+`"`)
		// Framed by our own viewer only, with no script or plugin rights.
		hd.Set("Content-Security-Policy", "sandbox; default-src 'none'; frame-ancestors 'self'")
		hd.Set("X-Frame-Options", "SAMEORIGIN")
		return c.Blob(http.StatusOK, "application/pdf", a.Data)
	}
	hd.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	hd.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	return c.Blob(http.StatusOK, "application/octet-stream", a.Data)
}

func (h *Handler) showSource(c echo.Context) error {
	r, err := h.mail.Source(c.Request().Context(), currentOrg(c).ID, c.Param("id"), inboxUser(c))
	if err != nil {
		return err
	}
	text := strings.ToValidUTF8(string(r.Payload), "\uFFFD")
	lines := strings.FieldsFunc(text, func(r rune) bool { return r == '\r' || r == '\n' })
	return h.render(c, http.StatusOK, pages.MessageSource(pages.SourceProps{ID: r.Doc.MessageID,
		Subject: orText(r.Summary.Subject, "message"), Lines: lines}))
}

func (h *Handler) printMessage(c echo.Context) error {
	r, err := h.mail.Printed(c.Request().Context(), currentOrg(c).ID, c.Param("id"), inboxUser(c))
	if err != nil {
		return err
	}
	p, err := h.messageProps(c, r)
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, pages.MessagePrint(p))
}

// refuseAction shows the message again with the refused form, what was
// typed and the field's error (422).
func (h *Handler) refuseAction(c echo.Context, form string, fe *mailbox.FieldError, fill func(*pages.MessageProps)) error {
	r, err := h.mail.Received(c.Request().Context(), currentOrg(c).ID, c.Param("id"))
	if err != nil {
		return err
	}
	p, err := h.messageProps(c, r)
	if err != nil {
		return err
	}
	p.Form, p.Errors = form, map[string]string{fe.Field: fe.Message}
	fill(&p)
	if p.Picker, err = h.recipientPicker(c, "", "", p.Listing); err != nil {
		return err
	}
	return h.render(c, http.StatusUnprocessableEntity, pages.Message(p))
}

func (h *Handler) toMessage(c echo.Context, kind, text string) error {
	if err := h.flash(c, kind, text); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/inbox/"+c.Param("id"))
}

var respondDone = map[string]string{
	store.ClinicalAccepted: "Referral accepted: the referrer is being told.",
	store.ClinicalDeclined: "Referral declined: the referrer is being told, with your reason.",
	store.ClinicalMoreInfo: "Your request for more information is on its way to the referrer.",
}

func (h *Handler) respondMessage(c echo.Context) error {
	status := c.FormValue("status")
	reason := c.FormValue("reason")
	if status == store.ClinicalMoreInfo {
		reason = c.FormValue("question")
	}
	err := h.mail.Respond(c.Request().Context(), currentOrg(c).ID, c.Param("id"), inboxUser(c), status, reason)
	var fe *mailbox.FieldError
	switch {
	case errors.As(err, &fe):
		return h.refuseAction(c, status, fe, func(p *pages.MessageProps) {
			p.DeclineReason, p.Question = c.FormValue("reason"), c.FormValue("question")
		})
	case errors.Is(err, mailbox.ErrAlreadyAnswered):
		return h.toMessage(c, "error", "This referral has already been answered; it can be answered again only after asking for more information.")
	case err != nil:
		return err
	}
	return h.toMessage(c, "success", respondDone[status])
}

func (h *Handler) replyMessage(c echo.Context) error {
	text := c.FormValue("reply_text")
	var pdf []byte
	if fh, err := c.FormFile("document"); err == nil && fh.Size > 0 {
		f, err := fh.Open()
		if err != nil {
			return err
		}
		defer f.Close()
		if pdf, err = io.ReadAll(io.LimitReader(f, mailbox.MaxReplyPDF+1)); err != nil {
			return err
		}
	} else if err != nil && !errors.Is(err, http.ErrMissingFile) && !errors.Is(err, http.ErrNotMultipart) {
		return echo.NewHTTPError(http.StatusBadRequest)
	}
	_, err := h.mail.Reply(c.Request().Context(), currentOrg(c).ID, c.Param("id"), inboxUser(c), text, pdf)
	var fe *mailbox.FieldError
	if errors.As(err, &fe) {
		return h.refuseAction(c, "reply", fe, func(p *pages.MessageProps) { p.ReplyText = text })
	}
	if err != nil {
		return err
	}
	return h.toMessage(c, "success", "Your reply is on its way to the sender.")
}

func (h *Handler) forwardMessage(c echo.Context) error {
	listing := c.FormValue("listing")
	_, err := h.mail.Forward(c.Request().Context(), currentOrg(c).ID, c.Param("id"), inboxUser(c), listing)
	var fe *mailbox.FieldError
	if errors.As(err, &fe) {
		return h.refuseAction(c, "forward", fe, func(p *pages.MessageProps) { p.Listing = listing })
	}
	if err != nil {
		return err
	}
	return h.toMessage(c, "success", "The message is being forwarded.")
}

func (h *Handler) assignMessage(c echo.Context) error {
	err := h.mail.Assign(c.Request().Context(), currentOrg(c).ID, c.Param("id"), inboxUser(c), c.FormValue("assignee"))
	var fe *mailbox.FieldError
	if errors.As(err, &fe) {
		return h.refuseAction(c, "assign", fe, func(*pages.MessageProps) {})
	}
	if err != nil {
		return err
	}
	return h.toMessage(c, "success", "Assignment saved.")
}

func (h *Handler) archiveMessage(c echo.Context) error {
	archived := c.FormValue("archived") != "0"
	if err := h.mail.Archive(c.Request().Context(), currentOrg(c).ID, c.Param("id"), inboxUser(c), archived); err != nil {
		return err
	}
	if !archived {
		return h.toMessage(c, "success", "Moved back to the inbox.")
	}
	if err := h.flash(c, "success", "Archived. Find it again under Archive."); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/inbox")
}

func (h *Handler) retryReply(c echo.Context) error {
	err := h.mail.RetryReply(c.Request().Context(), currentOrg(c).ID, c.Param("id"), c.Param("rid"), inboxUser(c))
	switch {
	case errors.Is(err, pipeline.ErrNotFailed):
		return h.toMessage(c, "error", "Only a reply that failed can be sent again; this one has not failed.")
	case err != nil:
		return err
	}
	return h.toMessage(c, "success", "Sending the reply again: its progress shows under “Sent back to the sender”.")
}
