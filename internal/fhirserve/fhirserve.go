// Package fhirserve publishes this provider's hosted organisations and
// their practitioners as a read-only HL7 AU Provider Directory (FHIR R4
// JSON, SMD.md §3.4), so other providers can find and address them: the
// inverse of fhirpd and provider.ImportDirectory.
//
// Resources come from the hosted directory listings (provider.
// SyncHostedListings): Organization, Location and Endpoint ids are the
// organisation id; Practitioner and PractitionerRole ids are the user id.
// HealthcareService searches are answered but always empty: the portal
// has no model of services yet.
package fhirserve

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/opensmd/portal/internal/fhirpd"
	"github.com/opensmd/portal/internal/store"
)

// Publisher says where and how a hosted organisation takes delivery.
type Publisher interface {
	// Endpoint returns this provider's SMD endpoint URL and organisation
	// orgID's active encryption certificate; cert is nil when the
	// organisation has no active key (it is then not published as
	// reachable).
	Endpoint(ctx context.Context, orgID string) (endpointURL string, cert *x509.Certificate, err error)
}

// Paging bounds (_count).
const (
	DefaultCount = 50
	MaxCount     = 200
)

// SystemPayloadType is the AU PD code system of Endpoint.payloadType.
const SystemPayloadType = "http://hl7.org.au/fhir/CodeSystem/endpoint-payload-type"

// Resource is a FHIR resource as JSON.
type Resource = map[string]any

// Error is a request the API refuses, shown as an OperationOutcome.
type Error struct {
	Status int
	Code   string // OperationOutcome issue code: not-found, invalid, not-supported
	Text   string
}

func (e *Error) Error() string { return e.Text }

func badRequest(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "invalid", Text: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) *Error {
	return &Error{Status: http.StatusNotFound, Code: "not-found", Text: fmt.Sprintf(format, args...)}
}

// Outcome is the OperationOutcome for err (an *Error, else a 500 that
// says nothing about the cause).
func Outcome(err error) (int, Resource) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Status: http.StatusInternalServerError, Code: "exception", Text: "internal error"}
	}
	sev := "error"
	return e.Status, Resource{"resourceType": "OperationOutcome", "issue": []any{
		Resource{"severity": sev, "code": e.Code, "diagnostics": e.Text},
	}}
}

// Server answers FHIR reads and searches.
type Server struct {
	Store     *store.Store
	Publisher Publisher
}

// Types lists the resource types served.
var Types = []string{"Organization", "Location", "Endpoint", "Practitioner", "PractitionerRole", "HealthcareService"}

// includes lists the _include values each type supports.
var includes = map[string][]string{
	"PractitionerRole":  {"PractitionerRole:practitioner", "PractitionerRole:organization", "PractitionerRole:endpoint", "PractitionerRole:location"},
	"HealthcareService": {"HealthcareService:organization", "HealthcareService:endpoint", "HealthcareService:location"},
	"Endpoint":          {"Endpoint:organization"},
	"Location":          {"Location:organization", "Location:endpoint"},
}

// params lists the search parameters of each type besides _count, _page,
// _include, _id and _format.
var params = map[string][]string{
	"Organization":      {"identifier", "name"},
	"Location":          {"name", "organization"},
	"Endpoint":          {"identifier", "name", "organization", "status"},
	"Practitioner":      {"identifier", "name"},
	"PractitionerRole":  {"identifier", "name", "organization", "practitioner", "active"},
	"HealthcareService": {"identifier", "name", "organization"},
}

// request is one search against one base URL.
type request struct {
	s    *Server
	ctx  context.Context
	base string // e.g. https://portal.example/fhir
	orgs []store.Listing
	// eps caches Publisher answers by organisation id.
	eps map[string]endpoint
}

type endpoint struct {
	url  string
	cert *x509.Certificate
}

func (s *Server) newRequest(ctx context.Context, base string) (*request, error) {
	orgs, _, err := s.Store.SearchListings(ctx, store.ListingSearch{Source: store.SourceHosted, Kind: store.ListingOrganisation, Limit: 100000})
	if err != nil {
		return nil, err
	}
	return &request{s: s, ctx: ctx, base: strings.TrimRight(base, "/"), orgs: orgs, eps: map[string]endpoint{}}, nil
}

func (r *request) orgByURI(uri string) (store.Listing, bool) {
	for _, o := range r.orgs {
		if o.OrgURI == uri {
			return o, true
		}
	}
	return store.Listing{}, false
}

func (r *request) orgByID(id string) (store.Listing, bool) {
	for _, o := range r.orgs {
		if o.SourceRef == id {
			return o, true
		}
	}
	return store.Listing{}, false
}

// endpoint is the published SMD endpoint of organisation orgID, if any.
func (r *request) endpoint(orgID string) (endpoint, bool, error) {
	if e, ok := r.eps[orgID]; ok {
		return e, e.cert != nil && e.url != "", nil
	}
	u, cert, err := r.s.Publisher.Endpoint(r.ctx, orgID)
	if err != nil {
		return endpoint{}, false, err
	}
	e := endpoint{url: u, cert: cert}
	r.eps[orgID] = e
	return e, cert != nil && u != "", nil
}

// Read returns resource typ/id.
func (s *Server) Read(ctx context.Context, base, typ, id string) (Resource, error) {
	if !slices.Contains(Types, typ) {
		return nil, notFound("resource type %q is not served here; this server serves %s", typ, strings.Join(Types, ", "))
	}
	r, err := s.newRequest(ctx, base)
	if err != nil {
		return nil, err
	}
	res, _, err := r.search(typ, query{id: id, count: 1})
	if err != nil {
		return nil, err
	}
	if len(res) == 0 {
		return nil, notFound("%s/%s is not known", typ, id)
	}
	return res[0], nil
}

// query is a parsed search.
type query struct {
	id, name, org, practitioner, status string
	ident                               *identifier
	count, offset                       int
}

type identifier struct{ system, value string }

// Search runs a search on typ with the request's query parameters and
// returns a searchset Bundle; self and next links are built on base.
func (s *Server) Search(ctx context.Context, base, typ string, v url.Values) (Resource, error) {
	if !slices.Contains(Types, typ) {
		return nil, notFound("resource type %q is not served here; this server serves %s", typ, strings.Join(Types, ", "))
	}
	q, incl, err := parseQuery(typ, v)
	if err != nil {
		return nil, err
	}
	r, err := s.newRequest(ctx, base)
	if err != nil {
		return nil, err
	}
	matches, total, err := r.search(typ, q)
	if err != nil {
		return nil, err
	}
	entries := make([]any, 0, len(matches))
	seen := map[string]bool{}
	for _, m := range matches {
		k := key(m)
		seen[k] = true
		entries = append(entries, r.entry(m, "match"))
	}
	for _, m := range matches {
		inc, err := r.included(typ, m, incl)
		if err != nil {
			return nil, err
		}
		for _, res := range inc {
			if k := key(res); !seen[k] {
				seen[k] = true
				entries = append(entries, r.entry(res, "include"))
			}
		}
	}
	links := []any{Resource{"relation": "self", "url": r.pageURL(typ, v, q.offset)}}
	if next := q.offset + len(matches); len(matches) > 0 && next < total {
		links = append(links, Resource{"relation": "next", "url": r.pageURL(typ, v, next)})
	}
	return Resource{"resourceType": "Bundle", "type": "searchset", "total": total, "link": links, "entry": entries}, nil
}

func key(res Resource) string { return fmt.Sprint(res["resourceType"], "/", res["id"]) }

func (r *request) entry(res Resource, mode string) Resource {
	return Resource{"fullUrl": r.base + "/" + key(res), "resource": res, "search": Resource{"mode": mode}}
}

// pageURL is the search URL of the page starting at offset.
func (r *request) pageURL(typ string, v url.Values, offset int) string {
	w := url.Values{}
	for k, vs := range v {
		if k != "_page" {
			w[k] = vs
		}
	}
	if offset > 0 {
		w.Set("_page", pageToken(offset))
	}
	u := r.base + "/" + typ
	if len(w) > 0 {
		u += "?" + w.Encode()
	}
	return u
}

// pageToken is opaque to clients: they follow Bundle.link next.
func pageToken(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("o" + strconv.Itoa(offset)))
}

func parsePageToken(s string) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 2 || b[0] != 'o' {
		return 0, false
	}
	n, err := strconv.Atoi(string(b[1:]))
	return n, err == nil && n >= 0 && n <= 1_000_000
}

func parseQuery(typ string, v url.Values) (query, []string, error) {
	q := query{count: DefaultCount}
	var incl []string
	for k, vs := range v {
		if len(vs) > 1 && k != "_include" {
			return q, nil, badRequest("parameter %s is repeated; give it once", k)
		}
		val := vs[0]
		switch k {
		case "_count":
			n, err := strconv.Atoi(val)
			if err != nil || n < 1 {
				return q, nil, badRequest("_count %q must be a whole number from 1 to %d", val, MaxCount)
			}
			q.count = min(n, MaxCount)
		case "_page":
			n, ok := parsePageToken(val)
			if !ok {
				return q, nil, badRequest("_page %q is not a page token from a Bundle.link", val)
			}
			q.offset = n
		case "_include":
			for _, in := range vs {
				if !slices.Contains(includes[typ], in) {
					return q, nil, badRequest("_include %q is not supported for %s (supported: %s)", in, typ, strings.Join(includes[typ], ", "))
				}
				incl = append(incl, in)
			}
		case "_format":
			if val != "json" && val != "application/fhir+json" && val != "application/json" {
				return q, nil, badRequest("_format %q: only JSON is served", val)
			}
		case "_id":
			q.id = val
		default:
			if !slices.Contains(params[typ], k) {
				return q, nil, badRequest("search parameter %q is not supported for %s (supported: %s, _id, _count, _include)", k, typ, strings.Join(params[typ], ", "))
			}
			switch k {
			case "name":
				q.name = val
			case "organization":
				q.org = refID("Organization", val)
			case "practitioner":
				q.practitioner = refID("Practitioner", val)
			case "status":
				q.status = val
			case "active":
				if val != "true" && val != "false" {
					return q, nil, badRequest("active %q must be true or false", val)
				}
				if val == "false" {
					q.status = "inactive" // every published role is active
				}
			case "identifier":
				sys, value, hasSys := strings.Cut(val, "|")
				if !hasSys {
					sys, value = "", val
				}
				if value == "" && sys == "" {
					return q, nil, badRequest("identifier must be system|value, system| or value")
				}
				q.ident = &identifier{system: sys, value: value}
			}
		}
	}
	return q, incl, nil
}

// refID takes the id from "Type/id", an absolute URL ending in it, or a
// bare id.
func refID(typ, ref string) string {
	if i := strings.LastIndex(ref, typ+"/"); i >= 0 {
		return ref[i+len(typ)+1:]
	}
	return ref
}

// search returns one page of typ resources matching q and the total.
func (r *request) search(typ string, q query) ([]Resource, int, error) {
	switch typ {
	case "HealthcareService":
		return nil, 0, nil
	case "Practitioner", "PractitionerRole":
		return r.searchPractitioners(typ, q)
	}
	var out []Resource
	for _, o := range r.orgs {
		ok, err := r.orgMatches(typ, o, q)
		if err != nil {
			return nil, 0, err
		}
		if !ok {
			continue
		}
		res, err := r.orgResource(typ, o)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, res)
	}
	total := len(out)
	if q.offset >= total {
		return nil, total, nil
	}
	return out[q.offset:min(total, q.offset+q.count)], total, nil
}

func (r *request) orgMatches(typ string, o store.Listing, q query) (bool, error) {
	if q.id != "" && o.SourceRef != q.id {
		return false, nil
	}
	if q.org != "" && o.SourceRef != q.org {
		return false, nil
	}
	if q.name != "" && !strings.Contains(strings.ToLower(o.Name), strings.ToLower(q.name)) {
		return false, nil
	}
	if q.ident != nil {
		switch {
		case typ == "Organization" && (q.ident.system == fhirpd.SystemHPIO || q.ident.system == ""):
			if q.ident.value != "" && q.ident.value != o.HPIO {
				return false, nil
			}
		case typ == "Endpoint" && (q.ident.system == fhirpd.SystemSMDTarget || q.ident.system == ""):
			if q.ident.value != "" && q.ident.value != o.OrgURI {
				return false, nil
			}
		default:
			return false, nil
		}
	}
	if typ == "Endpoint" {
		if q.status != "" && q.status != "active" {
			return false, nil
		}
		_, ok, err := r.endpoint(o.SourceRef)
		return ok, err
	}
	return true, nil
}

func (r *request) searchPractitioners(typ string, q query) ([]Resource, int, error) {
	if q.status == "inactive" {
		return nil, 0, nil
	}
	s := store.ListingSearch{Source: store.SourceHosted, Kind: store.ListingPractitioner, SourceRef: q.id,
		Name: q.name, Limit: q.count, Offset: q.offset}
	if q.practitioner != "" {
		if s.SourceRef != "" && s.SourceRef != q.practitioner {
			return nil, 0, nil
		}
		s.SourceRef = q.practitioner
	}
	if q.org != "" {
		o, ok := r.orgByID(q.org)
		if !ok {
			return nil, 0, nil
		}
		s.OrgURI = o.OrgURI
	}
	if q.ident != nil {
		switch sys, v := q.ident.system, q.ident.value; {
		case sys == fhirpd.SystemHPII || (sys == "" && strings.HasPrefix(v, "800361")):
			s.HPII = v
			if v == "" {
				s.HPII = "" // any HPI-I: every published practitioner has one
			}
		case sys == fhirpd.SystemProviderNumber || sys == "":
			if v == "" {
				return nil, 0, nil
			}
			s.ProviderNumber = v
		default:
			return nil, 0, nil
		}
	}
	if s.SourceRef != "" && !validUUID(s.SourceRef) {
		return nil, 0, nil
	}
	ls, total, err := r.s.Store.SearchListings(r.ctx, s)
	if err != nil {
		return nil, 0, err
	}
	out := make([]Resource, 0, len(ls))
	for _, l := range ls {
		res, err := r.practitionerResource(typ, l)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, res)
	}
	return out, total, nil
}

func validUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case !strings.ContainsRune("0123456789abcdefABCDEF", c):
			return false
		}
	}
	return true
}

// included lists the resources m's _include values name.
func (r *request) included(typ string, m Resource, incl []string) ([]Resource, error) {
	var out []Resource
	for _, in := range incl {
		field := strings.TrimPrefix(in, typ+":")
		var refs []string
		switch v := m[jsonField(typ, field)].(type) {
		case Resource:
			refs = append(refs, v["reference"].(string))
		case []any:
			for _, x := range v {
				refs = append(refs, x.(Resource)["reference"].(string))
			}
		}
		for _, ref := range refs {
			rt, id, _ := strings.Cut(ref, "/")
			res, _, err := r.search(rt, query{id: id, count: 1})
			if err != nil {
				return nil, err
			}
			out = append(out, res...)
		}
	}
	return out, nil
}

// jsonField maps a search parameter onto the element it follows.
func jsonField(typ, param string) string {
	switch {
	case typ == "Endpoint" && param == "organization":
		return "managingOrganization"
	case typ == "Location" && param == "organization":
		return "managingOrganization"
	}
	return param
}

func ref(typ, id string) Resource { return Resource{"reference": typ + "/" + id} }

func address(l store.Listing) []any {
	if l.AddressLine == "" && l.Suburb == "" && l.State == "" && l.Postcode == "" {
		return nil
	}
	a := Resource{"use": "work", "country": "AU"}
	if l.AddressLine != "" {
		a["line"] = []string{l.AddressLine}
	}
	for k, v := range map[string]string{"city": l.Suburb, "state": l.State, "postalCode": l.Postcode} {
		if v != "" {
			a[k] = v
		}
	}
	return []any{a}
}

func telecom(l store.Listing) []any {
	if l.Phone == "" {
		return nil
	}
	return []any{Resource{"system": "phone", "value": l.Phone, "use": "work"}}
}

// orgResource is the Organization, Location or Endpoint of a hosted
// organisation.
func (r *request) orgResource(typ string, o store.Listing) (Resource, error) {
	id := o.SourceRef
	switch typ {
	case "Organization":
		res := Resource{"resourceType": "Organization", "id": id, "active": true, "name": o.Name,
			"identifier": []any{Resource{"system": fhirpd.SystemHPIO, "value": o.HPIO}}}
		if a := address(o); a != nil {
			res["address"] = a
		}
		if t := telecom(o); t != nil {
			res["telecom"] = t
		}
		return res, nil
	case "Location":
		res := Resource{"resourceType": "Location", "id": id, "status": "active", "name": o.Name,
			"managingOrganization": ref("Organization", id)}
		if a := address(o); a != nil {
			res["address"] = a[0]
		}
		if t := telecom(o); t != nil {
			res["telecom"] = t
		}
		if _, ok, err := r.endpoint(id); err != nil {
			return nil, err
		} else if ok {
			res["endpoint"] = []any{ref("Endpoint", id)}
		}
		return res, nil
	}
	ep, _, err := r.endpoint(id)
	if err != nil {
		return nil, err
	}
	var ext []any
	if h := hdExtension(fhirpd.ExtReceivingFacility, o.ReceivingFacility); h != nil {
		ext = append(ext, h)
	}
	if h := hdExtension(fhirpd.ExtReceivingApplication, o.ReceivingApplication); h != nil {
		ext = append(ext, h)
	}
	ext = append(ext, Resource{"url": fhirpd.ExtEncryptionCert,
		"valueString": string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ep.cert.Raw}))})
	payload := make([]any, len(o.PayloadTypes))
	for i, p := range o.PayloadTypes {
		payload[i] = Resource{"coding": []any{Resource{"system": SystemPayloadType, "code": p}}}
	}
	return Resource{"resourceType": "Endpoint", "id": id, "status": "active", "name": o.Name + " SMD",
		"extension":            ext,
		"identifier":           []any{Resource{"system": fhirpd.SystemSMDTarget, "value": o.OrgURI}},
		"connectionType":       Resource{"system": fhirpd.SystemSMDInterfaces, "code": fhirpd.IntfSMD},
		"managingOrganization": ref("Organization", id),
		"payloadType":          payload,
		"address":              ep.url,
	}, nil
}

// hdExtension writes an HL7 HD string as the AU PD complex extension.
func hdExtension(url, hd string) Resource {
	if hd == "" {
		return nil
	}
	parts := strings.SplitN(hd, "^", 3)
	names := []string{"namespace-id", "universal-id", "universal-id-type"}
	var sub []any
	for i, p := range parts {
		if p != "" {
			sub = append(sub, Resource{"url": names[i], "valueString": p})
		}
	}
	return Resource{"url": url, "extension": sub}
}

// practitionerResource is the Practitioner or PractitionerRole of a
// hosted practitioner.
func (r *request) practitionerResource(typ string, l store.Listing) (Resource, error) {
	id := l.SourceRef
	if typ == "Practitioner" {
		ids := []any{Resource{"system": fhirpd.SystemHPII, "value": l.HPII}}
		if l.ProviderNumber != "" {
			ids = append(ids, Resource{"system": fhirpd.SystemProviderNumber, "value": l.ProviderNumber})
		}
		return Resource{"resourceType": "Practitioner", "id": id, "active": true, "identifier": ids,
			"name": []any{Resource{"use": "official", "text": l.Name}}}, nil
	}
	res := Resource{"resourceType": "PractitionerRole", "id": id, "active": true, "practitioner": ref("Practitioner", id)}
	if l.Specialty != "" {
		res["code"] = []any{Resource{"text": l.Specialty}}
		res["specialty"] = []any{Resource{"text": l.Specialty}}
	}
	if t := telecom(l); t != nil {
		res["telecom"] = t
	}
	if o, ok := r.orgByURI(l.OrgURI); ok {
		res["organization"] = ref("Organization", o.SourceRef)
		res["location"] = []any{ref("Location", o.SourceRef)}
		if _, ok, err := r.endpoint(o.SourceRef); err != nil {
			return nil, err
		} else if ok {
			res["endpoint"] = []any{ref("Endpoint", o.SourceRef)}
		}
	}
	return res, nil
}
