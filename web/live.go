package web

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/opensmd/portal/internal/mailbox"
	"github.com/opensmd/portal/views/components"
	"github.com/opensmd/portal/views/pages"
)

// liveBody wraps rows in a self-refreshing table body polling path with
// the page's filters (query, encoded) and the rows' version. It returns
// nil when shown (a poll's v=; "" for a page) is the current version:
// nothing changed.
func (h *Handler) liveBody(c echo.Context, shown, id, path, query string, rows templ.Component) (templ.Component, error) {
	b, err := h.fragmentBytes(c, rows)
	if err != nil {
		return nil, err
	}
	v := contentVersion(b)
	if shown == v {
		return nil, nil
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, err
	}
	q.Set("v", v)
	return components.LiveBody(id, path+"?"+q.Encode(), templ.Raw(string(b))), nil
}

// pollRows answers a live table body's poll: 204 while its rows are
// unchanged, else the body with its new version.
func (h *Handler) pollRows(c echo.Context, id, path, query string, rows templ.Component) error {
	live, err := h.liveBody(c, c.QueryParam("v"), id, path, query, rows)
	if err != nil {
		return err
	}
	if live == nil {
		return c.NoContent(http.StatusNoContent)
	}
	return h.fragment(c, live)
}

// contentVersion names rendered content for a poll's v= parameter.
func contentVersion(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// liveTimeline is sent message r's timeline for the viewer, versioned
// like liveBody: nil when shown is its current version.
func (h *Handler) liveTimeline(c echo.Context, r mailbox.SentMessage, shown string) (templ.Component, error) {
	p := timelineProps(r)
	b, err := h.fragmentBytes(c, pages.SentTimelineSteps(p))
	if err != nil {
		return nil, err
	}
	v := contentVersion(b)
	if shown == v {
		return nil, nil
	}
	p.Src = "/sent/" + url.PathEscape(p.ID) + "/timeline?" + url.Values{"v": {v}}.Encode()
	return pages.SentTimeline(p), nil
}
