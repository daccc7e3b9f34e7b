package web

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/opensmd/portal/internal/fhirserve"
)

// Publisher says where hosted organisations take delivery (their SMD
// endpoint and active certificate) for the /fhir/ directory.
type Publisher = fhirserve.Publisher

// noPublisher publishes no endpoint (no SMD listener configured).
type noPublisher struct{}

func (noPublisher) Endpoint(context.Context, string) (string, *x509.Certificate, error) {
	return "", nil, nil
}

// fhirBase is the public base of the FHIR API.
func (h *Handler) fhirBase(c echo.Context) string {
	if h.baseURL != "" {
		return strings.TrimRight(h.baseURL, "/") + "/fhir"
	}
	return c.Scheme() + "://" + c.Request().Host + "/fhir"
}

func (h *Handler) fhirSearch(c echo.Context) error {
	b, err := h.fhir.Search(c.Request().Context(), h.fhirBase(c), c.Param("type"), c.QueryParams())
	return h.fhirJSON(c, b, err)
}

func (h *Handler) fhirRead(c echo.Context) error {
	if len(c.QueryParams()) > 0 {
		for k := range c.QueryParams() {
			if k != "_format" {
				return h.fhirJSON(c, nil, &fhirserve.Error{Status: http.StatusBadRequest, Code: "invalid", Text: "a read takes no search parameters"})
			}
		}
	}
	r, err := h.fhir.Read(c.Request().Context(), h.fhirBase(c), c.Param("type"), c.Param("id"))
	return h.fhirJSON(c, r, err)
}

// fhirJSON writes a resource, or the OperationOutcome of err.
func (h *Handler) fhirJSON(c echo.Context, res fhirserve.Resource, err error) error {
	status := http.StatusOK
	if err != nil {
		if status, res = fhirserve.Outcome(err); status >= 500 {
			h.log.ErrorContext(c.Request().Context(), "FHIR request failed", "route", c.Path(), "error", err)
		}
	}
	b, merr := json.Marshal(res)
	if merr != nil {
		return merr
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Blob(status, "application/fhir+json; charset=utf-8", b)
}
