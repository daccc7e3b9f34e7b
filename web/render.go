package web

import (
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
