package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/opensmd/portal/internal/provider"
	"github.com/opensmd/portal/internal/store"
	"github.com/opensmd/portal/views/pages"
)

// maxCertUpload bounds an uploaded PKCS#12, certificate or CRL file.
const maxCertUpload = 1 << 20

// auditActor is the signed-in user acting for their organisation, for the
// audit events the provider package writes.
func auditActor(c echo.Context) provider.Actor {
	u, _ := currentUser(c)
	return provider.Actor{OrganisationID: currentOrg(c).ID, UserID: u.ID, IP: c.RealIP()}
}

// localTimeLayout is the value format of <input type="datetime-local">.
const localTimeLayout = "2006-01-02T15:04"

// parseLocal reads a datetime-local value in the server's time zone; ""
// is the zero time.
func parseLocal(v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.ParseInLocation(localTimeLayout, v, time.Local)
	if err != nil {
		return time.Time{}, errors.New("Enter a date and time, for example 2026-07-01T09:00.")
	}
	return t, nil
}

func zoneName() string {
	name, _ := time.Now().Zone()
	if time.Local.String() != "Local" {
		return time.Local.String() + " (" + name + ")"
	}
	return name
}

// readUpload returns the bytes of the uploaded file field, or "" and a
// message for the form.
func readUpload(c echo.Context, field, what string) ([]byte, string) {
	fh, err := c.FormFile(field)
	if err != nil || fh.Size == 0 {
		return nil, "Choose the " + what + " to upload."
	}
	if fh.Size > maxCertUpload {
		return nil, fmt.Sprintf("The %s is larger than 1 MB; it cannot be a certificate file.", what)
	}
	f, err := fh.Open()
	if err != nil {
		return nil, "The " + what + " could not be read. Try again."
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxCertUpload))
	if err != nil {
		return nil, "The " + what + " could not be read. Try again."
	}
	return b, ""
}

func (h *Handler) certificatesProps(c echo.Context) (pages.CertificatesProps, error) {
	ctx := c.Request().Context()
	org := currentOrg(c)
	p := pages.CertificatesProps{OrgName: org.Name, HPIO: org.HPIO, OrgURI: provider.OrgURI(org), Zone: zoneName()}
	certs, err := provider.OrgCertificates(ctx, h.store, org.ID, h.now())
	if err != nil {
		return p, err
	}
	for _, ci := range certs {
		p.Certs = append(p.Certs, pages.CertRow{ID: ci.Key.ID, Subject: ci.Key.Subject, Status: ci.Status, SKI: ci.SKI,
			NotAfter: ci.Key.NotAfter, ActiveFrom: ci.Key.ActiveFrom})
	}
	pending, err := h.store.PendingKeys(ctx, org.ID)
	if err != nil {
		return p, err
	}
	for _, k := range pending {
		p.Pending = append(p.Pending, pages.PendingRow{ID: k.ID, Subject: k.Subject, Created: k.CreatedAt})
	}
	p.Notices, err = h.notices(ctx, org.ID)
	return p, err
}

// notices are organisation orgID's open notifications.
func (h *Handler) notices(ctx context.Context, orgID string) ([]pages.NoticeRow, error) {
	ns, err := h.store.OpenNotifications(ctx, orgID)
	out := make([]pages.NoticeRow, len(ns))
	for i, n := range ns {
		out[i] = pages.NoticeRow{ID: n.ID, Text: n.Text, Link: n.Link, Created: n.CreatedAt}
	}
	return out, err
}

func (h *Handler) listCertificates(c echo.Context) error {
	p, err := h.certificatesProps(c)
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, pages.Certificates(p))
}

// certFormError renders the certificates page with err on form (import
// or install), or returns err when it is not a refusal the user can fix.
func (h *Handler) certFormError(c echo.Context, install bool, activeFrom string, err error) error {
	var ce *provider.CertError
	if !errors.As(err, &ce) {
		return err
	}
	field := ce.Field
	if field == "" {
		field = "file"
	}
	return h.certFormErrors(c, install, activeFrom, map[string]string{field: ce.Msg})
}

func (h *Handler) certFormErrors(c echo.Context, install bool, activeFrom string, errs map[string]string) error {
	p, err := h.certificatesProps(c)
	if err != nil {
		return err
	}
	form := pages.CertForm{ActiveFrom: activeFrom, Errors: errs}
	if install {
		p.Install = form
	} else {
		p.Import = form
	}
	return h.render(c, http.StatusUnprocessableEntity, pages.Certificates(p))
}

func (h *Handler) importCertificate(c echo.Context) error {
	activeRaw := c.FormValue("active_from")
	errs := map[string]string{}
	p12, msg := readUpload(c, "file", "PKCS#12 file")
	if msg != "" {
		errs["file"] = msg
	}
	password := c.FormValue("password")
	if password == "" {
		errs["password"] = "Enter the password of the PKCS#12 file."
	}
	activeFrom, err := parseLocal(activeRaw)
	if err != nil {
		errs["active_from"] = err.Error()
	}
	if len(errs) > 0 {
		return h.certFormErrors(c, false, activeRaw, errs)
	}
	k, err := provider.ImportPKCS12(c.Request().Context(), h.store, h.master, currentOrg(c), p12, password,
		provider.ImportOptions{ActiveFrom: activeFrom, Now: h.now, By: auditActor(c)})
	if err != nil {
		return h.certFormError(c, false, activeRaw, err)
	}
	if err := h.flash(c, "success", "Certificate imported: "+k.Subject+". Running services pick it up within a minute."); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/certificates/"+k.ID)
}

func (h *Handler) createCSR(c echo.Context) error {
	pk, csr, err := provider.GenerateCSR(c.Request().Context(), h.store, h.master, currentOrg(c), auditActor(c))
	if err != nil {
		return err
	}
	return sendCSR(c, pk.ID, csr)
}

func sendCSR(c echo.Context, id string, csr []byte) error {
	c.Response().Header().Set(echo.HeaderContentDisposition, `attachment; filename="opensmd-`+id[:8]+`.csr"`)
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "application/pkcs10", csr)
}

func (h *Handler) downloadCSR(c echo.Context) error {
	pk, err := h.store.PendingKey(c.Request().Context(), currentOrg(c).ID, c.Param("id"))
	if err != nil {
		return err
	}
	return sendCSR(c, pk.ID, provider.CSRPEM(pk))
}

func (h *Handler) installCertificate(c echo.Context) error {
	activeRaw := c.FormValue("install_active_from")
	errs := map[string]string{}
	data, msg := readUpload(c, "cert_file", "certificate file")
	if msg != "" {
		errs["file"] = msg
	}
	activeFrom, err := parseLocal(activeRaw)
	if err != nil {
		errs["active_from"] = err.Error()
	}
	if len(errs) > 0 {
		return h.certFormErrors(c, true, activeRaw, errs)
	}
	k, err := provider.InstallCertificate(c.Request().Context(), h.store, h.master, currentOrg(c), data,
		provider.ImportOptions{ActiveFrom: activeFrom, Now: h.now, By: auditActor(c)})
	if err != nil {
		return h.certFormError(c, true, activeRaw, err)
	}
	if err := h.flash(c, "success", "Certificate installed: "+k.Subject+"."); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/certificates/"+k.ID)
}

func (h *Handler) certificateProps(c echo.Context) (pages.CertificateProps, error) {
	ci, err := provider.OrgCertificate(c.Request().Context(), h.store, currentOrg(c).ID, c.Param("id"), h.now())
	if err != nil {
		return pages.CertificateProps{}, err
	}
	p := pages.CertificateProps{ID: ci.Key.ID, Subject: ci.Key.Subject, Status: ci.Status, Issuer: ci.Issuer, Serial: ci.Serial,
		SKI: ci.SKI, SHA256: provider.Fingerprint(ci.Cert.Raw), URIs: ci.URIs, KeyUsages: ci.KeyUsages,
		NotBefore: ci.Cert.NotBefore, NotAfter: ci.Cert.NotAfter, ActiveFrom: ci.Key.ActiveFrom,
		ChainError: ci.ChainError, Retired: ci.Key.RetiredAt != nil, Zone: zoneName(),
		ScheduleValue: ci.Key.ActiveFrom.In(time.Local).Format(localTimeLayout)}
	for _, l := range ci.Chain {
		p.Chain = append(p.Chain, pages.ChainRow{Subject: l.Subject, NotAfter: l.NotAfter, Anchor: l.Anchor})
	}
	return p, nil
}

// showCertificate is scoped to the admin's organisation: another
// organisation's certificate is "not found".
func (h *Handler) showCertificate(c echo.Context) error {
	p, err := h.certificateProps(c)
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, pages.Certificate(p))
}

func (h *Handler) scheduleCertificate(c echo.Context) error {
	p, err := h.certificateProps(c) // 404 for another organisation's
	if err != nil {
		return err
	}
	raw := c.FormValue("active_from")
	at, err := parseLocal(raw)
	if err == nil && at.IsZero() {
		err = errors.New("Enter when to start using this certificate.")
	}
	if err != nil {
		p.ScheduleValue, p.ScheduleError = raw, err.Error()
		return h.render(c, http.StatusUnprocessableEntity, pages.Certificate(p))
	}
	err = provider.ScheduleCertificate(c.Request().Context(), h.store, currentOrg(c), p.ID, at, auditActor(c))
	var ce *provider.CertError
	if errors.As(err, &ce) {
		p.ScheduleValue, p.ScheduleError = raw, ce.Msg
		return h.render(c, http.StatusUnprocessableEntity, pages.Certificate(p))
	}
	if err != nil {
		return err
	}
	if err := h.flash(c, "success", "Start time saved: this certificate is used from "+at.Format("2 Jan 2006 15:04 MST")+"."); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/certificates/"+p.ID)
}

func (h *Handler) retireCertificate(c echo.Context) error {
	p, err := h.certificateProps(c)
	if err != nil {
		return err
	}
	if c.FormValue("confirm") != "yes" {
		p.RetireError = "Tick the box to confirm you want to retire this certificate."
		return h.render(c, http.StatusUnprocessableEntity, pages.Certificate(p))
	}
	err = provider.RetireCertificate(c.Request().Context(), h.store, currentOrg(c), p.ID, h.now(), auditActor(c))
	var ce *provider.CertError
	if errors.As(err, &ce) {
		p.RetireError = ce.Msg
		return h.render(c, http.StatusUnprocessableEntity, pages.Certificate(p))
	}
	if err != nil {
		return err
	}
	if err := h.flash(c, "success", "Certificate retired: "+p.Subject+"."); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/certificates")
}

func (h *Handler) dismissNotification(c echo.Context) error {
	ctx := c.Request().Context()
	a := auditActor(c)
	err := h.store.WithTx(ctx, func(tx *store.Store) error {
		n, err := tx.DismissNotification(ctx, a.OrganisationID, c.Param("id"), a.UserID)
		if err != nil {
			return err
		}
		return tx.Audit(ctx, store.AuditEvent{OrganisationID: a.OrganisationID, UserID: a.UserID, IP: a.IP,
			Action: provider.AuditNoticeDismissed, Detail: map[string]string{"notification_id": n.ID, "kind": n.Kind}})
	})
	if err != nil {
		return err
	}
	back := "/admin/certificates"
	if c.FormValue("back") == "/dashboard" { // the only other page listing them
		back = "/dashboard"
	}
	return h.flashTo(c, back, "success", "Notification dismissed.")
}
