package fhirpd

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// pagedServer serves a searchset of pages pages, each with one
// Organization padded to about pad bytes, linked by "next".
func pagedServer(t *testing.T, pages, pad int) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("page"))
		b := map[string]any{"resourceType": "Bundle", "type": "searchset", "entry": []any{
			map[string]any{"resource": map[string]any{"resourceType": "Organization", "id": fmt.Sprint("o", n%3),
				"name": strings.Repeat("x", pad)}},
		}}
		if n+1 < pages {
			b["link"] = []any{map[string]any{"relation": "next", "url": fmt.Sprintf("/fhir/Organization?page=%d", n+1)}}
		}
		_ = json.NewEncoder(w).Encode(b)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestFetch_FollowsPagesOnceEach(t *testing.T) {
	srv := pagedServer(t, 5, 10)
	b, err := Fetch(t.Context(), srv.Client(), []string{srv.URL + "/fhir/Organization?page=0"})
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Entry []json.RawMessage }
	if err := json.Unmarshal(b, &got); err != nil || len(got.Entry) != 3 {
		t.Errorf("%d entries (%v), want 3: each Type/id once", len(got.Entry), err)
	}
}

// All pages together stay within what Parse would read: a directory that
// keeps paging is refused, not buffered.
func TestFetch_TotalSizeBounded(t *testing.T) {
	srv := pagedServer(t, MaxPages, 1<<20)
	_, err := Fetch(t.Context(), srv.Client(), []string{srv.URL + "/fhir/Organization?page=0"})
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("%d pages of 1 MB: %v, want the size refused", MaxPages, err)
	}
}

func TestFetch_NextLinkStaysOnHost(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"resourceType":"Bundle","type":"searchset","link":[{"relation":"next","url":"http://elsewhere.test/fhir/x"}]}`))
	}))
	t.Cleanup(srv.Close)
	if _, err := Fetch(t.Context(), srv.Client(), []string{srv.URL + "/fhir/Organization"}); err == nil || !strings.Contains(err.Error(), "leaves") {
		t.Fatalf("next link to another host: %v", err)
	}
}
