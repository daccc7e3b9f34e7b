package web

import (
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/opensmd/portal/internal/admin"
	"github.com/opensmd/portal/views/pages"
)

func orgSettingsProps(hpio string, f admin.SettingsForm, errs map[string]string) pages.OrgSettingsProps {
	p := pages.OrgSettingsProps{HPIO: hpio, Name: f.Name, AddressLine: f.AddressLine, Suburb: f.Suburb, State: f.State,
		Postcode: f.Postcode, Phone: f.Phone, ReceivingApplication: f.ReceivingApplication, ReceivingFacility: f.ReceivingFacility,
		States: admin.States, DeliveryMode: f.DeliveryMode, RequireTOTP: f.RequireTOTP, Errors: errs}
	for _, c := range admin.Categories {
		p.Categories = append(p.Categories, pages.CategoryOption{URI: c.URI, Label: c.Label, Checked: slices.Contains(f.Categories, c.URI)})
	}
	return p
}

func (h *Handler) showOrgSettings(c echo.Context) error {
	org := currentOrg(c)
	return h.render(c, http.StatusOK, pages.OrgSettings(orgSettingsProps(org.HPIO, admin.FormFor(org), nil)))
}

func (h *Handler) saveOrgSettings(c echo.Context) error {
	org := currentOrg(c)
	form, err := c.FormParams()
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest)
	}
	f := admin.SettingsForm{Name: form.Get("name"), AddressLine: form.Get("address_line"), Suburb: form.Get("suburb"),
		State: form.Get("state"), Postcode: form.Get("postcode"), Phone: form.Get("phone"),
		ReceivingApplication: form.Get("receiving_application"), ReceivingFacility: form.Get("receiving_facility"),
		Categories: form["categories"], DeliveryMode: form.Get("delivery_mode"), RequireTOTP: form.Get("require_totp") == "on"}
	_, errs, err := h.admin.UpdateSettings(c.Request().Context(), actor(c), org.ID, f)
	if err != nil {
		return err
	}
	if len(errs) > 0 {
		return h.render(c, http.StatusUnprocessableEntity, pages.OrgSettings(orgSettingsProps(org.HPIO, f, errs)))
	}
	return h.flashTo(c, "/admin/organisation", "success", "The organisation settings are saved.")
}
