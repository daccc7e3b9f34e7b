package fhirserve_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/opensmd/portal/internal/fhirpd"
	"github.com/opensmd/portal/internal/fhirserve"
	"github.com/opensmd/portal/internal/hi"
	"github.com/opensmd/portal/internal/provider"
	"github.com/opensmd/portal/internal/store"
	"github.com/opensmd/portal/internal/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

const (
	base   = "https://portal-b.example.test/fhir"
	smdURL = "https://smd.portal-b.example.test/smd"
)

// certs is a Publisher with one encryption certificate per organisation.
type certs map[string]*x509.Certificate

func (c certs) Endpoint(_ context.Context, orgID string) (string, *x509.Certificate, error) {
	return smdURL, c[orgID], nil
}

func newCert(t *testing.T, cn string) *x509.Certificate {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, SubjectKeyId: []byte(cn)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

// hostedProvider is provider B: two organisations, five practitioners with
// an HPI-I (one deactivated, one reception user who is not published).
func hostedProvider(t *testing.T) (*fhirserve.Server, []store.Organisation, certs) {
	t.Helper()
	ctx := context.Background()
	st := store.New(storetest.DB(t))
	pub := certs{}
	var orgs []store.Organisation
	hpii := 1000
	for i, name := range []string{"Bayside Physio", "Hilltop Cardiology"} {
		o, err := st.CreateOrganisation(ctx, name, hi.WithCheckDigit("80036200000000"+string(rune('1'+i))))
		if err != nil {
			t.Fatal(err)
		}
		orgs = append(orgs, o)
		pub[o.ID] = newCert(t, name)
		for j, role := range []string{store.RoleClinician, store.RoleClinician, store.RoleAdmin, store.RoleReception} {
			u, err := st.CreateUser(ctx, store.NewUser{OrganisationID: o.ID, Email: role + string(rune('a'+j)) + "@" + o.ID + ".test",
				DisplayName: name + " practitioner " + string(rune('A'+j)), Role: role, PasswordHash: "x"})
			if err != nil {
				t.Fatal(err)
			}
			hpii++
			if err := st.SetUserHPII(ctx, o.ID, u.ID, hi.WithCheckDigit("80036100000"+itoa4(hpii))); err != nil {
				t.Fatal(err)
			}
			if i == 1 && j == 2 { // deactivated: not published
				if _, err := st.Pool().Exec(ctx, `update users set active = false where id = $1`, u.ID); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if _, err := provider.SyncHostedListings(ctx, st); err != nil {
		t.Fatal(err)
	}
	return &fhirserve.Server{Store: st, Publisher: pub}, orgs, pub
}

func itoa4(n int) string {
	s := "0000" + string([]byte{byte('0' + n/1000%10), byte('0' + n/100%10), byte('0' + n/10%10), byte('0' + n%10)})
	return s[len(s)-4:]
}

func search(t *testing.T, s *fhirserve.Server, typ, query string) fhirserve.Resource {
	t.Helper()
	v, err := url.ParseQuery(query)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Search(context.Background(), base, typ, v)
	if err != nil {
		t.Fatalf("search %s?%s: %v", typ, query, err)
	}
	// Through JSON, as a client sees it.
	data, _ := json.Marshal(b)
	var out fhirserve.Resource
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func next(b fhirserve.Resource) string {
	for _, l := range b["link"].([]any) {
		if l := l.(map[string]any); l["relation"] == "next" {
			return l["url"].(string)
		}
	}
	return ""
}

// _count=2 walks every PractitionerRole through the next links: no
// duplicates, no gaps, and only published practitioners.
func TestSearch_PagingWalksEverything(t *testing.T) {
	s, _, _ := hostedProvider(t)
	seen := map[string]bool{}
	query := "_count=2"
	pages := 0
	for {
		b := search(t, s, "PractitionerRole", query)
		if got := int(b["total"].(float64)); got != 5 {
			t.Fatalf("total %d, want 5 (6 clinicians/admins with an HPI-I, one deactivated)", got)
		}
		for _, e := range b["entry"].([]any) {
			id := e.(map[string]any)["resource"].(map[string]any)["id"].(string)
			if seen[id] {
				t.Fatalf("PractitionerRole/%s on two pages", id)
			}
			seen[id] = true
		}
		pages++
		n := next(b)
		if n == "" {
			break
		}
		u, err := url.Parse(n)
		if err != nil || !strings.HasPrefix(n, base+"/PractitionerRole?") {
			t.Fatalf("next link %q", n)
		}
		query = u.RawQuery
	}
	if len(seen) != 5 || pages != 3 {
		t.Fatalf("%d roles over %d pages, want 5 over 3", len(seen), pages)
	}
}

// The searchset with every _include parses with fhirpd into our hosted
// organisations as SMD targets (their URL and active certificate), and a
// second provider importing it gets reachable listings: how another
// provider finds us.
func TestSearch_RoundTripThroughImport(t *testing.T) {
	s, orgs, pub := hostedProvider(t)
	b, err := s.Search(context.Background(), base, "PractitionerRole", url.Values{"_include": {
		"PractitionerRole:practitioner", "PractitionerRole:organization", "PractitionerRole:endpoint", "PractitionerRole:location"}})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(b)
	d, err := fhirpd.Parse(bytes.NewReader(data), fhirpd.Limits{})
	if err != nil {
		t.Fatalf("our own bundle does not parse: %v", err)
	}
	targets := d.SMDTargets()
	if len(targets) != 2 {
		t.Fatalf("%d SMD targets, want 2", len(targets))
	}
	for _, tg := range targets {
		o := orgs[0]
		if tg.OrgURI != fhirpd.HPIOURIPrefix+o.HPIO {
			o = orgs[1]
		}
		if tg.OrgURI != fhirpd.HPIOURIPrefix+o.HPIO || tg.EndpointURL != smdURL || !tg.Cert.Equal(pub[o.ID]) {
			t.Errorf("target %s: url %s, cert %s", tg.OrgURI, tg.EndpointURL, tg.Cert.Subject)
		}
		if len(tg.PayloadTypes) != len(provider.SupportedCategories) || tg.ReceivingFacility == nil ||
			tg.ReceivingFacility.NamespaceID != o.HPIO {
			t.Errorf("target %s: payload %v facility %+v", tg.OrgURI, tg.PayloadTypes, tg.ReceivingFacility)
		}
	}
	other := store.New(storetest.DB(t))
	res, err := provider.ImportDirectory(context.Background(), other, d, provider.Actor{}, "test")
	if err != nil {
		t.Fatalf("import at the second provider: %v", err)
	}
	if len(res.Entries) != 2 {
		t.Fatalf("%d entries, want 2", len(res.Entries))
	}
	ls, total, err := other.SearchListings(context.Background(), store.ListingSearch{Kind: store.ListingPractitioner, ReachableOnly: true})
	if err != nil || total != 5 {
		t.Fatalf("reachable practitioners at the second provider: %d %v", total, err)
	}
	if !strings.Contains(ls[0].Name, "practitioner") || ls[0].HPII == "" {
		t.Errorf("imported practitioner %+v", ls[0])
	}
}

func TestRead_AndErrors(t *testing.T) {
	s, orgs, _ := hostedProvider(t)
	ctx := context.Background()
	r, err := s.Read(ctx, base, "Organization", orgs[0].ID)
	if err != nil || r["name"] != orgs[0].Name {
		t.Fatalf("read Organization: %v %v", r, err)
	}
	ep, err := s.Read(ctx, base, "Endpoint", orgs[1].ID)
	if err != nil || ep["address"] != smdURL {
		t.Fatalf("read Endpoint: %v %v", ep, err)
	}
	tests := []struct {
		name   string
		call   func() error
		status int
	}{
		{"unknown type", func() error { _, err := s.Read(ctx, base, "Patient", orgs[0].ID); return err }, http.StatusNotFound},
		{"unknown id", func() error { _, err := s.Read(ctx, base, "Organization", "nope"); return err }, http.StatusNotFound},
		{"unknown practitioner", func() error { _, err := s.Read(ctx, base, "Practitioner", orgs[0].ID); return err }, http.StatusNotFound},
		{"search unknown type", func() error { _, err := s.Search(ctx, base, "Patient", nil); return err }, http.StatusNotFound},
		{"bad _count", func() error {
			_, err := s.Search(ctx, base, "Organization", url.Values{"_count": {"lots"}})
			return err
		}, http.StatusBadRequest},
		{"zero _count", func() error { _, err := s.Search(ctx, base, "Organization", url.Values{"_count": {"0"}}); return err }, http.StatusBadRequest},
		{"unknown parameter", func() error {
			_, err := s.Search(ctx, base, "Organization", url.Values{"birthdate": {"x"}})
			return err
		}, http.StatusBadRequest},
		{"bad include", func() error {
			_, err := s.Search(ctx, base, "PractitionerRole", url.Values{"_include": {"Patient:link"}})
			return err
		}, http.StatusBadRequest},
		{"forged page token", func() error { _, err := s.Search(ctx, base, "Organization", url.Values{"_page": {"xyz"}}); return err }, http.StatusBadRequest},
	}
	for _, tt := range tests {
		err := tt.call()
		var fe *fhirserve.Error
		if !errors.As(err, &fe) || fe.Status != tt.status {
			t.Errorf("%s: %v, want status %d", tt.name, err, tt.status)
			continue
		}
		if st, oo := fhirserve.Outcome(err); st != tt.status || oo["resourceType"] != "OperationOutcome" {
			t.Errorf("%s: outcome %d %v", tt.name, st, oo)
		}
	}
	// Search parameters select.
	hpio := search(t, s, "Organization", "identifier="+url.QueryEscape(fhirpd.SystemHPIO+"|"+orgs[1].HPIO))
	if hpio["total"].(float64) != 1 {
		t.Errorf("identifier search: total %v", hpio["total"])
	}
	byOrg := search(t, s, "PractitionerRole", "organization=Organization/"+orgs[1].ID)
	if byOrg["total"].(float64) != 2 {
		t.Errorf("organization search: total %v, want 2", byOrg["total"])
	}
	byName := search(t, s, "Practitioner", "name=hilltop")
	if byName["total"].(float64) != 2 {
		t.Errorf("name search: total %v, want 2", byName["total"])
	}
}
