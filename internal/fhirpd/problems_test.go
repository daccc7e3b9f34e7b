package fhirpd

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"
)

// bundleOf builds a collection Bundle from JSON resource texts.
func bundleOf(resources ...string) string {
	var es []string
	for _, r := range resources {
		es = append(es, `{"resource":`+r+`}`)
	}
	return `{"resourceType":"Bundle","type":"collection","entry":[` + strings.Join(es, ",") + `]}`
}

// goodCertPEM is the GP endpoint's test certificate from testdata.
func goodCertPEM(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile("testdata/practices.json")
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, []byte(`"-----BEGIN CERTIFICATE-----`))
	j := bytes.Index(b[i:], []byte(`-----END CERTIFICATE-----\n"`))
	var s string
	if err := json.Unmarshal(b[i:i+j+len(`-----END CERTIFICATE-----\n"`)], &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func ecCertPEM(t testing.TB) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "TEST ec"},
		NotBefore: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2125, 1, 1, 0, 0, 0, 0, time.UTC)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func smdEndpoint(id, address, cert string) string {
	ext := ""
	if cert != "" {
		c, _ := json.Marshal(cert)
		ext = `"extension":[{"url":"` + ExtEncryptionCert + `","valueString":` + string(c) + `}],`
	}
	return `{"resourceType":"Endpoint","id":"` + id + `",` + ext + `"status":"active",
		"identifier":[{"system":"` + SystemSMDTarget + `","value":"http://smd.example.test/id/` + id + `"}],
		"connectionType":{"system":"` + SystemSMDInterfaces + `","code":"` + IntfSMD + `"},"address":"` + address + `"}`
}

func TestProblems(t *testing.T) {
	good := goodCertPEM(t)
	org := `{"resourceType":"Organization","id":"o1","name":"O"}`
	tests := []struct {
		name  string
		input string
		want  []string // substrings of the problems, in order
	}{
		{"empty input", ``, []string{"bundle: malformed JSON: unexpected end of JSON input"}},
		{"syntax error with offset", `{"resourceType":"Bundle",}`, []string{"malformed JSON: invalid character '}' looking for beginning of object key string at offset 26"}},
		{"not a bundle", `{"resourceType":"Patient","id":"p"}`, []string{`not a Bundle (resourceType "Patient")`}},
		{"JSON array", `[]`, []string{"malformed JSON"}},
		{"bad bundle type", `{"resourceType":"Bundle","type":"document","entry":[]}`, []string{`Bundle.type: bundle type "document"`}},
		{"missing resourceType", bundleOf(`{"id":"x"}`), []string{"entry 0: resource has no resourceType"}},
		{"missing id", bundleOf(`{"resourceType":"Organization","name":"x"}`), []string{"entry 0 Organization/: resource has no id"}},
		{"no resource", `{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"urn:uuid:1"}]}`, []string{"entry 0: entry has no resource"}},
		{"wrong JSON type in resource", bundleOf(`{"resourceType":"Organization","id":"o","name":7}`), []string{"entry 0 Organization/o: malformed Organization: json: cannot unmarshal number into Go struct field rawOrganization.name of type string at offset"}},
		{"duplicate id", bundleOf(org, org), []string{"entry 1 Organization/o1: duplicate id Organization/o1"}},
		{"dangling reference", bundleOf(`{"resourceType":"PractitionerRole","id":"r","practitioner":{"reference":"Practitioner/nobody"}}`),
			[]string{`entry 0 PractitionerRole/r PractitionerRole.practitioner: dangling reference "Practitioner/nobody"`}},
		{"dangling urn:uuid", bundleOf(`{"resourceType":"HealthcareService","id":"s","endpoint":[{"reference":"urn:uuid:0000"}]}`),
			[]string{`HealthcareService.endpoint[0]: dangling reference "urn:uuid:0000"`}},
		{"reference to wrong type", bundleOf(org, `{"resourceType":"PractitionerRole","id":"r","practitioner":{"reference":"Organization/o1"}}`),
			[]string{`reference "Organization/o1" is a Organization, want Practitioner`}},
		{"bad HPI-O check digit", bundleOf(`{"resourceType":"Organization","id":"o","identifier":[{"system":"` + SystemHPIO + `","value":"8003620000000014"}]}`),
			[]string{"Organization.identifier[0]: HPI-O \"8003620000000014\": This is not a valid HPI-O"}},
		{"HPI-I with HPI-O prefix", bundleOf(`{"resourceType":"Practitioner","id":"p","identifier":[{"system":"` + SystemHPII + `","value":"8003620000000013"}]}`),
			[]string{"Practitioner.identifier[0]: HPI-I \"8003620000000013\": An HPI-I starts with 800361"}},
		{"endpoint without address", bundleOf(smdEndpoint("e", "", good)), []string{"Endpoint.address: endpoint has no address"}},
		{"plain http endpoint", bundleOf(smdEndpoint("e", "http://smd.example.test/smd", good)), []string{`endpoint address "http://smd.example.test/smd" is not an https URL`}},
		{"SMD endpoint without certificate", bundleOf(smdEndpoint("e", "https://smd.example.test/smd", "")), []string{"SMD endpoint has no encryption certificate"}},
		{"bad PEM", bundleOf(smdEndpoint("e", "https://smd.example.test/smd", "-----BEGIN CERTIFICATE-----not base64!-----END CERTIFICATE-----")),
			[]string{"encryption certificate: certificate is not valid PEM/base64"}},
		{"PEM of garbage DER", bundleOf(smdEndpoint("e", "https://smd.example.test/smd", "-----BEGIN CERTIFICATE-----AAAA-----END CERTIFICATE-----")),
			[]string{"encryption certificate does not parse"}},
		{"EC certificate", bundleOf(smdEndpoint("e", "https://smd.example.test/smd", ecCertPEM(t))), []string{"encryption certificate key is ECDSA, SMD needs RSA"}},
		{"unknown SMD interface", bundleOf(`{"resourceType":"Endpoint","id":"e","address":"https://x.example.test/","connectionType":{"system":"` + SystemSMDInterfaces + `","code":"http://ns.electronichealth.net.au/smd/intf/Nope/TLS/2010"}}`),
			[]string{"unknown connection type http://hl7.org.au/fhir/CodeSystem/smd-interfaces|http://ns.electronichealth.net.au/smd/intf/Nope/TLS/2010"}},
		{"unknown connection type system", bundleOf(`{"resourceType":"Endpoint","id":"e","address":"https://x.example.test/","connectionType":{"system":"urn:x","code":"y"}}`),
			[]string{"unknown connection type urn:x|y"}},
		{"three problems together", bundleOf(
			`{"resourceType":"Organization","id":"o","identifier":[{"system":"`+SystemHPIO+`","value":"1234"}]}`,
			smdEndpoint("e", "http://smd.example.test/smd", good),
			`{"resourceType":"PractitionerRole","id":"r","organization":{"reference":"Organization/o"},"endpoint":[{"reference":"Endpoint/gone"}]}`),
			[]string{"entry 0 Organization/o Organization.identifier[0]: HPI-O \"1234\": An HPI-O has 16 digits",
				"entry 1 Endpoint/e Endpoint.address: endpoint address \"http://smd.example.test/smd\" is not an https URL",
				`entry 2 PractitionerRole/r PractitionerRole.endpoint[0]: dangling reference "Endpoint/gone"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Parse(strings.NewReader(tt.input), testLimits)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Parse = %v, %v; want a *ValidationError", d, err)
			}
			if d != nil {
				t.Errorf("Parse returned a Directory with the error")
			}
			got := messages(ve.Problems)
			if len(got) != len(tt.want) {
				t.Fatalf("problems:\n%s\nwant %d matching %q", strings.Join(got, "\n"), len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("problem %q does not contain %q", got[i], w)
				}
			}
			if !strings.Contains(ve.Error(), got[0]) {
				t.Errorf("Error() = %q", ve.Error())
			}
		})
	}
}

func TestLimits(t *testing.T) {
	org := func(id string) string { return `{"resourceType":"Organization","id":"` + id + `"}` }
	tests := []struct {
		name  string
		lim   Limits
		input string
		want  string
	}{
		{"bytes", Limits{MaxBytes: 10}, bundleOf(org("a")), "bundle is larger than 10 bytes"},
		{"entries", Limits{MaxEntries: 2}, bundleOf(org("a"), org("b"), org("c")), "bundle has 3 entries, more than 2"},
		{"depth", Limits{}, strings.Repeat("[", 65) + strings.Repeat("]", 65), "JSON nested deeper than 64 levels at offset 64"},
		{"depth not fooled by brackets in strings", Limits{MaxDepth: 5}, bundleOf(`{"resourceType":"Organization","id":"o","name":"[[[[[[[[{{{{"}`), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tt.input), tt.lim)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestExpiredCertIsWarning(t *testing.T) {
	late := Limits{Now: func() time.Time { return time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC) }}
	d, err := Parse(strings.NewReader(bundleOf(smdEndpoint("e", "https://smd.example.test/smd", goodCertPEM(t)))), late)
	if err != nil {
		t.Fatal(err)
	}
	if w := messages(d.Warnings); len(w) != 1 || !strings.Contains(w[0], "expired on 2125-01-01") {
		t.Errorf("warnings = %q", w)
	}
	if ts := d.SMDTargets(); len(ts) != 1 || ts[0].OrgURI != "http://smd.example.test/id/e" {
		t.Errorf("targets = %+v", ts)
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"testdata/practices.json"} {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(bundleOf(`{"resourceType":"PractitionerRole","id":"r","practitioner":{"reference":"Practitioner/x/_history/1"}}`)))
	f.Add([]byte(bundleOf(smdEndpoint("e", "https://a.test/", "-----BEGIN CERTIFICATE-----AAAA-----END CERTIFICATE-----"))))
	f.Add([]byte(`{"resourceType":"Bundle","type":"collection","entry":[{"resource":null},{}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := Parse(bytes.NewReader(b), Limits{MaxBytes: 1 << 20})
		if (d == nil) == (err == nil) {
			t.Fatalf("Parse returned both or neither: %v, %v", d, err)
		}
		if d != nil {
			_ = d.SMDTargets()
		}
	})
}

func TestNormalisePEM(t *testing.T) {
	good := goodCertPEM(t)
	body := strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(good), pemBegin), pemEnd))
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"standard", good, true},
		{"no line breaks", strings.ReplaceAll(good, "\n", ""), true},
		{"spaces for line breaks", strings.ReplaceAll(good, "\n", " "), true},
		{"bare base64", body, true},
		{"two certificates", good + good, false},
		{"text after END", good + "junk", false},
		{"not base64", pemBegin + "@@@@" + pemEnd, false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			norm, der, err := NormalisePEM(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if tt.ok && (norm != good || len(der) == 0) {
				t.Errorf("normalised = %q, want %q", norm, good)
			}
		})
	}
}
