package web

import (
	"bytes"
	"net/http"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/opensmd/portal/views/chrome"
	"github.com/opensmd/portal/views/pages"
)

// render writes a templ component with the request's chrome in context.
func (h *Handler) render(c echo.Context, status int, page templ.Component) error {
	ch := h.chromeFor(c)
	ch.Banners = banners(c)
	ctx := chrome.With(c.Request().Context(), ch)
	buf := templ.GetBuffer()
	defer templ.ReleaseBuffer(buf)
	if err := page.Render(ctx, buf); err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.HTMLBlob(status, buf.Bytes())
}

// handleError is the only place that maps errors to status codes, logs
// them once and renders the error page. The page shows a safe message and
// the request ID, never err.Error().
func (h *Handler) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, title, msg := classify(err)
	reqID := c.Response().Header().Get(echo.HeaderXRequestID)
	if status >= 500 {
		h.log.ErrorContext(c.Request().Context(), "Request failed", "request_id", reqID, "route", c.Path(), "error", err)
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	if rerr := h.render(c, status, pages.Error(pages.ErrorProps{Status: status, Title: title, Message: msg, RequestID: reqID})); rerr != nil {
		h.log.ErrorContext(c.Request().Context(), "Error page failed", "request_id", reqID, "error", rerr)
		_ = c.String(status, msg)
	}
}

// fragment writes a piece of a page for htmx: no page chrome, so a poll
// neither consumes flash messages meant for the next page nor counts the
// badge again; only the CSRF token its forms carry.
func (h *Handler) fragment(c echo.Context, comp templ.Component) error {
	b, err := h.fragmentBytes(c, comp)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.HTMLBlob(http.StatusOK, b)
}

// fragmentBytes renders comp as fragment writes it.
func (h *Handler) fragmentBytes(c echo.Context, comp templ.Component) ([]byte, error) {
	ch := chrome.Chrome{}
	if tok, ok := c.Get("csrf").(string); ok {
		ch.CSRFToken = tok
	}
	var buf bytes.Buffer
	err := comp.Render(chrome.With(c.Request().Context(), ch), &buf)
	return buf.Bytes(), err
}
