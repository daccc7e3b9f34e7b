package provider_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/opensmd/portal/internal/fhirpd"
	"github.com/opensmd/portal/internal/provider"
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
	got, err := provider.ImportDirectory(ctx, st, parseBundle(t, b))
	if err != nil {
		t.Fatal(err)
	}
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
	if _, err := provider.ImportDirectory(ctx, st, parseBundle(t, b)); err != nil {
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
	_, err = provider.ImportDirectory(ctx, st, d)
	if err == nil || !strings.Contains(err.Error(), "nothing imported") || !strings.Contains(err.Error(), "service category") {
		t.Fatalf("import = %v, want a problem report", err)
	}
	if _, err := st.DirectoryEntryByOrgURI(ctx, "http://ns.electronichealth.net.au/id/hi/hpio/1.0/8003620000000013"); err == nil {
		t.Fatal("the usable GP entry was imported although the import failed")
	}
}
