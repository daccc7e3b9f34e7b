package fhirpd

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const fixtures = "../../../shared/fixtures/fhir-pd"

var testLimits = Limits{Now: func() time.Time { return time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC) }}

func parseFile(t *testing.T, path string) *Directory {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := Parse(f, testLimits)
	if err != nil {
		t.Fatalf("Parse(%s): %v", path, err)
	}
	return d
}

func messages(ps []Problem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}

func TestPracticesBundle(t *testing.T) {
	d := parseFile(t, "testdata/practices.json")

	if got := messages(d.Warnings); len(got) != 1 || !strings.Contains(got[0], "Schedule skipped") {
		t.Errorf("warnings = %q, want only the skipped Schedule", got)
	}
	gp := d.Organizations["gp-harbourside"]
	if gp == nil || gp.HPIO != "8003620000000013" || gp.Suburb != "Balmain" || gp.Postcode != "2041" || gp.State != "NSW" || gp.Address.Address != "12 Wharf Road" {
		t.Errorf("GP organisation = %+v", gp)
	}
	jane := d.Practitioners["jane-citizen"]
	wantJane := &Practitioner{ID: "jane-citizen", HPII: "8003610000000014", ProviderNumbers: []string{"2426621B"},
		Name: HumanName{Family: "Citizen", Given: []string{"Jane", "Mary"}, Prefix: []string{"Dr"}}}
	if !reflect.DeepEqual(jane, wantJane) {
		t.Errorf("jane = %+v, want %+v", jane, wantJane)
	}
	if n := len(d.Practitioners["ahmed-khan"].ProviderNumbers); n != 2 {
		t.Errorf("ahmed provider numbers = %d, want 2", n)
	}
	role := d.PractitionerRoles["jane-citizen-gp"]
	wantRole := &PractitionerRole{ID: "jane-citizen-gp", Practitioner: "jane-citizen", Organization: "gp-harbourside",
		Locations: []string{"gp-harbourside-main"}, Specialties: []string{"General practice"},
		Codes: []string{"General practitioner"}, Endpoints: []string{"gp-harbourside-smd"}, Active: true}
	if !reflect.DeepEqual(role, wantRole) {
		t.Errorf("role = %+v, want %+v", role, wantRole)
	}
	// Absolute-URL reference resolved; absent active means active.
	if r := d.PractitionerRoles["ahmed-khan-gp"]; r.Practitioner != "ahmed-khan" || !r.Active {
		t.Errorf("ahmed role = %+v", r)
	}
	if r := d.PractitionerRoles["sam-lee-physio"]; r.Practitioner != "sam-lee" || r.Organization != "physio-northside" || r.Active {
		t.Errorf("urn:uuid role = %+v", r)
	}
	svc := d.HealthcareServices["physio-northside-service"]
	if svc.Organization != "physio-northside" || !reflect.DeepEqual(svc.Types, []string{"Physical therapy procedure"}) ||
		!reflect.DeepEqual(svc.Locations, []string{"physio-northside-chatswood"}) {
		t.Errorf("service = %+v", svc)
	}
	if e := d.Endpoints["gp-harbourside-trd"]; e.ManagingOrganization != "gp-harbourside" || e.EncryptionCert != nil {
		t.Errorf("TRD endpoint = %+v", e)
	}
	// The physio PEM is published without line breaks; it comes back standard.
	pe := d.Endpoints["physio-northside-smd"]
	if blk, _ := pem.Decode([]byte(pe.EncryptionCertPEM)); blk == nil || !bytes.Equal(blk.Bytes, pe.EncryptionCert.Raw) {
		t.Errorf("physio PEM not normalised: %q", pe.EncryptionCertPEM)
	}

	ts := d.SMDTargets()
	if len(ts) != 2 {
		t.Fatalf("SMDTargets = %d, want 2: %+v", len(ts), ts)
	}
	g, p := ts[0], ts[1]
	if g.OrgURI != "http://ns.electronichealth.net.au/id/hi/hpio/1.0/8003620000000013" || g.Name != "Harbourside Family Practice" ||
		g.EndpointURL != "https://smd.harbourside.example.test/smd/2010" || g.Cert == nil ||
		!reflect.DeepEqual(g.PayloadTypes, []string{"http://ns.hl7.org.au/hl7v2/profiles/HL7AU-OO-REF-SIMPLIFIED-201706"}) {
		t.Errorf("GP target = %+v", g)
	}
	if g.ReceivingApplication == nil || g.ReceivingApplication.UniversalID != "ECS:4.2" || g.ReceivingFacility.NamespaceID != "Harbourside Family Practice" {
		t.Errorf("GP receiving app/facility = %+v %+v", g.ReceivingApplication, g.ReceivingFacility)
	}
	if ids := practitionerIDs(g.Practitioners); !reflect.DeepEqual(ids, []string{"ahmed-khan", "jane-citizen"}) || len(g.Services) != 0 {
		t.Errorf("GP reachable = %v, %d services", ids, len(g.Services))
	}
	// No HPI-O: addressed by SMD target id; organisation found through the service;
	// the inactive role's practitioner is not reachable.
	if p.OrgURI != "http://ns.electronichealth.net.au/smd/target/example.test/physio" || p.Name != "Northside Physiotherapy" ||
		len(p.Practitioners) != 0 || len(p.Services) != 1 || p.Services[0].ID != "physio-northside-service" {
		t.Errorf("physio target = %+v", p)
	}
	if p.Cert == nil || len(p.Cert.URIs) == 0 || !strings.Contains(p.Cert.URIs[0].String(), "physio") {
		t.Errorf("physio cert SAN = %v", p.Cert.URIs)
	}
}

func practitionerIDs(ps []*Practitioner) []string {
	var ids []string
	for _, p := range ps {
		ids = append(ids, p.ID)
	}
	return ids
}

// wrap puts single resources in a collection Bundle.
func wrap(t testing.TB, resources ...[]byte) []byte {
	t.Helper()
	var es []map[string]json.RawMessage
	for _, r := range resources {
		es = append(es, map[string]json.RawMessage{"resource": r})
	}
	b, err := json.Marshal(map[string]any{"resourceType": "Bundle", "type": "collection", "entry": es})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Skipf("fixture: %v", err)
	}
	return b
}

func TestOridashiFixtures(t *testing.T) {
	b := wrap(t, readFixture(t, "oridashi-2018-10-endpoint0.json"), readFixture(t, "oridashi-2018-10-location0.json"),
		readFixture(t, "oridashi-2018-10-practitioner0.json"))
	d, err := Parse(bytes.NewReader(b), testLimits)
	if err != nil {
		t.Fatal(err)
	}
	e := d.Endpoints["endpoint0"]
	if e.Address != "https://smd-ep.test.medical-objects.com.au/smd/2010" || e.Status != "active" ||
		!reflect.DeepEqual(e.ConnectionTypes, []string{IntfSMD}) || len(e.PayloadTypes) != 2 ||
		e.ReceivingFacility.UniversalID != "877F9695-1298-4E6A-B432-0FDD46AD80B8" || e.ReceivingFacility.UniversalIDType != "GUID" ||
		e.ReceivingApplication.NamespaceID != "Equator" {
		t.Errorf("endpoint0 = %+v", e)
	}
	if e.EncryptionCert == nil || e.EncryptionCert.Subject.CommonName != "www.example.com" ||
		!strings.HasPrefix(e.EncryptionCertPEM, "-----BEGIN CERTIFICATE-----\nMIIC") {
		t.Errorf("endpoint0 certificate not parsed/normalised: %q", e.EncryptionCertPEM)
	}
	if l := d.Locations["location0"]; l.Name != "Downunder Hospital Blacktown" || l.Suburb != "Blacktown" || l.Postcode != "2148" || l.State != "NSW" || l.Address.Address != "3 McGregor Street" {
		t.Errorf("location0 = %+v", l)
	}
	if p := d.Practitioners["practitioner0"]; p.HPII != "8003610833334085" || p.Name.Family != "Mayo" || len(p.ProviderNumbers) != 0 {
		t.Errorf("practitioner0 = %+v", p)
	}
	// The 2012 sample certificate expired in 2017, and the endpoint names its
	// organisation by display only: both warnings, no target.
	w := strings.Join(messages(d.Warnings), "\n")
	if len(d.Warnings) != 2 || !strings.Contains(w, "expired on 2017-08-21") || !strings.Contains(w, "not a target") {
		t.Errorf("warnings:\n%s", w)
	}
	if ts := d.SMDTargets(); len(ts) != 0 {
		t.Errorf("targets = %+v", ts)
	}
}
