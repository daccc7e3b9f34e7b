package fhirpd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// MaxPages bounds how many searchset pages Fetch follows per URL.
const MaxPages = 100

// Fetch GETs each search URL and follows its Bundle.link "next" (at most
// MaxPages pages each), and returns one collection Bundle of every
// resource found, each Type/id once, for Parse. Only http(s) URLs are
// fetched, a next link must stay on the host of its search URL, and all
// pages together stay within DefaultMaxBytes (Parse's limit): a directory
// cannot make the portal hold more than it would parse.
func Fetch(ctx context.Context, c *http.Client, urls []string) ([]byte, error) {
	var entries []json.RawMessage
	seen := map[string]bool{}
	total := 0
	for _, start := range urls {
		first, err := url.Parse(start)
		if err != nil || (first.Scheme != "https" && first.Scheme != "http") || first.Host == "" {
			return nil, fmt.Errorf("fhirpd: %q is not an http(s) URL", start)
		}
		next := first
		for page := 0; next != nil; page++ {
			if page == MaxPages {
				return nil, fmt.Errorf("fhirpd: %s: more than %d pages", start, MaxPages)
			}
			b, n, err := fetchPage(ctx, c, next.String(), DefaultMaxBytes-total)
			if err != nil {
				return nil, err
			}
			total += n
			next = nil
			for _, l := range b.Link {
				if l.Relation != "next" || l.URL == "" {
					continue
				}
				u, err := resolveNext(first, l.URL)
				if err != nil {
					return nil, err
				}
				next = u
			}
			for _, e := range b.Entry {
				var h rawHead
				if err := json.Unmarshal(e.Resource, &h); err != nil || h.ResourceType == "" || h.ID == "" {
					entries = append(entries, e.raw) // Parse reports it
					continue
				}
				if k := h.ResourceType + "/" + h.ID; !seen[k] {
					seen[k] = true
					entries = append(entries, e.raw)
				}
			}
		}
	}
	return json.Marshal(map[string]any{"resourceType": "Bundle", "type": "collection", "entry": entries})
}

func resolveNext(first *url.URL, s string) (*url.URL, error) {
	u, err := first.Parse(s)
	if err != nil || u.Host != first.Host || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("fhirpd: next link %q leaves %s", s, first.Host)
	}
	return u, nil
}

type fetchedEntry struct {
	Resource json.RawMessage `json:"resource"`
	raw      json.RawMessage
}

func (e *fetchedEntry) UnmarshalJSON(b []byte) error {
	var v struct {
		Resource json.RawMessage `json:"resource"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	e.Resource, e.raw = v.Resource, append(json.RawMessage(nil), b...)
	return nil
}

type fetchedBundle struct {
	ResourceType string `json:"resourceType"`
	Link         []struct {
		Relation string `json:"relation"`
		URL      string `json:"url"`
	} `json:"link"`
	Entry []fetchedEntry `json:"entry"`
}

// fetchPage GETs one searchset page of at most budget bytes and returns
// it with its size.
func fetchPage(ctx context.Context, c *http.Client, u string, budget int) (*fetchedBundle, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("fhirpd: %w", err)
	}
	req.Header.Set("Accept", "application/fhir+json")
	resp, err := c.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("fhirpd: GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("fhirpd: GET %s: %s", u, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, int64(budget)+1))
	if err != nil {
		return nil, 0, fmt.Errorf("fhirpd: GET %s: %w", u, err)
	}
	if len(data) > budget {
		return nil, 0, fmt.Errorf("fhirpd: GET %s: the directory is larger than %d bytes", u, DefaultMaxBytes)
	}
	var b fetchedBundle
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, 0, fmt.Errorf("fhirpd: GET %s: %s", u, jsonError(err))
	}
	if b.ResourceType != "Bundle" {
		return nil, 0, errors.New("fhirpd: GET " + u + ": not a Bundle")
	}
	return &b, len(data), nil
}
