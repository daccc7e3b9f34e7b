package fhirpd

import "testing"

// A role reaches SMD through its own endpoint, else its organisation's:
// the endpoint's managing organisation, or (with none named) the one
// organisation whose roles use it. Import and federated search share this.
func TestRoutes_OwnEndpointElseOrganisation(t *testing.T) {
	d := &Directory{
		Organizations: map[string]*Organization{"clinic": {ID: "clinic", HPIO: "8003620000000021"}, "other": {ID: "other"}},
		PractitionerRoles: map[string]*PractitionerRole{
			"with-endpoint": {ID: "with-endpoint", Organization: "clinic", Endpoints: []string{"ep"}, Active: true},
			"colleague":     {ID: "colleague", Organization: "clinic", Active: true},
			"elsewhere":     {ID: "elsewhere", Organization: "other", Active: true},
		},
		Endpoints: map[string]*Endpoint{"ep": {ID: "ep", Status: "active", ConnectionTypes: []string{IntfSMD}}},
	}
	routes := d.Routes([]Target{{EndpointID: "ep", OrgURI: HPIOURIPrefix + "8003620000000021"}})
	for role, want := range map[string]bool{"with-endpoint": true, "colleague": true, "elsewhere": false} {
		r := d.PractitionerRoles[role]
		if _, ok := routes.For(r.Endpoints, r.Organization); ok != want {
			t.Errorf("%s reachable %v, want %v", role, ok, want)
		}
	}
}
