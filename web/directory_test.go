package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/opensmd/portal/internal/hi"
	"github.com/opensmd/portal/internal/provider"
	"github.com/opensmd/portal/internal/store"
)

// directoryFixture stores one reachable practitioner whose name is an XSS
// attempt and one unreachable organisation.
func directoryFixture(t *testing.T, b *testBundle) (reachable, unreachable store.Listing) {
	t.Helper()
	ctx := context.Background()
	e, err := b.store.UpsertDirectoryEntry(ctx, store.DirectoryEntry{OrgURI: "http://ns.electronichealth.net.au/id/hi/hpio/1.0/8003620000000013",
		Name: "Harbourside", EndpointURL: "https://smd.harbourside.test/smd", EncryptionCertDER: []byte{0x30},
		ServiceCategories: []string{provider.CategoryReferral}})
	if err != nil {
		t.Fatal(err)
	}
	reachable, err = b.store.UpsertListing(ctx, store.Listing{Kind: store.ListingPractitioner, EntryID: &e.ID, OrgURI: e.OrgURI,
		OrgName: "Harbourside", Name: `Dr <script>alert(1)</script> Citizen`, HPII: hi.WithCheckDigit("800361000000001"),
		ProviderNumber: "2426621B", Specialty: "General practice", Suburb: "Balmain", State: "NSW", Postcode: "2041",
		PayloadTypes: []string{provider.CategoryReferral, provider.CategoryReport}, Source: store.SourceImport, SourceRef: "PractitionerRole/jane"})
	if err != nil {
		t.Fatal(err)
	}
	unreachable, err = b.store.UpsertListing(ctx, store.Listing{Kind: store.ListingOrganisation, Name: "Paper Street Clinic",
		Suburb: "Balmain", Postcode: "2041", Source: store.SourceImport, SourceRef: "Organization/paper"})
	if err != nil {
		t.Fatal(err)
	}
	return reachable, unreachable
}

func TestDirectory_SearchValidatesAndShowsReachability(t *testing.T) {
	b := setup(t)
	_, users := b.org(t, "Org A", "800362000000001")
	jane, paper := directoryFixture(t, b)
	br := b.browser(t)
	br.login(users["reception"])

	tests := []struct {
		name, query string
		status      int
		want        []string
		notWant     []string
	}{
		{"bad HPI-I check digit", "q=" + url.QueryEscape("8003 6100 0000 0019"), http.StatusUnprocessableEntity,
			[]string{"check digit", `aria-invalid="true"`, `aria-describedby="q-hint q-error"`, `value="8003 6100 0000 0019"`}, []string{`data-testid="listing"`}},
		{"16 digits of another kind", "q=8003600000000000", http.StatusUnprocessableEntity, []string{"must be an HPI-I (starting 800361) or an HPI-O"}, nil},
		{"short number", "q=12345", http.StatusUnprocessableEntity, []string{"not a full identifier"}, nil},
		{"bad postcode", "place=204", http.StatusUnprocessableEntity, []string{"A postcode has 4 digits", `value="204"`}, nil},
		{"by HPI-I", "q=" + jane.HPII, http.StatusOK, []string{"1 result", "Can receive secure messages", "Referral, Pathology/Radiology report",
			"/compose?to=" + jane.ID}, []string{"Paper Street"}},
		{"by provider number", "q=2426621b", http.StatusOK, []string{"1 result"}, nil},
		{"by postcode, both", "place=2041", http.StatusOK, []string{"2 results", "Not reachable by secure messaging — send by post or fax", "Paper Street Clinic"}, nil},
		{"SMD only", "place=Balmain&smd=1", http.StatusOK, []string{"1 result"}, []string{"Paper Street"}},
		{"by specialty", "specialty=general", http.StatusOK, []string{"1 result"}, nil},
		{"name escaped", "q=script", http.StatusOK, []string{"Dr &lt;script&gt;alert(1)&lt;/script&gt; Citizen"}, []string{"<script>alert(1)"}},
		{"kind filter", "place=2041&kind=organisation", http.StatusOK, []string{"1 result", "Paper Street"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := br.get("/directory?" + tt.query)
			if p.status != tt.status {
				t.Fatalf("status %d, want %d", p.status, tt.status)
			}
			for _, w := range tt.want {
				if !strings.Contains(p.body, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(p.body, w) {
					t.Errorf("page has %q", w)
				}
			}
		})
	}
	d := br.get("/directory/" + paper.ID)
	if d.status != http.StatusOK || !strings.Contains(d.body, "Not reachable by secure messaging") || strings.Contains(d.body, "/compose?to=") {
		t.Fatalf("unreachable details: %d", d.status)
	}
	d = br.get("/directory/" + jane.ID)
	if d.status != http.StatusOK || !strings.Contains(d.body, "https://smd.harbourside.test/smd") || strings.Contains(d.body, "<script>alert") {
		t.Fatalf("reachable details: %d", d.status)
	}
	if p := br.get("/directory/00000000-0000-0000-0000-000000000000"); p.status != http.StatusNotFound {
		t.Fatalf("unknown listing: %d", p.status)
	}
}

// Favourites are the organisation's: org B never sees org A's, and the
// forms need the CSRF token.
func TestDirectory_FavouritesPerOrganisation(t *testing.T) {
	b := setup(t)
	_, usersA := b.org(t, "Org A", "800362000000001")
	_, usersB := b.org(t, "Org B", "800362000000002")
	jane, _ := directoryFixture(t, b)
	a := b.browser(t)
	a.login(usersA["clinician"])
	if p := a.postRaw("/directory/"+jane.ID+"/favourite", url.Values{}); p.status != http.StatusForbidden {
		t.Fatalf("favourite without CSRF: %d", p.status)
	}
	p := a.post("/directory?q=citizen", "/directory/"+jane.ID+"/favourite", url.Values{"back": {"/directory?q=citizen"}})
	if p.status != http.StatusSeeOther || p.location != "/directory?q=citizen" {
		t.Fatalf("favourite: %d %q", p.status, p.location)
	}
	home := a.get("/directory")
	if !strings.Contains(home.body, `data-testid="favourites"`) || !strings.Contains(home.body, "Remove from favourites") {
		t.Fatal("org A's favourites do not list the practitioner")
	}
	bb := b.browser(t)
	bb.login(usersB["clinician"])
	if p := bb.get("/directory"); strings.Contains(p.body, `data-testid="favourites"`) || !strings.Contains(p.body, "no favourites yet") {
		t.Fatal("org B sees org A's favourites")
	}
	if p := bb.get("/directory?q=citizen"); !strings.Contains(p.body, "Add to favourites") || strings.Contains(p.body, "Remove from favourites") {
		t.Fatal("org B's search marks org A's favourite")
	}
	// An open redirect through "back" is refused.
	p = a.post("/directory", "/directory/"+jane.ID+"/unfavourite", url.Values{"back": {"https://evil.test/"}})
	if p.status != http.StatusSeeOther || p.location != "/directory/"+jane.ID {
		t.Fatalf("unfavourite: %d %q", p.status, p.location)
	}
	if p := a.get("/directory"); strings.Contains(p.body, `data-testid="favourites"`) {
		t.Fatal("the favourite was not removed")
	}
}
