package web

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/opensmd/portal/internal/auditexport"
	"github.com/opensmd/portal/internal/jobs"
	"github.com/opensmd/portal/internal/store"
	"github.com/opensmd/portal/views/pages"
)

// Audit viewer paging and export bounds.
const (
	auditPageSize  = 50
	auditExportMax = 100000
)

// Audit actions of the audit viewer.
const (
	AuditExported        = "audit.exported"         // each export
	AuditVerifyRequested = "audit.verify_requested" // "Verify now"
)

// auditQuery is the audit viewer's filter as typed, with field errors.
type auditQuery struct {
	Action, User, From, To, Text string
	Page                         int
	Errors                       map[string]string
}

// parseAuditQuery reads the filter from the query string. Dates are whole
// days in the server's time zone; "to" is inclusive.
func parseAuditQuery(c echo.Context) (auditQuery, store.AuditFilter) {
	q := auditQuery{Action: strings.TrimSpace(c.QueryParam("action")), User: c.QueryParam("user"),
		From: c.QueryParam("from"), To: c.QueryParam("to"), Text: strings.TrimSpace(c.QueryParam("q")), Errors: map[string]string{}}
	f := store.AuditFilter{OrganisationID: currentOrg(c).ID, ActionPrefix: q.Action, UserID: q.User, Text: q.Text}
	if len(q.Action) > 100 {
		q.Errors["action"] = "Keep the event name under 100 characters."
	}
	if len(q.Text) > 200 {
		q.Errors["q"] = "Keep the search text under 200 characters."
	}
	f.From, f.To = parseDays(q.From, "from", q.To, "to", q.Errors)
	q.Page, _ = strconv.Atoi(c.QueryParam("page"))
	q.Page = max(q.Page, 1)
	return q, f
}

func (q auditQuery) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"action": q.Action, "user": q.User, "from": q.From, "to": q.To, "q": q.Text} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

func (q auditQuery) pageURL(page int) string {
	v := q.values()
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	if len(v) == 0 {
		return "/admin/audit"
	}
	return "/admin/audit?" + v.Encode()
}

func (h *Handler) listAudit(c echo.Context) error {
	ctx := c.Request().Context()
	q, f := parseAuditQuery(c)
	users, err := h.store.OrgUsers(ctx, currentOrg(c).ID)
	if err != nil {
		return err
	}
	p := pages.AuditProps{Action: q.Action, User: q.User, From: q.From, To: q.To, Text: q.Text, Errors: q.Errors, Page: q.Page,
		ExportQuery: q.values().Encode()}
	for _, u := range users {
		p.Users = append(p.Users, pages.AuditUser{ID: u.ID, Name: u.DisplayName + " (" + u.Email + ")"})
	}
	if err := h.chainStatus(c, &p); err != nil {
		return err
	}
	if len(q.Errors) > 0 {
		return h.render(c, http.StatusUnprocessableEntity, pages.Audit(p))
	}
	f.Limit, f.Offset = auditPageSize+1, (q.Page-1)*auditPageSize
	events, err := h.store.FilterAuditEvents(ctx, f)
	if err != nil {
		return err
	}
	if len(events) > auditPageSize {
		events = events[:auditPageSize]
		p.NextURL = q.pageURL(q.Page + 1)
	}
	if q.Page > 1 {
		p.PrevURL = q.pageURL(q.Page - 1)
	}
	for _, e := range events {
		p.Rows = append(p.Rows, pages.AuditRow{At: e.At.In(time.Local), Action: e.Action, User: e.UserName, IP: e.IP, Detail: formatDetail(e.Detail)})
	}
	return h.render(c, http.StatusOK, pages.Audit(p))
}

// chainStatus fills in the latest recorded chain check. The page never
// verifies the chain itself: that reads the whole provider-wide trail, so
// a job does it (internal/auditcheck) and the page shows its result.
func (h *Handler) chainStatus(c echo.Context, p *pages.AuditProps) error {
	p.CanVerify = h.jobs != nil
	check, err := h.store.LatestAuditCheck(c.Request().Context())
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	p.ChainChecked, p.ChainOK, p.ChainAt, p.ChainSource = true, check.OK, check.At.In(time.Local), check.Source
	if check.Problem != nil {
		p.ChainProblem = "event " + strconv.FormatInt(check.Problem.ID, 10) + ": " + check.Problem.Reason
	}
	// The trail is provider-wide: only the operator's administrators see
	// how many events it holds.
	if currentOrg(c).Operator {
		p.ChainRows, p.ShowChainRows = check.Rows, true
	}
	return nil
}

// verifyAudit queues a chain check (one at a time: a check already waiting
// or running absorbs this one) and audits the request with it.
func (h *Handler) verifyAudit(c echo.Context) error {
	if h.jobs == nil {
		return echo.NewHTTPError(http.StatusServiceUnavailable)
	}
	ctx := c.Request().Context()
	a := auditActor(c)
	err := h.store.WithTx(ctx, func(tx *store.Store) error {
		if _, err := h.jobs.InsertTx(ctx, tx.Tx(), jobs.AuditVerify{Source: store.AuditCheckAdmin}, nil); err != nil {
			return err
		}
		return tx.Audit(ctx, store.AuditEvent{OrganisationID: a.OrganisationID, UserID: a.UserID, IP: a.IP, Action: AuditVerifyRequested})
	})
	if err != nil {
		return err
	}
	return h.flashTo(c, "/admin/audit", "success", "Verification queued. The result shows here once it has run.")
}

// exportAudit downloads the filtered events (oldest first) as CSV or JSON;
// the export itself is audited, with its filter, in the same transaction
// that reads the events.
func (h *Handler) exportAudit(c echo.Context) error {
	format := c.QueryParam("format")
	if format == "" {
		format = "csv"
	}
	if format != "csv" && format != "json" {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	q, f := parseAuditQuery(c)
	if len(q.Errors) > 0 {
		return echo.NewHTTPError(http.StatusBadRequest)
	}
	ctx := c.Request().Context()
	a := auditActor(c)
	f.Limit = auditExportMax
	var events []store.AuditEvent
	err := h.store.WithTx(ctx, func(tx *store.Store) error {
		var err error
		if events, err = tx.FilterAuditEvents(ctx, f); err != nil {
			return err
		}
		return tx.Audit(ctx, store.AuditEvent{OrganisationID: a.OrganisationID, UserID: a.UserID, IP: a.IP, Action: AuditExported,
			Detail: map[string]string{"format": format, "filter": q.values().Encode(), "events": strconv.Itoa(len(events))}})
	})
	if err != nil {
		return err
	}
	// Oldest first, as `portal audit export` writes them.
	for i, j := 0, len(events)-1; i < j; i, j = i+1, j-1 {
		events[i], events[j] = events[j], events[i]
	}
	var buf bytes.Buffer
	ctype := "text/csv; charset=utf-8"
	if format == "json" {
		ctype = echo.MIMEApplicationJSONCharsetUTF8
		err = auditexport.WriteJSON(&buf, events)
	} else {
		err = auditexport.WriteCSV(&buf, events)
	}
	if err != nil {
		return err
	}
	name := "audit-" + h.now().Format("20060102-150405") + "." + format
	c.Response().Header().Set(echo.HeaderContentDisposition, `attachment; filename="`+name+`"`)
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, ctype, buf.Bytes())
}

func formatDetail(d map[string]string) string {
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + d[k]
	}
	return strings.Join(parts, "; ")
}
