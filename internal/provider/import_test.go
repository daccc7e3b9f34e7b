package provider_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opensmd/portal/internal/fhirpd"
	"github.com/opensmd/portal/internal/provider"
	"github.com/opensmd/portal/internal/store"
)

func parseBundle(t *testing.T, b []byte) *fhirpd.Directory {
	t.Helper()
	d, err := fhirpd.Parse(strings.NewReader(string(b)), fhirpd.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// A FHIR provider directory bundle becomes directory entries the pipeline
// resolves: one per organisation, with its endpoint, certificate and
// payload types; the import is audited.
func TestImportDirectory(t *testing.T) {
	t.Parallel()
	st, _ := newStore(t)
	ctx := context.Background()
	b, err := os.ReadFile("../fhirpd/testdata/practices.json")
	if err != nil {
		t.Fatal(err)
	}
	res, err := provider.ImportDirectory(ctx, st, parseBundle(t, b), provider.Actor{}, "test")
	if err != nil {
		t.Fatal(err)
	}
	got := res.Entries
	if len(got) != 2 {
		t.Fatalf("imported %d entries, want 2 (GP by HPI-O, physio by SMD target)", len(got))
	}
	gp, err := st.DirectoryEntryByOrgURI(ctx, "http://ns.electronichealth.net.au/id/hi/hpio/1.0/8003620000000013")
	if err != nil || gp.EndpointURL != "https://smd.harbourside.example.test/smd/2010" || len(gp.ServiceCategories) == 0 {
		t.Fatalf("GP entry: %+v %v", gp, err)
	}
	physio, err := st.DirectoryEntryByOrgURI(ctx, "http://ns.electronichealth.net.au/smd/target/example.test/physio")
	if err != nil || physio.EndpointURL != "https://smd.example-vendor.test/physio-northside/smd" {
		t.Fatalf("physio entry: %+v %v", physio, err)
	}
	ep, err := provider.DirectoryResolver{Store: st}.Resolve(ctx, gp.OrgURI, gp.ServiceCategories[0])
	if err != nil || ep.URL != gp.EndpointURL || ep.EncryptionCert == nil {
		t.Fatalf("resolve imported GP: %+v %v", ep, err)
	}
	// Importing again replaces, never duplicates.
	if _, err := provider.ImportDirectory(ctx, st, parseBundle(t, b), provider.Actor{}, "test"); err != nil {
		t.Fatal(err)
	}
	if again, _ := st.DirectoryEntryByOrgURI(ctx, gp.OrgURI); again.ID != gp.ID {
		t.Fatalf("re-import made a new entry")
	}
}

// An unusable target (here: an endpoint without payload types, so without
// service categories) fails the whole import and writes nothing.
func TestImportDirectory_AllOrNothing(t *testing.T) {
	t.Parallel()
	st, _ := newStore(t)
	ctx := context.Background()
	b, err := os.ReadFile("../fhirpd/testdata/practices.json")
	if err != nil {
		t.Fatal(err)
	}
	d := parseBundle(t, b)
	for _, e := range d.Endpoints {
		if strings.Contains(e.Address, "physio") {
			e.PayloadTypes = nil
		}
	}
	_, err = provider.ImportDirectory(ctx, st, d, provider.Actor{}, "test")
	var ie *provider.ImportError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "nothing imported") || !strings.Contains(strings.Join(ie.Lines(), "\n"), "service category") {
		t.Fatalf("import = %v, want a problem report (ImportError)", err)
	}
	if _, err := st.DirectoryEntryByOrgURI(ctx, "http://ns.electronichealth.net.au/id/hi/hpio/1.0/8003620000000013"); err == nil {
		t.Fatal("the usable GP entry was imported although the import failed")
	}
}

// The import turns practitioner roles, services and organisations into
// listings linked to the directory entry of their SMD endpoint, with the
// endpoint's payload types and HL7 receiving facility/application; a
// re-import replaces them (no duplicates) and drops what the bundle no
// longer lists.
func TestImportDirectory_Listings(t *testing.T) {
	t.Parallel()
	st, db := newStore(t)
	ctx := context.Background()
	b, err := os.ReadFile("../fhirpd/testdata/practices.json")
	if err != nil {
		t.Fatal(err)
	}
	res, err := provider.ImportDirectory(ctx, st, parseBundle(t, b), provider.Actor{}, "test")
	if err != nil {
		t.Fatal(err)
	}
	byRef := map[string]store.Listing{}
	for _, l := range res.Listings {
		byRef[l.SourceRef] = l
	}
	// 2 organisations, 2 active roles (sam-lee-physio is inactive), 1 service.
	if len(res.Listings) != 5 {
		t.Fatalf("listings: %d %v, want 5", len(res.Listings), keys(byRef))
	}
	if _, ok := byRef["PractitionerRole/sam-lee-physio"]; ok {
		t.Error("an inactive practitioner role was listed")
	}
	gp, _ := st.DirectoryEntryByOrgURI(ctx, "http://ns.electronichealth.net.au/id/hi/hpio/1.0/8003620000000013")
	physio, _ := st.DirectoryEntryByOrgURI(ctx, "http://ns.electronichealth.net.au/smd/target/example.test/physio")
	jane := byRef["PractitionerRole/jane-citizen-gp"]
	want := store.Listing{Kind: store.ListingPractitioner, Name: "Dr Jane Mary Citizen", HPII: "8003610000000014",
		ProviderNumber: "2426621B", Specialty: "General practitioner", OrgName: "Harbourside Family Practice",
		Suburb: "Balmain", State: "NSW", Postcode: "2041", OrgURI: gp.OrgURI}
	if jane.Kind != want.Kind || jane.Name != want.Name || jane.HPII != want.HPII || jane.ProviderNumber != want.ProviderNumber ||
		jane.Specialty != want.Specialty || jane.OrgName != want.OrgName || jane.Suburb != want.Suburb ||
		jane.State != want.State || jane.Postcode != want.Postcode || jane.OrgURI != want.OrgURI {
		t.Errorf("jane = %+v\nwant %+v", jane, want)
	}
	if jane.EntryID == nil || *jane.EntryID != gp.ID || !jane.Reachable() {
		t.Errorf("jane not linked to the GP entry %s: %v", gp.ID, jane.EntryID)
	}
	if len(jane.PayloadTypes) != 1 || jane.PayloadTypes[0] != provider.CategoryReferral {
		t.Errorf("jane payload types %v", jane.PayloadTypes)
	}
	if jane.ReceivingFacility == "" {
		t.Error("jane has no receiving facility although the endpoint carries one")
	}
	svc := byRef["HealthcareService/physio-northside-service"]
	if svc.Kind != store.ListingService || svc.Specialty != "Physical therapy procedure" || svc.EntryID == nil || *svc.EntryID != physio.ID {
		t.Errorf("service = %+v (physio entry %s)", svc, physio.ID)
	}
	org := byRef["Organization/physio-northside"]
	if org.EntryID == nil || *org.EntryID != physio.ID || org.Postcode != "2067" {
		t.Errorf("physio organisation = %+v", org)
	}
	audit := auditCount(t, db, provider.AuditDirectoryImported)

	// Re-import without Ahmed's role: Jane is updated in place, Ahmed goes.
	d := parseBundle(t, b)
	delete(d.PractitionerRoles, "ahmed-khan-gp")
	res2, err := provider.ImportDirectory(ctx, st, d, provider.Actor{}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if res2.Removed != 1 || len(res2.Listings) != 4 {
		t.Fatalf("re-import: %d listings, %d removed; want 4 and 1", len(res2.Listings), res2.Removed)
	}
	var n int
	if err := db.QueryRow(ctx, `select count(*) from directory_listings where source = 'import'`).Scan(&n); err != nil || n != 4 {
		t.Fatalf("listings after re-import: %d %v", n, err)
	}
	if again, err := st.Listing(ctx, jane.ID); err != nil || again.Name != jane.Name {
		t.Fatalf("jane's listing did not survive the re-import in place: %v", err)
	}
	if got := auditCount(t, db, provider.AuditDirectoryImported); got != audit+1 {
		t.Fatalf("audit events %d, want %d", got, audit+1)
	}
}

// Each kind of unusable content fails the whole import with a report
// naming the resource, and changes nothing already stored.
func TestImportDirectory_ProblemsChangeNothing(t *testing.T) {
	t.Parallel()
	st, db := newStore(t)
	ctx := context.Background()
	b, err := os.ReadFile("../fhirpd/testdata/practices.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provider.ImportDirectory(ctx, st, parseBundle(t, b), provider.Actor{}, "test"); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, db)
	tests := []struct {
		name   string
		mutate func(d *fhirpd.Directory)
		want   string
	}{
		{"practitioner without a name", func(d *fhirpd.Directory) {
			d.Practitioners["jane-citizen"].Name = fhirpd.HumanName{}
		}, "PractitionerRole/jane-citizen-gp: no name"},
		{"bad postcode", func(d *fhirpd.Directory) {
			d.Locations["gp-harbourside-main"].Postcode = "20411"
		}, `postcode "20411"`},
		{"not an Australian state", func(d *fhirpd.Directory) {
			d.Organizations["physio-northside"].State = "Bavaria"
		}, `Organization/physio-northside: state "BAVARIA"`},
		{"service without a name", func(d *fhirpd.Directory) {
			d.HealthcareServices["physio-northside-service"].Name = " "
		}, "HealthcareService/physio-northside-service: no name"},
		{"endpoint without payload types", func(d *fhirpd.Directory) {
			d.Endpoints["gp-harbourside-smd"].PayloadTypes = nil
		}, "service category"},
		{"endpoint that is not https", func(d *fhirpd.Directory) {
			d.Endpoints["gp-harbourside-smd"].Address = "http://smd.example.test/smd"
		}, "https"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := parseBundle(t, b)
			// A change that would be written if the import went ahead.
			d.Organizations["gp-harbourside"].Name = "Renamed Practice"
			tt.mutate(d)
			_, err := provider.ImportDirectory(ctx, st, d, provider.Actor{}, "test")
			if err == nil || !strings.Contains(err.Error(), "nothing imported") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("import = %v, want a report containing %q", err, tt.want)
			}
			if after := snapshot(t, db); after != before {
				t.Fatalf("the failed import changed the database:\n%s\n----\n%s", before, after)
			}
		})
	}
	// A malformed bundle never gets as far: Parse lists every problem.
	_, err = fhirpd.Parse(strings.NewReader(`{"resourceType":"Bundle","type":"collection","entry":[
		{"resource":{"resourceType":"PractitionerRole","id":"r","practitioner":{"reference":"Practitioner/missing"}}},
		{"resource":{"resourceType":"Organization","id":"o","identifier":[{"system":"`+fhirpd.SystemHPIO+`","value":"8003620000000014"}]}}]}`), fhirpd.Limits{})
	var ve *fhirpd.ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 2 {
		t.Fatalf("parse of a malformed bundle = %v, want 2 problems (dangling reference, bad HPI-O)", err)
	}
}

// snapshot is the import-relevant content of the database as text.
func snapshot(t *testing.T, db *pgxpool.Pool) string {
	t.Helper()
	var s string
	err := db.QueryRow(context.Background(), `select
		coalesce((select string_agg(concat_ws('|', org_uri, name, endpoint_url, service_categories::text, updated_at::text), E'\n' order by org_uri) from directory_entries), '') || E'\n--\n' ||
		coalesce((select string_agg(concat_ws('|', source_ref, name, org_name, postcode, state, entry_id::text, updated_at::text), E'\n' order by source_ref) from directory_listings), '') || E'\n--\n' ||
		(select count(*)::text from audit_events)`).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func auditCount(t *testing.T, db *pgxpool.Pool, action string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), `select count(*) from audit_events where action = $1`, action).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
