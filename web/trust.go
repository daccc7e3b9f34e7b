package web

import (
	"crypto/x509"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/opensmd/portal/internal/provider"
	"github.com/opensmd/portal/internal/store"
	"github.com/opensmd/portal/views/pages"
)

func anchorRow(a provider.AnchorInfo) pages.AnchorRow {
	r := pages.AnchorRow{ID: a.Anchor.ID, Subject: a.Anchor.Subject, Fingerprint: a.Fingerprint, NotAfter: a.Anchor.NotAfter,
		OtherHosted: a.OtherHosted}
	for _, k := range a.OwnCerts {
		r.OwnCerts = append(r.OwnCerts, k.Subject)
	}
	for _, d := range a.Directory {
		r.Directory = append(r.Directory, d.Name+" ("+d.OrgURI+")")
	}
	return r
}

func (h *Handler) trustProps(c echo.Context) (pages.TrustProps, error) {
	ctx := c.Request().Context()
	p := pages.TrustProps{CanEdit: currentOrg(c).Operator}
	anchors, err := provider.TrustAnchorsFor(ctx, h.store, currentOrg(c).ID, h.now())
	if err != nil {
		return p, err
	}
	for _, a := range anchors {
		p.Anchors = append(p.Anchors, anchorRow(a))
	}
	crls, err := h.store.LatestCRLs(ctx)
	if err != nil {
		return p, err
	}
	for _, r := range crls {
		row := pages.CRLRow{Issuer: r.Issuer, ThisUpdate: r.ThisUpdate, NextUpdate: r.NextUpdate, AddedAt: r.AddedAt}
		if l, err := x509.ParseRevocationList(r.DER); err == nil {
			row.Revoked = len(l.RevokedCertificateEntries)
		}
		p.CRLs = append(p.CRLs, row)
	}
	return p, nil
}

func (h *Handler) listTrust(c echo.Context) error {
	p, err := h.trustProps(c)
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, pages.Trust(p))
}

func (h *Handler) trustFormError(c echo.Context, anchorErr, crlErr string) error {
	p, err := h.trustProps(c)
	if err != nil {
		return err
	}
	p.AnchorError, p.CRLError = anchorErr, crlErr
	return h.render(c, http.StatusUnprocessableEntity, pages.Trust(p))
}

// addTrustAnchor trusts the uploaded CA certificate(s). Refusals come
// from parsing the user's file, so their text is safe to show.
func (h *Handler) addTrustAnchor(c echo.Context) error {
	data, msg := readUpload(c, "ca_file", "CA certificate file")
	if msg != "" {
		return h.trustFormError(c, msg, "")
	}
	added, err := provider.AddTrustAnchorBy(c.Request().Context(), h.store, data, auditActor(c))
	if err != nil {
		var ce *provider.CertError
		if errors.As(err, &ce) {
			return h.trustFormError(c, "This file was not accepted: "+userText(ce.Msg), "")
		}
		return err
	}
	text := "Trusted " + added[0].Subject + "."
	if len(added) > 1 {
		text = "Trusted " + added[0].Subject + " and " + strconv.Itoa(len(added)-1) + " more."
	}
	if err := h.flash(c, "success", text+" Running services pick it up within a minute."); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/trust")
}

// userText drops the operation prefix of a provider refusal.
func userText(msg string) string {
	for _, p := range []string{"add CRL: ", "add trust anchor: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	return msg + "."
}

func (h *Handler) addCRL(c echo.Context) error {
	data, msg := readUpload(c, "crl_file", "revocation list file")
	if msg != "" {
		return h.trustFormError(c, "", msg)
	}
	crl, err := provider.AddCRLBy(c.Request().Context(), h.store, data, auditActor(c))
	if err != nil {
		var ce *provider.CertError
		if errors.As(err, &ce) {
			return h.trustFormError(c, "", "This file was not accepted: "+userText(ce.Msg))
		}
		return err
	}
	if err := h.flash(c, "success", "Revocation list from "+crl.Issuer+" loaded. Running services apply it within a minute."); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/trust")
}

func (h *Handler) anchorFor(c echo.Context) (pages.AnchorRow, error) {
	anchors, err := provider.TrustAnchorsFor(c.Request().Context(), h.store, currentOrg(c).ID, h.now())
	if err != nil {
		return pages.AnchorRow{}, err
	}
	for _, a := range anchors {
		if a.Anchor.ID == c.Param("id") {
			return anchorRow(a), nil
		}
	}
	return pages.AnchorRow{}, store.ErrNotFound
}

func (h *Handler) confirmRemoveTrust(c echo.Context) error {
	a, err := h.anchorFor(c)
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, pages.TrustRemove(pages.TrustRemoveProps{Anchor: a}))
}

func (h *Handler) removeTrust(c echo.Context) error {
	a, err := h.anchorFor(c)
	if err != nil {
		return err
	}
	err = provider.RemoveTrustAnchor(c.Request().Context(), h.store, a.ID, c.FormValue("confirm") == "yes", h.now(), auditActor(c))
	var ce *provider.CertError
	if errors.As(err, &ce) {
		return h.render(c, http.StatusUnprocessableEntity, pages.TrustRemove(pages.TrustRemoveProps{Anchor: a, Error: ce.Msg}))
	}
	if err != nil {
		return err
	}
	if err := h.flash(c, "success", "No longer trusted: "+a.Subject+"."); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/trust")
}
