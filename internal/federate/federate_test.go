package federate_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/opensmd/portal/internal/federate"
)

func serve(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL + "/fhir/"
}

func TestSearch_FixtureRowsAndQuery(t *testing.T) {
	data, err := os.ReadFile("../fhirpd/testdata/practices.json")
	if err != nil {
		t.Fatal(err)
	}
	var got *http.Request
	base := serve(t, func(w http.ResponseWriter, r *http.Request) {
		got = r
		w.Header().Set("Content-Type", "application/fhir+json")
		_, _ = w.Write(data)
	})
	rows, err := federate.Search(context.Background(), http.DefaultClient, base, federate.Query{Name: "Citizen & co"}, 7)
	if err != nil {
		t.Fatal(err)
	}
	q := got.URL.Query()
	if got.URL.Path != "/fhir/PractitionerRole" || q.Get("name") != "Citizen & co" || q.Get("_count") != "7" || len(q["_include"]) != 4 {
		t.Errorf("query %s", got.URL)
	}
	// An identifier query asks for it with its system, not by name.
	if _, err := federate.Search(context.Background(), http.DefaultClient, base, federate.Query{HPII: "8003610000000014"}, 7); err != nil {
		t.Fatal(err)
	}
	if q := got.URL.Query(); q.Get("identifier") != "http://ns.electronichealth.net.au/id/hi/hpii/1.0|8003610000000014" || q.Has("name") {
		t.Errorf("HPI-I query %s", got.URL)
	}
	if len(rows) != 2 { // sam-lee-physio is inactive
		t.Fatalf("%d rows: %+v", len(rows), rows)
	}
	var jane federate.Row
	for _, r := range rows {
		if r.RoleID == "jane-citizen-gp" {
			jane = r
		}
	}
	if jane.Name != "Dr Jane Mary Citizen" || jane.OrgID != "gp-harbourside" || jane.OrgName != "Harbourside Family Practice" ||
		!strings.HasPrefix(jane.OrgURI, "http://ns.electronichealth.net.au/id/hi/hpio/1.0/") || !jane.Reachable || len(jane.PayloadTypes) == 0 {
		t.Errorf("jane %+v", jane)
	}
}

func TestSearch_Failures(t *testing.T) {
	for name, tt := range map[string]struct {
		h    http.HandlerFunc
		kind string
	}{
		"500":     {func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "boom", 500) }, "status"},
		"garbage": {func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("<html>not json")) }, "unreadable"},
		"not a bundle": {func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(`{"resourceType":"OperationOutcome"}`))
		}, "unreadable"},
		"too large": {func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(`{"resourceType":"Bundle","type":"searchset","entry":[` + strings.Repeat(" ", federate.MaxBytes) + `]}`))
		}, "unreadable"},
		"hangs": {func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}, "timeout"},
	} {
		t.Run(name, func(t *testing.T) {
			base := serve(t, tt.h)
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			_, err := federate.Search(ctx, http.DefaultClient, base, federate.Query{Name: "x"}, 5)
			var fe *federate.Error
			if !errors.As(err, &fe) || fe.Kind != tt.kind {
				t.Errorf("err %v, want kind %s", err, tt.kind)
			}
		})
	}
}

func TestValidID(t *testing.T) {
	for s, want := range map[string]bool{"gp-harbourside": true, "a.b-C9": true, "": false, "a/b": false, "a b": false,
		"../x": false, strings.Repeat("a", 64): true, strings.Repeat("a", 65): false, "x?y": false} {
		if federate.ValidID(s) != want {
			t.Errorf("ValidID(%q) != %v", s, want)
		}
	}
}

func TestOrganisationURLs(t *testing.T) {
	us := federate.OrganisationURLs("https://d.example.org/fhir/", "org-1")
	if len(us) != 4 || us[0] != "https://d.example.org/fhir/Organization?_id=org-1" ||
		!strings.HasPrefix(us[1], "https://d.example.org/fhir/PractitionerRole?") || !strings.Contains(us[1], "organization=org-1") {
		t.Errorf("%q", us)
	}
}
