package fhirpd

import (
	"crypto/x509"
	"slices"
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
		if r.Organization != "" && slices.Contains(r.Endpoints, e.ID) {
			orgs[r.Organization] = true
		}
	}
	for _, s := range d.HealthcareServices {
		if s.Organization != "" && slices.Contains(s.Endpoints, e.ID) {
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
		if !r.Active || r.Practitioner == "" || seen[r.Practitioner] || !slices.Contains(r.Endpoints, endpointID) {
			continue
		}
		seen[r.Practitioner] = true
		ps = append(ps, d.Practitioners[r.Practitioner])
	}
	var ss []*HealthcareService
	for _, s := range d.HealthcareServices {
		if slices.Contains(s.Endpoints, endpointID) {
			ss = append(ss, s)
		}
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].ID < ps[j].ID })
	sort.Slice(ss, func(i, j int) bool { return ss[i].ID < ss[j].ID })
	return ps, ss
}

// Routes finds the SMD target of a practitioner role or service.
type Routes struct {
	byEndpoint, byOrg map[string]Target
}

// Routes indexes targets (some or all of d's SMDTargets) by endpoint and
// by organisation: the endpoint's managing organisation, else the one
// organisation of the roles and services using it, else the organisation
// whose HPI-O it addresses.
func (d *Directory) Routes(targets []Target) Routes {
	r := Routes{byEndpoint: map[string]Target{}, byOrg: map[string]Target{}}
	for _, t := range targets {
		r.byEndpoint[t.EndpointID] = t
		e := d.Endpoints[t.EndpointID]
		users := map[string]bool{} // organisations of the roles and services using e
		for _, pr := range d.PractitionerRoles {
			if pr.Organization != "" && slices.Contains(pr.Endpoints, e.ID) {
				users[pr.Organization] = true
			}
		}
		for _, hs := range d.HealthcareServices {
			if hs.Organization != "" && slices.Contains(hs.Endpoints, e.ID) {
				users[hs.Organization] = true
			}
		}
		for id, o := range d.Organizations {
			if e.ManagingOrganization == id || (e.ManagingOrganization == "" && len(users) == 1 && users[id]) ||
				(o.HPIO != "" && t.OrgURI == HPIOURIPrefix+o.HPIO) {
				r.byOrg[id] = t
			}
		}
	}
	return r
}

// For is the target of a role or service with endpoints at organisation
// orgID: one of its own endpoints, else its organisation's.
func (r Routes) For(endpoints []string, orgID string) (Target, bool) {
	for _, id := range endpoints {
		if t, ok := r.byEndpoint[id]; ok {
			return t, true
		}
	}
	t, ok := r.byOrg[orgID]
	return t, ok
}
