package provider

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/opensmd/portal/internal/fhirpd"
	"github.com/opensmd/portal/internal/store"
)

// AuditDirectoryImported is the audit action recorded by ImportDirectory.
const AuditDirectoryImported = "directory.imported"

// ImportError is a bundle ImportDirectory refused: nothing was imported.
// Other errors (the database's) are the portal's, not the bundle's.
type ImportError struct {
	Problems []string // one line each
	Empty    bool     // nothing in it to import
}

func (e *ImportError) Error() string {
	if e.Empty {
		return "directory import: the bundle has no SMD endpoint, practitioner role, service or organisation to import"
	}
	return fmt.Sprintf("directory import: nothing imported; %d problem(s):\n  %s", len(e.Problems), strings.Join(e.Problems, "\n  "))
}

// Lines are the problems for a person to fix, one per line.
func (e *ImportError) Lines() []string {
	if e.Empty {
		return []string{"The bundle has no SMD endpoint, practitioner role, service or organisation to import."}
	}
	return e.Problems
}

// ImportResult is what one directory import wrote.
type ImportResult struct {
	Entries  []store.DirectoryEntry
	Listings []store.Listing
	// Removed counts listings of the imported organisations that the
	// bundle no longer lists.
	Removed int64
}

// ImportDirectory stores a parsed FHIR provider directory: its SMD targets
// as directory entries (one per organisation: endpoint, encryption
// certificate, payload types as service categories), replacing entries
// with the same organisation URI; and every active PractitionerRole,
// HealthcareService and Organization as a searchable listing linked to
// the entry of its SMD endpoint, replacing the listings of those
// organisations. Everything is checked first: if anything is unusable the
// error lists every problem and nothing is written; otherwise everything
// is written in one transaction with one audit event.
//
// by is who imported (zero for the CLI) and source where the bundle came
// from ("upload", "cli", "remote <host>"), for the audit event.
func ImportDirectory(ctx context.Context, st *store.Store, d *fhirpd.Directory, by Actor, source string) (ImportResult, error) {
	var rows []store.DirectoryEntry
	var problems []string
	seen := map[string]string{} // org URI → endpoint id
	targets := map[string]fhirpd.Target{}
	for _, t := range d.SMDTargets() {
		where := fmt.Sprintf("Endpoint/%s (%s)", t.EndpointID, t.OrgURI)
		if prev, dup := seen[t.OrgURI]; dup {
			problems = append(problems, fmt.Sprintf("%s: the organisation already has SMD endpoint Endpoint/%s; the directory keeps one per organisation", where, prev))
			continue
		}
		seen[t.OrgURI] = t.EndpointID
		if t.Cert == nil {
			problems = append(problems, where+": no encryption certificate")
			continue
		}
		row, _, err := validateEntry(DirectoryEntry{
			OrgURI: t.OrgURI, Name: t.Name, Endpoint: t.EndpointURL, Categories: t.PayloadTypes,
			CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: t.Cert.Raw}),
		})
		if err != nil {
			problems = append(problems, where+": "+err.Error())
			continue
		}
		rows = append(rows, row)
		targets[t.EndpointID] = t
	}
	listings, lp := importListings(d, targets)
	problems = append(problems, lp...)
	if len(problems) > 0 {
		return ImportResult{}, &ImportError{Problems: problems}
	}
	if len(rows) == 0 && len(listings) == 0 {
		return ImportResult{}, &ImportError{Empty: true}
	}
	var out ImportResult
	err := st.WithTx(ctx, func(tx *store.Store) error {
		entryOf := map[string]string{} // org URI → entry id
		uris := make([]string, 0, len(rows))
		for _, r := range rows {
			saved, err := tx.UpsertDirectoryEntry(ctx, r)
			if err != nil {
				return err
			}
			out.Entries = append(out.Entries, saved)
			entryOf[saved.OrgURI] = saved.ID
			uris = append(uris, saved.OrgURI)
		}
		orgURIs := []string{}
		refs := make([]string, 0, len(listings))
		for _, l := range listings {
			if id, ok := entryOf[l.OrgURI]; ok {
				l.EntryID = &id
			}
			saved, err := tx.UpsertListing(ctx, l)
			if err != nil {
				return fmt.Errorf("%s: %w", l.SourceRef, err)
			}
			out.Listings = append(out.Listings, saved)
			refs = append(refs, l.SourceRef)
			if l.OrgURI != "" {
				orgURIs = append(orgURIs, l.OrgURI)
			}
		}
		var err error
		if out.Removed, err = tx.DeleteListingsExcept(ctx, store.SourceImport, append(orgURIs, uris...), refs); err != nil {
			return err
		}
		return tx.Audit(ctx, by.event("", AuditDirectoryImported, map[string]string{
			"count": fmt.Sprint(len(uris)), "org_uris": strings.Join(uris, " "), "source": source,
			"listings": fmt.Sprint(len(out.Listings)), "listings_removed": fmt.Sprint(out.Removed),
		}))
	})
	if err != nil {
		return ImportResult{}, fmt.Errorf("directory import: %w", err)
	}
	return out, nil
}

// importListings maps the bundle's organisations, active practitioner
// roles and services onto listings (EntryID still unset), and lists what
// cannot be stored.
func importListings(d *fhirpd.Directory, targets map[string]fhirpd.Target) ([]store.Listing, []string) {
	ts := make([]fhirpd.Target, 0, len(targets))
	for _, t := range targets {
		ts = append(ts, t)
	}
	target := d.Routes(ts).For
	var out []store.Listing
	var problems []string
	add := func(l store.Listing, t fhirpd.Target, reachable bool) {
		l.Source = store.SourceImport
		if reachable {
			l.OrgURI = t.OrgURI
			l.PayloadTypes = t.PayloadTypes
			l.ReceivingApplication = hd(t.ReceivingApplication)
			l.ReceivingFacility = hd(t.ReceivingFacility)
		}
		normaliseListing(&l)
		if err := checkListing(l); err != nil {
			problems = append(problems, l.SourceRef+": "+err.Error())
			return
		}
		out = append(out, l)
	}
	for _, id := range sortedKeys(d.Organizations) {
		o := d.Organizations[id]
		l := store.Listing{Kind: store.ListingOrganisation, Name: o.Name, OrgName: o.Name, HPIO: o.HPIO,
			Phone: o.Phone, SourceRef: "Organization/" + id}
		setAddress(&l, o.Address)
		t, ok := target(nil, id)
		if !ok && o.HPIO != "" {
			l.OrgURI = fhirpd.HPIOURIPrefix + o.HPIO // known, but not reachable by SMD
		}
		add(l, t, ok)
	}
	for _, id := range sortedKeys(d.PractitionerRoles) {
		r := d.PractitionerRoles[id]
		if !r.Active {
			continue
		}
		l := store.Listing{Kind: store.ListingPractitioner, Phone: r.Phone, SourceRef: "PractitionerRole/" + id}
		if p := d.Practitioners[r.Practitioner]; p != nil {
			l.Name, l.HPII = p.Name.String(), p.HPII
			if len(p.ProviderNumbers) > 0 {
				l.ProviderNumber = p.ProviderNumbers[0]
			}
		}
		l.Specialty = r.Specialty()
		org := d.Organizations[r.Organization]
		if org != nil {
			l.OrgName = org.Name
			setAddress(&l, org.Address)
			if l.Phone == "" {
				l.Phone = org.Phone
			}
		}
		locate(&l, d, r.Locations)
		t, ok := target(r.Endpoints, r.Organization)
		if !ok && org != nil && org.HPIO != "" {
			l.OrgURI = fhirpd.HPIOURIPrefix + org.HPIO
		}
		add(l, t, ok)
	}
	for _, id := range sortedKeys(d.HealthcareServices) {
		s := d.HealthcareServices[id]
		l := store.Listing{Kind: store.ListingService, Name: s.Name, Phone: s.Phone, SourceRef: "HealthcareService/" + id}
		if len(s.Types) > 0 {
			l.Specialty = s.Types[0]
		}
		org := d.Organizations[s.Organization]
		if org != nil {
			l.OrgName = org.Name
			setAddress(&l, org.Address)
		}
		locate(&l, d, s.Locations)
		t, ok := target(s.Endpoints, s.Organization)
		if !ok && org != nil && org.HPIO != "" {
			l.OrgURI = fhirpd.HPIOURIPrefix + org.HPIO
		}
		add(l, t, ok)
	}
	return out, problems
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// locate takes the address (and phone, if none yet) of the first location
// that has an address.
func locate(l *store.Listing, d *fhirpd.Directory, ids []string) {
	for _, id := range ids {
		loc := d.Locations[id]
		if loc == nil || (loc.Suburb == "" && loc.Postcode == "" && loc.Address.Address == "") {
			continue
		}
		setAddress(l, loc.Address)
		if l.Phone == "" {
			l.Phone = loc.Phone
		}
		return
	}
}

func setAddress(l *store.Listing, a fhirpd.Address) {
	l.AddressLine, l.Suburb, l.State, l.Postcode = a.Address, a.Suburb, a.State, a.Postcode
}

// hd writes an HL7 HD (namespace^universal id^type), trailing empty
// components dropped.
func hd(h *fhirpd.HL7Identifier) string {
	if h == nil {
		return ""
	}
	return strings.TrimRight(h.NamespaceID+"^"+h.UniversalID+"^"+h.UniversalIDType, "^")
}

var stateNames = map[string]string{
	"australian capital territory": "ACT", "new south wales": "NSW", "northern territory": "NT",
	"queensland": "QLD", "south australia": "SA", "tasmania": "TAS", "victoria": "VIC", "western australia": "WA",
}

func normaliseListing(l *store.Listing) {
	for _, s := range []*string{&l.Name, &l.OrgName, &l.ProviderNumber, &l.Specialty, &l.AddressLine,
		&l.Suburb, &l.State, &l.Postcode, &l.Phone} {
		*s = strings.Join(strings.Fields(*s), " ")
	}
	if abbr, ok := stateNames[strings.ToLower(l.State)]; ok {
		l.State = abbr
	}
	l.State = strings.ToUpper(l.State)
}

var postcodeRE = regexp.MustCompile(`^([0-9]{4})?$`)

// checkListing mirrors the directory_listings constraints with messages an
// administrator can act on.
func checkListing(l store.Listing) error {
	switch {
	case l.Name == "":
		return errors.New("no name (a practitioner role needs a practitioner with a name)")
	case len([]rune(l.Name)) > 200:
		return errors.New("name is longer than 200 characters")
	case !postcodeRE.MatchString(l.Postcode):
		return fmt.Errorf("postcode %q is not 4 digits", l.Postcode)
	case len(l.State) > 3:
		return fmt.Errorf("state %q is not an Australian state or territory", l.State)
	case len(l.ProviderNumber) > 20:
		return fmt.Errorf("provider number %q is too long", l.ProviderNumber)
	case len([]rune(l.OrgName)) > 200, len([]rune(l.Specialty)) > 200, len([]rune(l.AddressLine)) > 200,
		len([]rune(l.Suburb)) > 100, len([]rune(l.Phone)) > 40:
		return errors.New("a text field is too long (organisation, specialty and address line 200, suburb 100, phone 40 characters)")
	case len(l.ReceivingApplication) > 300 || len(l.ReceivingFacility) > 300:
		return errors.New("receiving application or facility is longer than 300 characters")
	}
	return nil
}
