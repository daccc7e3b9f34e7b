// Package federate searches other providers' FHIR provider directories
// (HL7 AU PD, SMD.md §3.4) on behalf of the directory page, and fetches a
// whole organisation from one of them for provider.ImportDirectory.
//
// Remotes are assumed to be providers like us (internal/fhirserve): a
// PractitionerRole search by name with _include of its practitioner,
// organisation, location and endpoint. HealthcareService is not searched:
// our own /fhir/ answers it empty, so there is nothing to test it against.
package federate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/opensmd/portal/internal/fhirpd"
)

// MaxBytes caps one search response: a page of results, not a directory.
const MaxBytes = 2 << 20

// idRE is a FHIR id.
var idRE = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)

// ValidID reports whether s is a FHIR resource id.
func ValidID(s string) bool { return idRE.MatchString(s) }

// Row is one practitioner role found at a remote directory.
type Row struct {
	RoleID    string // PractitionerRole id
	Name      string
	Kind      string // "practitioner"
	Specialty string
	OrgID     string // remote Organization id ("" if none)
	OrgName   string
	// OrgURI is the SMD address (HPI-O URI, else SMD target identifier),
	// or the HPI-O URI of an unreachable organisation; "" if neither.
	OrgURI       string
	HPII         string
	Suburb       string
	State        string
	Postcode     string
	Reachable    bool // an active SMD endpoint with an encryption certificate
	PayloadTypes []string
}

// Error is a failed remote search, worded for the person searching.
type Error struct {
	Kind string // "timeout", "status", "unreadable", "unreachable"
	Err  error
}

func (e *Error) Error() string { return e.Kind + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// searchURL is base's PractitionerRole search for text.
// Query is what a remote directory is asked for: practitioners whose name
// contains Name, or the practitioner with an identifier (HPI-I or Medicare
// provider number).
type Query struct {
	Name, HPII, ProviderNumber string
}

func searchURL(base string, q Query, count int) string {
	v := url.Values{}
	switch {
	case q.HPII != "":
		v.Set("identifier", fhirpd.SystemHPII+"|"+q.HPII)
	case q.ProviderNumber != "":
		v.Set("identifier", fhirpd.SystemProviderNumber+"|"+q.ProviderNumber)
	default:
		v.Set("name", q.Name)
	}
	v["_include"] = []string{"PractitionerRole:practitioner", "PractitionerRole:organization",
		"PractitionerRole:location", "PractitionerRole:endpoint"}
	v.Set("_count", strconv.Itoa(count))
	return strings.TrimRight(base, "/") + "/PractitionerRole?" + v.Encode()
}

// OrganisationURLs are the searches that together return organisation
// orgID of base whole: its roles, services and endpoints with what they
// reference, and the organisation itself (it may have no roles).
// ImportDirectory replaces all listings of an organisation, so a partial
// fetch would delete what it left out.
func OrganisationURLs(base, orgID string) []string {
	b := strings.TrimRight(base, "/")
	q := func(typ string, v url.Values) string { return b + "/" + typ + "?" + v.Encode() }
	return []string{
		q("Organization", url.Values{"_id": {orgID}}),
		q("PractitionerRole", url.Values{"organization": {orgID}, "_include": {"PractitionerRole:practitioner",
			"PractitionerRole:organization", "PractitionerRole:location", "PractitionerRole:endpoint"}}),
		q("HealthcareService", url.Values{"organization": {orgID}, "_include": {"HealthcareService:organization",
			"HealthcareService:location", "HealthcareService:endpoint"}}),
		q("Endpoint", url.Values{"organization": {orgID}}),
	}
}

// Search queries one remote directory: one page of at most count
// practitioner roles matching q. ctx bounds the request.
func Search(ctx context.Context, c *http.Client, base string, q Query, count int) ([]Row, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, searchURL(base, q, count), nil)
	if err != nil {
		return nil, &Error{Kind: "unreachable", Err: err}
	}
	req.Header.Set("Accept", "application/fhir+json")
	resp, err := c.Do(req)
	if err != nil {
		if ctx.Err() != nil || isTimeout(err) {
			return nil, &Error{Kind: "timeout", Err: err}
		}
		return nil, &Error{Kind: "unreachable", Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, &Error{Kind: "status", Err: errors.New(resp.Status)}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxBytes+1))
	if err != nil {
		if ctx.Err() != nil || isTimeout(err) {
			return nil, &Error{Kind: "timeout", Err: err}
		}
		return nil, &Error{Kind: "unreachable", Err: err}
	}
	if len(data) > MaxBytes {
		return nil, &Error{Kind: "unreadable", Err: fmt.Errorf("answer larger than %d bytes", MaxBytes)}
	}
	d, err := fhirpd.Parse(bytes.NewReader(data), fhirpd.Limits{MaxBytes: MaxBytes})
	if err != nil {
		return nil, &Error{Kind: "unreadable", Err: err}
	}
	return Rows(d), nil
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &t) && t.Timeout())
}

// Rows lists the active practitioner roles of d, sorted by name.
func Rows(d *fhirpd.Directory) []Row {
	routes := d.Routes(d.SMDTargets())
	var out []Row
	for _, r := range d.PractitionerRoles {
		if !r.Active {
			continue
		}
		row := Row{RoleID: r.ID, Kind: "practitioner", OrgID: r.Organization}
		if p := d.Practitioners[r.Practitioner]; p != nil {
			row.Name, row.HPII = p.Name.String(), p.HPII
		}
		row.Specialty = r.Specialty()
		org := d.Organizations[r.Organization]
		if org != nil {
			row.OrgName = org.Name
			row.Suburb, row.State, row.Postcode = org.Suburb, org.State, org.Postcode
		}
		for _, id := range r.Locations {
			if l := d.Locations[id]; l != nil && (l.Suburb != "" || l.Postcode != "") {
				row.Suburb, row.State, row.Postcode = l.Suburb, l.State, l.Postcode
				break
			}
		}
		t, ok := routes.For(r.Endpoints, r.Organization)
		switch {
		case ok:
			row.OrgURI, row.Reachable, row.PayloadTypes = t.OrgURI, t.Cert != nil, t.PayloadTypes
		case org != nil && org.HPIO != "":
			row.OrgURI = fhirpd.HPIOURIPrefix + org.HPIO
		}
		if row.Name == "" {
			continue // nothing to show or search by
		}
		out = append(out, row)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].RoleID < out[j].RoleID
	})
	return out
}
