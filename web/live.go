package web

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/opensmd/portal/views/components"
)

// liveBody wraps rows in a self-refreshing table body polling path with
// the page's filters (query, encoded) and the rows' version. It returns
// nil when the request names the current version: nothing changed.
func (h *Handler) liveBody(c echo.Context, id, path, query string, rows templ.Component) (templ.Component, error) {
	b, err := h.fragmentBytes(c, rows)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	v := hex.EncodeToString(sum[:8])
	if c.QueryParam("v") == v {
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
	live, err := h.liveBody(c, id, path, query, rows)
	if err != nil {
		return err
	}
	if live == nil {
		return c.NoContent(http.StatusNoContent)
	}
	return h.fragment(c, live)
}
