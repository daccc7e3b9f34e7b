package admin

import (
	"context"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/opensmd/portal/internal/provider"
	"github.com/opensmd/portal/internal/store"
)

// Category is a kind of document an organisation can accept: an SMD
// service category URI (SMD.md §3.1).
type Category struct {
	URI   string
	Label string
}

// Categories are the service categories the portal can open, in the order
// the settings page lists them.
var Categories = []Category{
	{provider.CategoryReferral, "Referral (HL7 v2 simplified REF^I12)"},
	{provider.CategoryReferralResponse, "Referral response (HL7 v2 RRI^I12)"},
	{provider.CategoryReport, "Results and reports (HL7 v2 ORU^R01)"},
	{provider.CategoryACK, "Acknowledgement (HL7 v2 ACK)"},
	{provider.CategoryReadACK, "Read acknowledgement (HL7 v2 ACK)"},
	{provider.CategoryEReferralMDM, "eReferral (CDA in HL7 MDM^T02)"},
	{provider.CategorySpecialistMDM, "Specialist letter (CDA in HL7 MDM^T02)"},
	{provider.CategoryDischargeMDM, "Discharge summary (CDA in HL7 MDM^T02)"},
}

// States are the Australian states and territories an address may name.
var States = []string{"ACT", "NSW", "NT", "QLD", "SA", "TAS", "VIC", "WA"}

// SettingsForm is the organisation settings form.
type SettingsForm struct {
	Name, AddressLine, Suburb, State, Postcode, Phone string
	ReceivingApplication, ReceivingFacility           string
	Categories                                        []string
	DeliveryMode                                      string
	RequireTOTP                                       bool
}

// FormFor fills the form from an organisation.
func FormFor(o store.Organisation) SettingsForm {
	return SettingsForm{Name: o.Name, AddressLine: o.AddressLine, Suburb: o.Suburb, State: o.State, Postcode: o.Postcode,
		Phone: o.Phone, ReceivingApplication: o.ReceivingApplication, ReceivingFacility: o.ReceivingFacility,
		Categories: slices.Clone(o.AcceptedCategories), DeliveryMode: o.DeliveryMode, RequireTOTP: o.RequireTOTP}
}

var (
	postcodeRE = regexp.MustCompile(`^[0-9]{4}$`)
	phoneRE    = regexp.MustCompile(`^[0-9 +()-]{6,40}$`)
)

// Validate trims the form and returns field → message for every problem.
func (f *SettingsForm) Validate() map[string]string {
	errs := map[string]string{}
	for _, p := range []*string{&f.Name, &f.AddressLine, &f.Suburb, &f.State, &f.Postcode, &f.Phone,
		&f.ReceivingApplication, &f.ReceivingFacility} {
		*p = strings.TrimSpace(*p)
	}
	f.State = strings.ToUpper(f.State)
	switch {
	case f.Name == "":
		errs["Name"] = "Enter the organisation's name."
	case len(f.Name) > 200:
		errs["Name"] = "Use at most 200 characters."
	}
	if len(f.AddressLine) > 200 {
		errs["AddressLine"] = "Use at most 200 characters."
	}
	if len(f.Suburb) > 100 {
		errs["Suburb"] = "Use at most 100 characters."
	}
	if f.State != "" && !slices.Contains(States, f.State) {
		errs["State"] = "Choose a state or territory from the list."
	}
	if f.Postcode != "" && !postcodeRE.MatchString(f.Postcode) {
		errs["Postcode"] = "A postcode has 4 digits, such as 2000."
	}
	if f.Phone != "" && !phoneRE.MatchString(f.Phone) {
		errs["Phone"] = "Use digits, spaces, +, ( ) and -, such as 02 9999 0000."
	}
	if msg := HDProblem(f.ReceivingApplication); msg != "" {
		errs["ReceivingApplication"] = msg
	}
	if msg := HDProblem(f.ReceivingFacility); msg != "" {
		errs["ReceivingFacility"] = msg
	}
	f.Categories = slices.Compact(slices.Sorted(slices.Values(f.Categories)))
	for _, c := range f.Categories {
		if !slices.ContainsFunc(Categories, func(k Category) bool { return k.URI == c }) {
			errs["Categories"] = "Choose document types from the list only."
		}
	}
	if f.DeliveryMode != store.DeliveryPush && f.DeliveryMode != store.DeliveryRetrieve {
		errs["DeliveryMode"] = "Choose how received messages are delivered."
	}
	return errs
}

// HDProblem checks an HL7 v2 HD (hierarchic designator) value such as
// "RIVERBEND^1.2.36.1.2001.1003.0.8003621234567890^ISO": at most three
// components separated by ^, and none of HL7's other delimiters (| field,
// ~ repetition, \ escape, & sub-component), which would break the MSH
// segment. "" is allowed (the portal's default applies).
func HDProblem(v string) string {
	if v == "" {
		return ""
	}
	if len(v) > 300 {
		return "Use at most 300 characters."
	}
	if strings.ContainsAny(v, `|~\&`) {
		return `Remove the characters | ~ \ and &: HL7 reserves them. Separate the parts with ^ only.`
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return "Remove line breaks and other control characters."
		}
	}
	if n := strings.Count(v, "^") + 1; n > 3 {
		return "An HD value has at most 3 parts (name^identifier^type); this has " + strconv.Itoa(n) + "."
	}
	return ""
}

// UpdateSettings writes organisation orgID's settings and audits every
// changed field with its old and new value. It returns the field errors
// (nothing is written) or the updated organisation.
func (s *Service) UpdateSettings(ctx context.Context, a Actor, orgID string, f SettingsForm) (store.Organisation, map[string]string, error) {
	if errs := f.Validate(); len(errs) > 0 {
		return store.Organisation{}, errs, nil
	}
	n := store.OrgSettings{Name: f.Name, DeliveryMode: f.DeliveryMode, RequireTOTP: f.RequireTOTP, Profile: store.Profile{
		AddressLine: f.AddressLine, Suburb: f.Suburb, State: f.State, Postcode: f.Postcode, Phone: f.Phone,
		ReceivingApplication: f.ReceivingApplication, ReceivingFacility: f.ReceivingFacility, AcceptedCategories: f.Categories}}
	var after store.Organisation
	err := s.store.WithTx(ctx, func(tx *store.Store) error {
		before, updated, err := tx.UpdateOrgSettings(ctx, orgID, n)
		if err != nil {
			return err
		}
		after = updated
		changes := settingsChanges(before, after)
		if len(changes) == 0 {
			return nil
		}
		return audit(ctx, tx, orgID, a, "organisation.settings_changed", changes)
	})
	return after, nil, err
}

// settingsChanges maps each changed field to "old → new".
func settingsChanges(b, a store.Organisation) map[string]string {
	out := map[string]string{}
	add := func(k, old, new string) {
		if old != new {
			out[k] = quote(old) + " → " + quote(new)
		}
	}
	add("name", b.Name, a.Name)
	add("address_line", b.AddressLine, a.AddressLine)
	add("suburb", b.Suburb, a.Suburb)
	add("state", b.State, a.State)
	add("postcode", b.Postcode, a.Postcode)
	add("phone", b.Phone, a.Phone)
	add("receiving_application", b.ReceivingApplication, a.ReceivingApplication)
	add("receiving_facility", b.ReceivingFacility, a.ReceivingFacility)
	add("accepted_categories", strings.Join(b.AcceptedCategories, " "), strings.Join(a.AcceptedCategories, " "))
	add("delivery_mode", b.DeliveryMode, a.DeliveryMode)
	add("require_totp", strconv.FormatBool(b.RequireTOTP), strconv.FormatBool(a.RequireTOTP))
	return out
}

func quote(s string) string {
	if s == "" {
		return "(empty)"
	}
	return strconv.Quote(s)
}
