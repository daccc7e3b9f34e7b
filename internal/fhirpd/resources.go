package fhirpd

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"

	"github.com/opensmd/portal/internal/hi"
)

// decoders read one resource of each supported type into the Directory.
var decoders = map[string]func(p *parser, at Problem, data []byte) error{
	"Organization":      decodeOrganization,
	"Practitioner":      decodePractitioner,
	"PractitionerRole":  decodePractitionerRole,
	"HealthcareService": decodeHealthcareService,
	"Location":          decodeLocation,
	"Endpoint":          decodeEndpoint,
}

// healthID validates an HPI-O or HPI-I identifier value.
func (p *parser) healthID(at Problem, path string, k hi.Kind, v string) string {
	d, err := hi.Validate(k, v)
	if err != nil {
		at.Path = path
		p.problem(at, "%s %q: %v", k, v, err)
		return ""
	}
	return d
}

func decodeOrganization(p *parser, at Problem, data []byte) error {
	var r rawOrganization
	if err := json.Unmarshal(data, &r); err != nil {
		return err
	}
	o := &Organization{ID: at.ID, Name: r.Name, Phone: phone(r.Telecom)}
	for i, id := range r.Identifier {
		if id.System == SystemHPIO {
			if d := p.healthID(at, identPath("Organization", i), hi.HPIO, id.Value); d != "" && o.HPIO == "" {
				o.HPIO = d
			}
		}
	}
	if len(r.Address) > 0 {
		o.Address = flatAddress(&r.Address[0])
	}
	p.dir.Organizations[o.ID] = o
	return nil
}

func identPath(res string, i int) string {
	return res + ".identifier[" + itoa(i) + "]"
}

func decodePractitioner(p *parser, at Problem, data []byte) error {
	var r rawPractitioner
	if err := json.Unmarshal(data, &r); err != nil {
		return err
	}
	pr := &Practitioner{ID: at.ID}
	if len(r.Name) > 0 {
		n := r.Name[0]
		pr.Name = HumanName{Text: n.Text, Family: n.Family, Given: n.Given, Prefix: n.Prefix}
	}
	for i, id := range r.Identifier {
		switch id.System {
		case SystemHPII:
			if d := p.healthID(at, identPath("Practitioner", i), hi.HPII, id.Value); d != "" && pr.HPII == "" {
				pr.HPII = d
			}
		case SystemProviderNumber:
			if v := strings.TrimSpace(id.Value); v != "" {
				pr.ProviderNumbers = append(pr.ProviderNumbers, v)
			}
		}
	}
	p.dir.Practitioners[pr.ID] = pr
	return nil
}

func decodePractitionerRole(p *parser, at Problem, data []byte) error {
	var r rawPractitionerRole
	if err := json.Unmarshal(data, &r); err != nil {
		return err
	}
	pr := &PractitionerRole{ID: at.ID, Active: r.Active == nil || *r.Active,
		Specialties: conceptTexts(r.Specialty), Codes: conceptTexts(r.Code), Phone: phone(r.Telecom)}
	p.ref(at, "PractitionerRole.practitioner", r.Practitioner, "Practitioner", func(id string) { pr.Practitioner = id })
	p.ref(at, "PractitionerRole.organization", r.Organization, "Organization", func(id string) { pr.Organization = id })
	p.refList(at, "PractitionerRole.location", r.Location, "Location", &pr.Locations)
	p.refList(at, "PractitionerRole.endpoint", r.Endpoint, "Endpoint", &pr.Endpoints)
	p.dir.PractitionerRoles[pr.ID] = pr
	return nil
}

func decodeHealthcareService(p *parser, at Problem, data []byte) error {
	var r rawHealthcareService
	if err := json.Unmarshal(data, &r); err != nil {
		return err
	}
	s := &HealthcareService{ID: at.ID, Name: r.Name, Types: conceptTexts(r.Type), Phone: phone(r.Telecom)}
	p.ref(at, "HealthcareService.providedBy", r.ProvidedBy, "Organization", func(id string) { s.Organization = id })
	p.refList(at, "HealthcareService.location", r.Location, "Location", &s.Locations)
	p.refList(at, "HealthcareService.endpoint", r.Endpoint, "Endpoint", &s.Endpoints)
	p.dir.HealthcareServices[s.ID] = s
	return nil
}

func decodeLocation(p *parser, at Problem, data []byte) error {
	var r rawLocation
	if err := json.Unmarshal(data, &r); err != nil {
		return err
	}
	p.dir.Locations[at.ID] = &Location{ID: at.ID, Name: r.Name, Address: flatAddress(r.Address), Phone: phone(r.Telecom)}
	return nil
}

func decodeEndpoint(p *parser, at Problem, data []byte) error {
	var r rawEndpoint
	if err := json.Unmarshal(data, &r); err != nil {
		return err
	}
	e := &Endpoint{ID: at.ID, Name: r.Name, Status: r.Status, Address: strings.TrimSpace(r.Address)}
	path := func(s string) Problem { a := at; a.Path = "Endpoint." + s; return a }
	if e.Address == "" {
		p.problem(path("address"), "endpoint has no address")
	} else if u, err := url.Parse(e.Address); err != nil || u.Scheme != "https" || u.Host == "" {
		p.problem(path("address"), "endpoint address %q is not an https URL", e.Address)
	}
	if r.ConnectionType == nil || r.ConnectionType.Code == "" {
		p.problem(path("connectionType"), "endpoint has no connection type")
	} else {
		ct := *r.ConnectionType
		if !knownConnectionType(ct) {
			p.problem(path("connectionType"), "unknown connection type %s|%s", ct.System, ct.Code)
		}
		e.ConnectionTypes = append(e.ConnectionTypes, ct.Code)
	}
	for _, pt := range r.PayloadType {
		for _, c := range pt.Coding {
			if c.Code != "" {
				e.PayloadTypes = append(e.PayloadTypes, c.Code)
			}
		}
	}
	for _, id := range r.Identifier {
		if id.System == SystemSMDTarget && e.SMDTarget == "" {
			e.SMDTarget = strings.TrimSpace(id.Value)
		}
	}
	p.ref(at, "Endpoint.managingOrganization", r.ManagingOrganization, "Organization", func(id string) { e.ManagingOrganization = id })
	for i, x := range r.Extension {
		switch x.URL {
		case ExtReceivingFacility:
			e.ReceivingFacility = hl7Identifier(x)
		case ExtReceivingApplication:
			e.ReceivingApplication = hl7Identifier(x)
		case ExtEncryptionCert:
			if x.ValueString == nil {
				p.problem(path("extension["+itoa(i)+"]"), "encryption certificate extension has no valueString")
				continue
			}
			e.EncryptionCertPEM = *x.ValueString
		}
	}
	p.endpointCert(path("extension("+ExtEncryptionCert+")"), e)
	p.dir.Endpoints[e.ID] = e
	return nil
}

// knownConnectionType accepts the SMD interface URIs from either AU code
// system, any core FHIR connection type, and the HCPD secure-messaging code.
func knownConnectionType(c rawCoding) bool {
	switch c.System {
	case SystemSMDInterfaces, SystemAUConnectionType:
		return smdInterfaces[c.Code]
	case SystemFHIRConnectionType:
		return true
	case SystemAUEndpointConnectionType:
		return c.Code == "secure-messaging"
	case "":
		// UNCONFIRMED: some directories may omit the system; the
		// interface URI alone is unambiguous.
		return smdInterfaces[c.Code]
	}
	return false
}

// deliversSMD reports whether senders push sealed messages to e, so e needs
// an encryption certificate.
func (e *Endpoint) deliversSMD() bool {
	return e.HasConnectionType(IntfSMD) || e.HasConnectionType(IntfSIMD)
}

func hl7Identifier(x rawExtension) *HL7Identifier {
	var h HL7Identifier
	for _, s := range x.Extension {
		if s.ValueString == nil {
			continue
		}
		switch s.URL {
		case "namespace-id":
			h.NamespaceID = *s.ValueString
		case "universal-id":
			h.UniversalID = *s.ValueString
		case "universal-id-type":
			h.UniversalIDType = *s.ValueString
		}
	}
	return &h
}

func itoa(i int) string { return strconv.Itoa(i) }
