package web

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/opensmd/portal/internal/store"
)

// classify maps an error to a status and text that are safe to show.
func classify(err error) (int, string, string) {
	var he *echo.HTTPError
	switch {
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, "Not found", "We could not find that page or record."
	case errors.Is(err, errCSRF):
		return http.StatusForbidden, "Form expired", "This form has expired or came from another site. Go back, reload the page and try again."
	case errors.Is(err, context.Canceled):
		return 499, "Request cancelled", "The request was cancelled."
	case errors.As(err, &he):
		switch he.Code {
		case http.StatusNotFound, http.StatusMethodNotAllowed:
			return http.StatusNotFound, "Not found", "We could not find that page or record."
		case http.StatusForbidden:
			return http.StatusForbidden, "Not allowed", "Your role does not give you access to this page. Ask your organisation's administrator if you need it."
		case http.StatusBadRequest:
			return http.StatusBadRequest, "Bad request", "The request could not be understood."
		case http.StatusUnauthorized:
			return http.StatusUnauthorized, "Sign in needed", "Please sign in to continue."
		case http.StatusRequestEntityTooLarge:
			return he.Code, "Too large", "What you sent is larger than the portal accepts."
		case http.StatusServiceUnavailable:
			return he.Code, "Not ready", "The portal is not ready yet. Try again shortly."
		}
		if he.Code < 500 {
			return he.Code, http.StatusText(he.Code), http.StatusText(he.Code) + "."
		}
	}
	return http.StatusInternalServerError, "Something went wrong", "Something went wrong on our side and nothing was changed. Please try again; if it keeps happening, contact support."
}

// errCSRF marks a request refused by the CSRF middleware.
var errCSRF = errors.New("csrf check failed")
