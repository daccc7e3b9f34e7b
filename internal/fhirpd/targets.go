package fhirpd

import (
	"crypto/x509"
	"sort"
)

// Target is one SMD delivery address from the directory: what an import
// maps onto a directory entry (org_uri, name, endpoint_url,
// encryption_cert_der, service_categories = PayloadTypes).
type Target struct {
	// OrgURI is the HPI-O URI of the endpoint's organisation, else the
	// endpoint's SMD target identifier (SMD.md §3.4).
	OrgURI       string
	Name         string
	EndpointID   string
	EndpointURL  string
	Cert         *x509.Certificate
	PayloadTypes []string
	// ReceivingFacility/Application are MSH-6/MSH-5 for HL7 v2 payloads.
	ReceivingFacility    *HL7Identifier
	ReceivingApplication *HL7Identifier
	// Practitioners and Services reach this endpoint through
	// PractitionerRole.endpoint and HealthcareService.endpoint (sorted by id).
	Practitioners []*Practitioner
	Services      []*HealthcareService
}

// SMDTargets lists the active endpoints with the SealedMessageDelivery TLS
// connection type, sorted by endpoint id. The organisation is the
// endpoint's managingOrganization, else the one organisation of the roles
// and services that use it. An endpoint with no address to give (no HPI-O,
// no SMD target identifier) is left out; Parse warned about it.
func (d *Directory) SMDTargets() []Target {
	var out []Target
	for _, e := range d.sortedEndpoints() {
		if !e.HasConnectionType(IntfSMD) || (e.Status != "" && e.Status != "active") {
			continue
		}
		t := Target{EndpointID: e.ID, EndpointURL: e.Address, Cert: e.EncryptionCert,
			PayloadTypes: e.PayloadTypes, Name: e.Name,
			ReceivingFacility: e.ReceivingFacility, ReceivingApplication: e.ReceivingApplication}
		t.Practitioners, t.Services = d.reachable(e.ID)
		org := d.endpointOrg(e)
		if org != nil {
			if org.Name != "" {
				t.Name = org.Name
			}
			if org.HPIO != "" {
				t.OrgURI = HPIOURIPrefix + org.HPIO
			}
		}
		if t.OrgURI == "" {
			t.OrgURI = e.SMDTarget
		}
		if t.OrgURI == "" {
			continue
		}
		out = append(out, t)
	}
	return out
}

func (d *Directory) sortedEndpoints() []*Endpoint {
	es := make([]*Endpoint, 0, len(d.Endpoints))
	for _, e := range d.Endpoints {
		es = append(es, e)
	}
	sort.Slice(es, func(i, j int) bool { return es[i].ID < es[j].ID })
	return es
}

// endpointOrg is the organisation an endpoint belongs to, or nil when none
// or an ambiguous one is recorded.
func (d *Directory) endpointOrg(e *Endpoint) *Organization {
	if e.ManagingOrganization != "" {
		return d.Organizations[e.ManagingOrganization]
	}
	orgs := map[string]bool{}
	for _, r := range d.PractitionerRoles {
		if r.Organization != "" && contains(r.Endpoints, e.ID) {
			orgs[r.Organization] = true
		}
	}
	for _, s := range d.HealthcareServices {
		if s.Organization != "" && contains(s.Endpoints, e.ID) {
			orgs[s.Organization] = true
		}
	}
	if len(orgs) != 1 {
		return nil
	}
	for id := range orgs {
		return d.Organizations[id]
	}
	return nil
}

func (d *Directory) reachable(endpointID string) ([]*Practitioner, []*HealthcareService) {
	seen := map[string]bool{}
	var ps []*Practitioner
	for _, r := range d.PractitionerRoles {
		if !r.Active || r.Practitioner == "" || seen[r.Practitioner] || !contains(r.Endpoints, endpointID) {
			continue
		}
		seen[r.Practitioner] = true
		ps = append(ps, d.Practitioners[r.Practitioner])
	}
	var ss []*HealthcareService
	for _, s := range d.HealthcareServices {
		if contains(s.Endpoints, endpointID) {
			ss = append(ss, s)
		}
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].ID < ps[j].ID })
	sort.Slice(ss, func(i, j int) bool { return ss[i].ID < ss[j].ID })
	return ps, ss
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
