// Package fhirpd reads an HL7 AU FHIR Provider Directory bundle (FHIR R4
// JSON, SMD.md §3.4) into a typed, fully resolved Directory, and lists the
// SMD endpoints in it as Targets for the directory import.
//
// Parse is all-or-nothing: it returns either a complete Directory or a
// *ValidationError listing every problem found, so a caller never imports
// half a bundle. Warnings (skipped resource types, expired certificates)
// travel with the Directory.
//
// Not covered: FHIR XML, contained resources, paging (Bundle.link next) and
// PractitionerRole/HealthcareService period or availability.
//
// Read from the AU PD IG digest (SMD.md §3.4) but UNCONFIRMED against the
// IG text itself:
//   - addressing an endpoint by its SMD target identifier when its
//     organisation has no HPI-O (the IG only calls it "suitable for Secure
//     Message Delivery interface metadata content");
//   - the PEM extension's exact lexical form: the oridashi sample drops the
//     line breaks, so any whitespace layout and a bare base64 body are
//     accepted;
//   - a connectionType without a system (accepted if the code is an SMD
//     interface URI) and the HCPD code "secure-messaging" (accepted, but
//     not a Target because it names no interface);
//   - the ADHA HCPD extension URLs (data-encipherment-certificate,
//     receiving-facility/-application) are not known here, so HCPD
//     endpoints' certificates are not read;
//   - references: an absolute URL that matches no fullUrl still resolves
//     to a bundle resource of the same "Type/id" (lenient; FHIR resolves
//     it against the server base).
package fhirpd

import (
	"crypto/x509"
	"strings"
	"time"
)

// Identifier systems and extension URLs (SMD.md §3.4).
const (
	SystemHPIO           = "http://ns.electronichealth.net.au/id/hi/hpio/1.0"
	SystemHPII           = "http://ns.electronichealth.net.au/id/hi/hpii/1.0"
	SystemProviderNumber = "http://ns.electronichealth.net.au/id/medicare-provider-number"
	SystemSMDTarget      = "http://ns.electronichealth.net.au/smd/target"

	// SystemSMDInterfaces is the AU PD code system of the five SMD
	// interface URIs; SystemAUConnectionType is AU Base's copy of it.
	SystemSMDInterfaces    = "http://hl7.org.au/fhir/CodeSystem/smd-interfaces"
	SystemAUConnectionType = "http://hl7.org.au/fhir/CodeSystem/au-connection-type-interface"
	// SystemFHIRConnectionType is the core FHIR code system (hl7-fhir-rest
	// and friends); its codes are known but never SMD.
	SystemFHIRConnectionType = "http://terminology.hl7.org/CodeSystem/endpoint-connection-type"
	// SystemAUEndpointConnectionType is used by the ADHA HCPD example
	// ("secure-messaging"). UNCONFIRMED which SMD interface it stands for,
	// so such endpoints are accepted but not turned into Targets.
	SystemAUEndpointConnectionType = "http://terminology.hl7.org.au/CodeSystem/endpoint-connection-type"

	ExtReceivingFacility    = "http://hl7.org.au/fhir/StructureDefinition/au-receivingfacility"
	ExtReceivingApplication = "http://hl7.org.au/fhir/StructureDefinition/au-receivingapplication"
	ExtEncryptionCert       = "http://hl7.org.au/fhir/StructureDefinition/encryption-certificate-pem-x509"

	// HPIOURIPrefix + the 16 digits is an organisation's SMD address.
	HPIOURIPrefix = SystemHPIO + "/"
)

// SMD interface URIs (SMD.md §1.3), the codes of SystemSMDInterfaces.
const (
	IntfSMD  = "http://ns.electronichealth.net.au/smd/intf/SealedMessageDelivery/TLS/2010"
	IntfSIMD = "http://ns.electronichealth.net.au/smd/intf/SealedImmediateMessageDelivery/TLS/2010"
	IntfSMR  = "http://ns.electronichealth.net.au/smd/intf/SealedMessageRetrieval/TLS/2010"
	IntfTRD  = "http://ns.electronichealth.net.au/smd/intf/TransportResponseDelivery/TLS/2010"
	IntfTRR  = "http://ns.electronichealth.net.au/smd/intf/TransportResponseRetrieval/TLS/2010"
)

var smdInterfaces = map[string]bool{IntfSMD: true, IntfSIMD: true, IntfSMR: true, IntfTRD: true, IntfTRR: true}

// Limits bounds what Parse accepts. Zero fields take the defaults.
type Limits struct {
	MaxBytes   int64 // default 20 MB
	MaxEntries int   // default 10 000
	MaxDepth   int   // JSON nesting, default 64
	// Now is the clock for certificate expiry; nil means time.Now.
	Now func() time.Time
}

// Default limits.
const (
	DefaultMaxBytes   = 20 << 20
	DefaultMaxEntries = 10000
	DefaultMaxDepth   = 64
)

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = DefaultMaxEntries
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.Now == nil {
		l.Now = time.Now
	}
	return l
}

// Directory is a parsed, validated bundle. Reference fields hold the id of
// the resolved resource (look it up with the maps); they are empty when the
// bundle had no reference there.
type Directory struct {
	Organizations      map[string]*Organization
	Practitioners      map[string]*Practitioner
	PractitionerRoles  map[string]*PractitionerRole
	HealthcareServices map[string]*HealthcareService
	Locations          map[string]*Location
	Endpoints          map[string]*Endpoint
	// Warnings are problems that do not stop an import.
	Warnings []Problem
}

// Address is the first FHIR address of a resource, flattened.
type Address struct {
	Address  string // lines joined with ", "
	Suburb   string // FHIR address.city
	State    string
	Postcode string
}

// Organization is a FHIR Organization.
type Organization struct {
	ID    string
	Name  string
	HPIO  string // 16 digits, validated
	Phone string // first telecom of system phone
	Address
}

// HumanName is the first FHIR name of a Practitioner.
type HumanName struct {
	Text   string // the whole name as written, if given
	Family string
	Given  []string
	Prefix []string
}

// String is "Dr Jane Mary Citizen", or the name's text when given.
func (n HumanName) String() string {
	if t := strings.TrimSpace(n.Text); t != "" {
		return t
	}
	parts := append(append(append([]string{}, n.Prefix...), n.Given...), n.Family)
	return strings.Join(strings.Fields(strings.Join(parts, " ")), " ")
}

// Practitioner is a FHIR Practitioner.
type Practitioner struct {
	ID              string
	Name            HumanName
	HPII            string // 16 digits, validated
	ProviderNumbers []string
}

// PractitionerRole is a FHIR PractitionerRole.
type PractitionerRole struct {
	ID           string
	Practitioner string
	Organization string
	Locations    []string
	Specialties  []string // text (or display, or code) of specialty
	Codes        []string // text (or display, or code) of code
	Endpoints    []string
	Active       bool   // absent counts as active (FHIR default meaning)
	Phone        string // first telecom of system phone
}

// Specialty is what the role says the practitioner does: its first code
// (e.g. "Physiotherapist"), else its first specialty.
func (r PractitionerRole) Specialty() string {
	if len(r.Codes) > 0 {
		return r.Codes[0]
	}
	if len(r.Specialties) > 0 {
		return r.Specialties[0]
	}
	return ""
}

// HealthcareService is a FHIR HealthcareService.
type HealthcareService struct {
	ID           string
	Name         string
	Organization string // providedBy
	Locations    []string
	Types        []string
	Endpoints    []string
	Phone        string
}

// Location is a FHIR Location.
type Location struct {
	ID    string
	Name  string
	Phone string
	Address
}

// HL7Identifier is an HD-like receiving facility or application extension
// (MSH-5/MSH-6 components).
type HL7Identifier struct {
	NamespaceID     string
	UniversalID     string
	UniversalIDType string
}

// Endpoint is a FHIR Endpoint.
type Endpoint struct {
	ID                   string
	Name                 string
	Status               string
	Address              string // https URL
	ManagingOrganization string
	ConnectionTypes      []string // codes (SMD interface URIs for SMD endpoints)
	PayloadTypes         []string // codes
	SMDTarget            string
	ReceivingFacility    *HL7Identifier
	ReceivingApplication *HL7Identifier
	EncryptionCertPEM    string // normalised PEM, "" if absent
	EncryptionCert       *x509.Certificate
}

// HasConnectionType reports whether code is among e's connection types.
func (e *Endpoint) HasConnectionType(code string) bool {
	for _, c := range e.ConnectionTypes {
		if c == code {
			return true
		}
	}
	return false
}
