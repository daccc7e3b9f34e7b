package web

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/opensmd/portal/internal/mailbox"
	"github.com/opensmd/portal/internal/provider"
	"github.com/opensmd/portal/internal/store"
	"github.com/opensmd/portal/views/pages"
)

// composeBodyLimit bounds a compose or draft POST, which may carry files:
// more than the attachment limits, so that a file that is too large gets
// its field error (and the form is kept) rather than a bare refusal.
const composeBodyLimit = "24M"

// composeUpload reports whether route path takes compose uploads.
func composeUpload(path string) bool {
	return path == "/compose" || path == "/drafts/:id" || path == "/drafts/:id/attachments/:aid/remove"
}

// composeForm reads the form as typed.
func composeForm(c echo.Context) mailbox.Form {
	v := func(k string) string { return c.FormValue(k) }
	return mailbox.Form{Kind: v("kind"), OnBehalfOf: v("referrer"), ListingID: v("listing"), Reason: v("reason"),
		Clinical: v("clinical"), Urgency: v("urgency"), Validity: v("validity"),
		Patient: mailbox.PatientForm{Family: v("patient_family"), Given: v("patient_given"), DOB: v("patient_dob"),
			Sex: v("patient_sex"), Medicare: v("patient_medicare"), IHI: v("patient_ihi"), Street: v("patient_street"),
			Suburb: v("patient_suburb"), State: v("patient_state"), Postcode: v("patient_postcode")}}
}

// uploads reads the files of the request: the accepted ones, and one
// sentence per refused file.
func uploads(c echo.Context) ([]mailbox.File, string, error) {
	mf := c.Request().MultipartForm
	if mf == nil {
		return nil, "", nil
	}
	var files []mailbox.File
	var problems []string
	for _, fh := range mf.File["attachment"] {
		if fh.Size == 0 && fh.Filename == "" {
			continue // no file chosen
		}
		if fh.Size > mailbox.MaxAttachment {
			problems = append(problems, `"`+mailbox.SafeFileName(fh.Filename)+`" is larger than 5 MB, the limit for one file.`)
			continue
		}
		f, err := fh.Open()
		if err != nil {
			return nil, "", err
		}
		data, err := io.ReadAll(io.LimitReader(f, mailbox.MaxAttachment+1))
		f.Close()
		if err != nil {
			return nil, "", err
		}
		file, err := mailbox.NewFile(fh.Filename, data)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		files = append(files, file)
	}
	return files, strings.Join(problems, " "), nil
}

func (h *Handler) showCompose(c echo.Context) error {
	f := mailbox.Form{Kind: c.QueryParam("kind"), ListingID: c.QueryParam("to"), Urgency: "routine", Validity: "12"}
	if !slices.Contains(mailbox.Kinds, f.Kind) {
		f.Kind = store.KindReferral
	}
	return h.renderCompose(c, http.StatusOK, mailbox.Draft{Form: f}, nil, "")
}

func (h *Handler) showDraft(c echo.Context) error {
	d, err := h.mail.OpenDraft(c.Request().Context(), currentOrg(c).ID, inboxUser(c).ID, c.Param("id"))
	if err != nil {
		return err
	}
	return h.renderCompose(c, http.StatusOK, d, nil, "")
}

func (h *Handler) createCompose(c echo.Context) error { return h.composeAction(c, "") }

func (h *Handler) updateDraft(c echo.Context) error { return h.composeAction(c, c.Param("id")) }

// composeAction saves what was typed and uploaded as the draft (so
// nothing is lost whatever happens next), then saves, finds recipients,
// previews or sends. From the preview page ("saved") the draft is sent
// as it was saved.
func (h *Handler) composeAction(c echo.Context, id string) error {
	ctx := c.Request().Context()
	org, u := currentOrg(c), inboxUser(c)
	fileProblem := ""
	if c.FormValue("saved") == "" || id == "" {
		files, problem, err := uploads(c)
		if err != nil {
			return err
		}
		if id, err = h.mail.SaveDraft(ctx, org.ID, u, id, composeForm(c), files); err != nil {
			return err
		}
		fileProblem = problem
	}
	d, err := h.mail.OpenDraft(ctx, org.ID, u.ID, id)
	if err != nil {
		return err
	}
	errs := map[string]string{}
	if fileProblem != "" {
		errs["attachment"] = fileProblem
	}
	switch c.FormValue("action") {
	case "find":
		return h.renderCompose(c, http.StatusOK, d, errs, c.FormValue("recipient_q"))
	case "preview":
		return h.previewDraft(c, d, errs)
	case "send":
		if len(errs) > 0 {
			return h.renderCompose(c, http.StatusUnprocessableEntity, d, errs, "")
		}
		msgID, err := h.mail.Send(ctx, org.ID, id, u)
		var ve *mailbox.ValidationError
		if errors.As(err, &ve) {
			return h.renderCompose(c, http.StatusUnprocessableEntity, d, ve.Errors, "")
		}
		if err != nil {
			return err
		}
		return h.flashTo(c, "/sent/"+msgID, "success", "Sent: the message is on its way.")
	}
	if len(errs) > 0 {
		return h.renderCompose(c, http.StatusUnprocessableEntity, d, errs, "")
	}
	return h.flashTo(c, "/drafts/"+id, "success", "Draft saved.")
}

func (h *Handler) previewDraft(c echo.Context, d mailbox.Draft, errs map[string]string) error {
	p, err := h.mail.Preview(c.Request().Context(), currentOrg(c).ID, inboxUser(c), d.ID)
	if err != nil {
		return err
	}
	for k, v := range p.Errors {
		errs[k] = v
	}
	if len(errs) > 0 {
		return h.renderCompose(c, http.StatusUnprocessableEntity, d, errs, "")
	}
	return h.render(c, http.StatusOK, pages.ComposePreview(pages.ComposePreviewProps{DraftID: d.ID,
		Message: h.previewMessage(p), To: p.Summary.To}))
}

// previewMessage shows a draft the way the inbox shows what it received.
func (h *Handler) previewMessage(p mailbox.Preview) pages.MessageProps {
	s, f := p.Summary, p.Draft.Form
	m := h.bannerProps(s)
	m.ID, m.From, m.Subject, m.Kind, m.Urgency, m.Text = p.Draft.ID, s.From, s.Subject, f.Kind, f.Urgency, strings.TrimSpace(f.Clinical)
	switch f.Kind {
	case store.KindReferral:
		m.Referrer, m.ReferredTo, m.Reason = orText(p.Referrer.DisplayName, "—"), s.To, strings.TrimSpace(f.Reason)
		m.Validity = "indefinite"
		if months, err := strconv.Atoi(f.Validity); err == nil {
			now := h.now()
			m.Validity = validity(now, now.AddDate(0, months, 0))
		}
	case store.KindReport:
		m.Service, m.Observed = strings.TrimSpace(f.Reason), when(h.now())
	}
	for i, a := range s.Attachments {
		m.Attachments = append(m.Attachments, pages.Attachment{N: i + 1, Name: a.Name, Type: a.Type, Size: a.Size})
	}
	return m
}

// renderCompose shows the form for draft d (d.ID "" before it is saved)
// with errs, and the recipient matches for query q.
func (h *Handler) renderCompose(c echo.Context, status int, d mailbox.Draft, errs map[string]string, q string) error {
	ctx := c.Request().Context()
	org := currentOrg(c)
	me, _ := currentUser(c)
	p := pages.ComposeProps{DraftID: d.ID, Form: d.Form, Errors: errs, Me: me.DisplayName}
	for _, f := range d.Files {
		p.Files = append(p.Files, pages.ComposeFile{ID: f.ID, Name: f.Name, Type: f.Type, Size: len(f.Data)})
	}
	users, err := h.store.OrgUsers(ctx, org.ID)
	if err != nil {
		return err
	}
	for _, u := range users {
		if u.Active && u.ID != me.ID && (u.HPII != "" || u.ProviderNumber != "") {
			p.Referrers = append(p.Referrers, pages.Option{Value: u.ID, Label: u.DisplayName})
		}
	}
	if p.Picker, err = h.recipientPicker(c, q, d.Form.Kind, d.Form.ListingID); err != nil {
		return err
	}
	p.Picker.FindAction, p.Picker.Error = "find", errs["listing"]
	return h.render(c, status, pages.Compose(p))
}

// recipientPicker searches the directory for q (as the directory page
// does) and lists the matches, with the chosen listing first.
func (h *Handler) recipientPicker(c echo.Context, q, kind, chosen string) (pages.RecipientPicker, error) {
	ctx := c.Request().Context()
	p := pages.RecipientPicker{Query: q, Kind: kind}
	var ls []store.Listing
	if chosen != "" {
		l, err := h.store.Listing(ctx, chosen)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return p, err
		}
		if err == nil {
			ls = append(ls, l)
		}
	}
	if strings.TrimSpace(q) != "" {
		f, search := parseDirectoryQuery(url.Values{"q": {q}})
		p.Searched, p.QueryError = true, f.QError
		if f.QError == "" {
			search.Limit = 10
			found, _, err := h.store.SearchListings(ctx, search)
			if err != nil {
				return p, err
			}
			for _, l := range found {
				if l.ID != chosen {
					ls = append(ls, l)
				}
			}
		}
	}
	for _, l := range ls {
		accepted, err := h.mail.Accepts(ctx, l)
		if err != nil {
			return p, err
		}
		p.Options = append(p.Options, pages.RecipientOption{ID: l.ID, Name: l.Name, Checked: l.ID == chosen,
			Detail:    strings.Join(nonEmpty(l.Specialty, orgNameOf(l), l.Suburb), " · "),
			Reachable: l.Reachable(), Accepts: kind == "" || mailbox.AcceptsKind(kind, accepted),
			DocTypes: provider.DocumentTypes(accepted)})
	}
	return p, nil
}

func orgNameOf(l store.Listing) string {
	if l.OrgName == l.Name {
		return ""
	}
	return l.OrgName
}

func nonEmpty(parts ...string) []string {
	var out []string
	for _, p := range parts {
		if strings.TrimSpace(p) != "" {
			out = append(out, p)
		}
	}
	return out
}

// listRecipients is the picker's matches for htmx.
func (h *Handler) listRecipients(c echo.Context) error {
	q := c.QueryParam("q")
	if q == "" {
		q = c.QueryParam("recipient_q")
	}
	kind := c.QueryParam("kind")
	if !slices.Contains(mailbox.Kinds, kind) {
		kind = ""
	}
	// The recipient chosen so far stays among the matches.
	p, err := h.recipientPicker(c, q, kind, c.QueryParam("listing"))
	if err != nil {
		return err
	}
	return h.fragment(c, pages.RecipientResults(p))
}

func (h *Handler) listDrafts(c echo.Context) error {
	ds, err := h.mail.Drafts(c.Request().Context(), currentOrg(c).ID, inboxUser(c).ID)
	if err != nil {
		return err
	}
	rows := make([]pages.DraftRow, len(ds))
	for i, d := range ds {
		p := mailbox.PatientSummary{Family: d.Form.Patient.Family, Given: d.Form.Patient.Given}
		rows[i] = pages.DraftRow{ID: d.ID, Patient: patientName(p), Subject: orText(d.Form.Reason, "(no subject)"),
			Kind: d.Form.Kind, Updated: d.UpdatedAt}
	}
	return h.render(c, http.StatusOK, pages.Drafts(rows))
}

func (h *Handler) deleteDraft(c echo.Context) error {
	if err := h.mail.DeleteDraft(c.Request().Context(), currentOrg(c).ID, inboxUser(c), c.Param("id")); err != nil {
		return err
	}
	return h.flashTo(c, "/drafts", "success", "Draft deleted.")
}

// removeDraftFile removes one file; the form it was clicked in is saved
// first, so what was typed stays.
func (h *Handler) removeDraftFile(c echo.Context) error {
	ctx := c.Request().Context()
	org, u, id := currentOrg(c), inboxUser(c), c.Param("id")
	if c.FormValue("kind") != "" {
		if _, err := h.mail.SaveDraft(ctx, org.ID, u, id, composeForm(c), nil); err != nil {
			return err
		}
	}
	if err := h.mail.RemoveFile(ctx, org.ID, u, id, c.Param("aid")); err != nil {
		return err
	}
	return h.flashTo(c, "/drafts/"+id, "success", "File removed.")
}
