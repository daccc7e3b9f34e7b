package fhirpd

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Raw JSON shapes: only the elements this package reads.
type (
	rawBundle struct {
		ResourceType string     `json:"resourceType"`
		Type         string     `json:"type"`
		Entry        []rawEntry `json:"entry"`
	}
	rawEntry struct {
		FullURL  string          `json:"fullUrl"`
		Resource json.RawMessage `json:"resource"`
	}
	rawHead struct {
		ResourceType string `json:"resourceType"`
		ID           string `json:"id"`
	}
	rawCoding struct {
		System  string `json:"system"`
		Code    string `json:"code"`
		Display string `json:"display"`
	}
	rawConcept struct {
		Coding []rawCoding `json:"coding"`
		Text   string      `json:"text"`
	}
	rawIdentifier struct {
		System string `json:"system"`
		Value  string `json:"value"`
	}
	rawReference struct {
		Reference string `json:"reference"`
	}
	rawAddress struct {
		Line       []string `json:"line"`
		City       string   `json:"city"`
		State      string   `json:"state"`
		PostalCode string   `json:"postalCode"`
	}
	rawContact struct {
		System string `json:"system"`
		Value  string `json:"value"`
	}
	rawExtension struct {
		URL         string         `json:"url"`
		ValueString *string        `json:"valueString"`
		Extension   []rawExtension `json:"extension"`
	}
	rawOrganization struct {
		Identifier []rawIdentifier `json:"identifier"`
		Name       string          `json:"name"`
		Address    []rawAddress    `json:"address"`
		Telecom    []rawContact    `json:"telecom"`
	}
	rawPractitioner struct {
		Identifier []rawIdentifier `json:"identifier"`
		Name       []struct {
			Text   string   `json:"text"`
			Family string   `json:"family"`
			Given  []string `json:"given"`
			Prefix []string `json:"prefix"`
		} `json:"name"`
	}
	rawPractitionerRole struct {
		Active       *bool          `json:"active"`
		Practitioner *rawReference  `json:"practitioner"`
		Organization *rawReference  `json:"organization"`
		Location     []rawReference `json:"location"`
		Code         []rawConcept   `json:"code"`
		Specialty    []rawConcept   `json:"specialty"`
		Endpoint     []rawReference `json:"endpoint"`
		Telecom      []rawContact   `json:"telecom"`
	}
	rawHealthcareService struct {
		Name       string         `json:"name"`
		ProvidedBy *rawReference  `json:"providedBy"`
		Location   []rawReference `json:"location"`
		Type       []rawConcept   `json:"type"`
		Endpoint   []rawReference `json:"endpoint"`
		Telecom    []rawContact   `json:"telecom"`
	}
	rawLocation struct {
		Name    string       `json:"name"`
		Address *rawAddress  `json:"address"`
		Telecom []rawContact `json:"telecom"`
	}
	rawEndpoint struct {
		Extension            []rawExtension  `json:"extension"`
		Identifier           []rawIdentifier `json:"identifier"`
		Status               string          `json:"status"`
		ConnectionType       *rawCoding      `json:"connectionType"`
		Name                 string          `json:"name"`
		ManagingOrganization *rawReference   `json:"managingOrganization"`
		PayloadType          []rawConcept    `json:"payloadType"`
		Address              string          `json:"address"`
	}
)

var bundleTypes = map[string]bool{"collection": true, "searchset": true, "transaction": true}

// parser carries the state of one Parse call.
type parser struct {
	lim      Limits
	problems []Problem
	warnings []Problem
	dir      *Directory
	// byURL maps fullUrl and "Type/id" to "Type/id" of a bundle resource.
	byURL map[string]string
	refs  []pendingRef
}

// pendingRef is a reference checked once every resource is known.
type pendingRef struct {
	at   Problem // Entry/Resource/ID/Path of the reference
	ref  string
	want string // resource type
	set  func(id string)
}

func (p *parser) problem(at Problem, format string, args ...any) {
	at.Message = fmt.Sprintf(format, args...)
	p.problems = append(p.problems, at)
}

func (p *parser) warn(at Problem, format string, args ...any) {
	at.Message = fmt.Sprintf(format, args...)
	p.warnings = append(p.warnings, at)
}

// Parse reads a FHIR R4 JSON Bundle. It returns a complete Directory, or a
// *ValidationError with every problem found (or an I/O error).
func Parse(r io.Reader, limits Limits) (*Directory, error) {
	lim := limits.withDefaults()
	data, err := io.ReadAll(io.LimitReader(r, lim.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("fhirpd: read: %w", err)
	}
	bundle := Problem{Entry: -1}
	p := &parser{lim: lim, byURL: map[string]string{}, dir: &Directory{
		Organizations:      map[string]*Organization{},
		Practitioners:      map[string]*Practitioner{},
		PractitionerRoles:  map[string]*PractitionerRole{},
		HealthcareServices: map[string]*HealthcareService{},
		Locations:          map[string]*Location{},
		Endpoints:          map[string]*Endpoint{},
	}}
	if int64(len(data)) > lim.MaxBytes {
		p.problem(bundle, "bundle is larger than %d bytes", lim.MaxBytes)
		return nil, p.fail()
	}
	if off, ok := depthOK(data, lim.MaxDepth); !ok {
		p.problem(bundle, "JSON nested deeper than %d levels at offset %d", lim.MaxDepth, off)
		return nil, p.fail()
	}
	var b rawBundle
	if err := json.Unmarshal(data, &b); err != nil {
		p.problem(bundle, "malformed JSON: %s", jsonError(err))
		return nil, p.fail()
	}
	if b.ResourceType != "Bundle" {
		p.problem(bundle, "not a Bundle (resourceType %q)", b.ResourceType)
		return nil, p.fail()
	}
	if !bundleTypes[b.Type] {
		p.problem(Problem{Entry: -1, Path: "Bundle.type"}, "bundle type %q is not collection, searchset or transaction", b.Type)
	}
	if len(b.Entry) > lim.MaxEntries {
		p.problem(bundle, "bundle has %d entries, more than %d", len(b.Entry), lim.MaxEntries)
		return nil, p.fail()
	}
	for i, e := range b.Entry {
		p.entry(i, e)
	}
	p.resolve()
	if len(p.problems) > 0 {
		return nil, p.fail()
	}
	p.unaddressable()
	p.dir.Warnings = p.warnings
	return p.dir, nil
}

func (p *parser) fail() error {
	return &ValidationError{Problems: p.problems}
}

// jsonError keeps the byte offset the caller needs to find the fault.
func jsonError(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("%s at offset %d", se.Error(), se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("%s at offset %d", te.Error(), te.Offset)
	}
	return err.Error()
}

// depthOK reports whether JSON arrays/objects nest at most max deep (outside
// strings), else the offset where it went too deep. Malformed input is left
// for encoding/json to report.
func depthOK(data []byte, max int) (int, bool) {
	depth := 0
	inStr, esc := false, false
	for i, c := range data {
		switch {
		case inStr:
			if esc {
				esc = false
			} else if c == '\\' {
				esc = true
			} else if c == '"' {
				inStr = false
			}
		case c == '"':
			inStr = true
		case c == '{' || c == '[':
			depth++
			if depth > max {
				return i, false
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return 0, true
}

func (p *parser) entry(i int, e rawEntry) {
	at := Problem{Entry: i}
	if len(e.Resource) == 0 || string(e.Resource) == "null" {
		p.problem(at, "entry has no resource")
		return
	}
	var h rawHead
	if err := json.Unmarshal(e.Resource, &h); err != nil {
		p.problem(at, "malformed resource: %s", jsonError(err))
		return
	}
	at.Resource, at.ID = h.ResourceType, h.ID
	if h.ResourceType == "" {
		p.problem(at, "resource has no resourceType")
		return
	}
	decode, known := decoders[h.ResourceType]
	if !known {
		p.warn(at, "resource type %s skipped", h.ResourceType)
		return
	}
	if h.ID == "" {
		p.problem(at, "resource has no id")
		return
	}
	key := h.ResourceType + "/" + h.ID
	if _, dup := p.byURL[key]; dup {
		p.problem(at, "duplicate id %s", key)
		return
	}
	p.byURL[key] = key
	if e.FullURL != "" {
		if prev, dup := p.byURL[e.FullURL]; dup && prev != key {
			p.problem(Problem{Entry: i, Resource: at.Resource, ID: at.ID, Path: "fullUrl"}, "duplicate fullUrl %s", e.FullURL)
		}
		p.byURL[e.FullURL] = key
	}
	if err := decode(p, at, e.Resource); err != nil {
		p.problem(at, "malformed %s: %s", h.ResourceType, jsonError(err))
	}
}

// ref queues a reference for resolution once every entry is read.
func (p *parser) ref(at Problem, path string, r *rawReference, want string, set func(string)) {
	if r == nil || r.Reference == "" {
		return // display-only references carry nothing to resolve
	}
	at.Path = path
	p.refs = append(p.refs, pendingRef{at: at, ref: r.Reference, want: want, set: set})
}

func (p *parser) refList(at Problem, path string, rs []rawReference, want string, dst *[]string) {
	for i := range rs {
		p.ref(at, fmt.Sprintf("%s[%d]", path, i), &rs[i], want, func(id string) { *dst = append(*dst, id) })
	}
}

// resolve checks every queued reference: a fullUrl in the bundle (urn:uuid:
// or absolute), "Type/id" relative, or an absolute URL ending in
// "Type/id[/_history/n]" of a bundle resource. Contained ("#x") references
// are not supported.
func (p *parser) resolve() {
	for _, r := range p.refs {
		key, ok := p.lookup(r.ref)
		if !ok {
			p.problem(r.at, "dangling reference %q", r.ref)
			continue
		}
		typ, id, _ := strings.Cut(key, "/")
		if typ != r.want {
			p.problem(r.at, "reference %q is a %s, want %s", r.ref, typ, r.want)
			continue
		}
		r.set(id)
	}
}

func (p *parser) lookup(ref string) (string, bool) {
	if k, ok := p.byURL[ref]; ok {
		return k, true
	}
	if i := strings.Index(ref, "/_history/"); i >= 0 {
		ref = ref[:i]
		if k, ok := p.byURL[ref]; ok {
			return k, true
		}
	}
	parts := strings.Split(ref, "/")
	if n := len(parts); n >= 2 {
		k := parts[n-2] + "/" + parts[n-1]
		if _, ok := p.byURL[k]; ok && p.byURL[k] == k {
			return k, true
		}
	}
	return "", false
}

func conceptTexts(cs []rawConcept) []string {
	var out []string
	for _, c := range cs {
		if t := conceptText(c); t != "" {
			out = append(out, t)
		}
	}
	return out
}

func conceptText(c rawConcept) string {
	if c.Text != "" {
		return c.Text
	}
	for _, cd := range c.Coding {
		if cd.Display != "" {
			return cd.Display
		}
	}
	for _, cd := range c.Coding {
		if cd.Code != "" {
			return cd.Code
		}
	}
	return ""
}

// phone is the first telephone number of a telecom list.
func phone(cs []rawContact) string {
	for _, c := range cs {
		if c.System == "phone" && strings.TrimSpace(c.Value) != "" {
			return strings.TrimSpace(c.Value)
		}
	}
	return ""
}

func flatAddress(a *rawAddress) Address {
	if a == nil {
		return Address{}
	}
	return Address{Address: strings.Join(a.Line, ", "), Suburb: a.City, State: a.State, Postcode: a.PostalCode}
}

// unaddressable warns about SMD endpoints SMDTargets must leave out.
func (p *parser) unaddressable() {
	for _, e := range p.dir.sortedEndpoints() {
		if !e.HasConnectionType(IntfSMD) || e.SMDTarget != "" {
			continue
		}
		if o := p.dir.endpointOrg(e); o != nil && o.HPIO != "" {
			continue
		}
		p.warn(Problem{Entry: -1, Resource: "Endpoint", ID: e.ID},
			"SMD endpoint has neither an SMD target identifier nor one organisation with an HPI-O; it is not a target")
	}
}
