package hl7

import (
	"bytes"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Australia/Sydney on machines without zoneinfo

	"github.com/opensmd/portal/internal/golden"
)

func TestEscape(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"a|b^c~d\\e&f", `a\F\b\S\c\R\d\E\e\T\f`},
		{"line 1\r\nline 2\n", `line 1\X0D\\X0A\line 2\X0A\`},
		{"", ""},
	} {
		if got := Escape(tc.in); got != tc.want {
			t.Errorf("Escape(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := Unescape(tc.want); got != tc.in {
			t.Errorf("Unescape(%q) = %q, want %q", tc.want, got, tc.in)
		}
	}
}

func TestUnescape_Others(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`a\.br\b`, "a\nb"},
		{`\X0D0A\`, "\r\n"},
		{`\H\bold\N\`, "bold"},
		{`\Zcustom\`, `\Zcustom\`}, // unknown: kept as written
		{`\XZZ\`, `\XZZ\`},         // not hex
		{`tail\`, `tail\`},         // unterminated
		{`\`, `\`},
	} {
		if got := Unescape(tc.in); got != tc.want {
			t.Errorf("Unescape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// Any string, delimiters and line breaks included, survives Escape then
// Unescape, and its escaped form holds no delimiter or segment end.
func TestEscape_RoundTrip(t *testing.T) {
	alphabet := []byte("ab|^~\\&\r\nXF.\x00\xff")
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 2000; i++ {
		b := make([]byte, r.Intn(20))
		for j := range b {
			b[j] = alphabet[r.Intn(len(alphabet))]
		}
		s := string(b)
		e := Escape(s)
		if strings.ContainsAny(e, "|^~&\r\n") {
			t.Fatalf("Escape(%q) = %q holds a delimiter", s, e)
		}
		if got := Unescape(e); got != s {
			t.Fatalf("Unescape(Escape(%q)) = %q", s, got)
		}
	}
}

// Value uses the delimiters the message declares, not the defaults.
func TestValue_OwnDelimiters(t *testing.T) {
	m, err := Parse([]byte("MSH#*@!%#A#B#C#D#20260101##ORU*R01#1#P#2.4\rOBX#1#TX#X##a!F!b!S!c!E!\r"))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Value(m.All("OBX")[0].Field(5)); got != "a#b*c!" {
		t.Errorf("Value = %q", got)
	}
	if got := m.Text(); got != "a#b*c!" {
		t.Errorf("Text = %q", got)
	}
}

func TestTS_UsesTheTimesOwnOffset(t *testing.T) {
	syd, err := time.LoadLocation("Australia/Sydney")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{time.Date(2026, 11, 24, 15, 30, 0, 0, syd), "20261124153000+1100"}, // daylight time
		{time.Date(2026, 6, 1, 9, 0, 0, 0, syd), "20260601090000+1000"},
		{time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC), "20260601090000+0000"},
		{time.Time{}, ""},
	} {
		if got := TS(tc.t); got != tc.want {
			t.Errorf("TS(%v) = %q, want %q", tc.t, got, tc.want)
		}
	}
}

var (
	gpApp  = HD{Namespace: "Best Practice"}
	gp     = HPIO("8003620000022222")
	specAp = HD{Namespace: "Genie"}
	spec   = HPIO("8003621566684455")
	pdf    = []byte("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\n%%EOF\n")
	png    = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
)

func clock(t *testing.T) time.Time {
	t.Helper()
	syd, err := time.LoadLocation("Australia/Sydney")
	if err != nil {
		t.Fatal(err)
	}
	return time.Date(2026, 11, 24, 15, 30, 0, 0, syd)
}

func referralInput(t *testing.T) ReferralInput {
	at := clock(t)
	return ReferralInput{
		Header: Header{SendingApplication: gpApp, SendingFacility: gp, ReceivingApplication: specAp,
			ReceivingFacility: spec, Time: at, ControlID: "REF-0001"},
		Status: "P", Priority: "R", Type: "Med", Reason: "Knee pain | swelling",
		ReferralID: "GP-REF-42", Effective: at, Expiry: at.AddDate(1, 0, 0),
		Referrer:   Provider{Family: "Button", Given: "Henry", Title: "Dr", ProviderNumber: "0302523B", HPII: "8003610000000001"},
		ReferredTo: Provider{Family: "Smith", Given: "Jane", Title: "Dr", ProviderNumber: "2426621B"},
		Patient: Patient{Family: "Atwood", Given: "Abbi", Title: "Mrs", DOB: time.Date(1977, 1, 1, 0, 0, 0, 0, time.UTC),
			Sex: "F", Medicare: "8921319895", IHI: "8003605679672853",
			Address: Address{"1 Australia Lane", "North Adelaide", "SA", "5006", "AUS"}},
		ClinicalText: "Dear Dr Smith,\nPlease see Abbi re: knee pain (R > L) & swelling.\nThanks ^_^",
		Attachments:  []Attachment{{"application/pdf", pdf}, {"image/png", png}},
	}
}

func mustParse(t *testing.T, b []byte) *Message {
	t.Helper()
	m, err := Parse(b)
	if err != nil {
		t.Fatalf("built message does not parse: %v\n%q", err, b)
	}
	return m
}

func TestGolden(t *testing.T) {
	at := clock(t)
	ref, err := Referral(referralInput(t))
	if err != nil {
		t.Fatal(err)
	}
	refMsg := mustParse(t, ref)
	hdr := func(id string) Header {
		return Header{SendingApplication: specAp, SendingFacility: spec, ReceivingApplication: gpApp,
			ReceivingFacility: gp, Time: at.Add(time.Hour), ControlID: id}
	}
	rep, err := Report(ReportInput{Header: hdr("ORU-0001"), Patient: referralInput(t).Patient,
		PlacerID: "GP-REF-42", FillerID: "RAD-77", Service: "MRI knee", Observed: at,
		Text: "No tear.", Attachments: []Attachment{{"application/pdf", pdf}}})
	if err != nil {
		t.Fatal(err)
	}
	mdm, err := CDAPackage(CDAInput{Header: hdr("MDM-0001"), Patient: referralInput(t).Patient,
		Author: referralInput(t).ReferredTo, DocumentID: "8a58f026-b51a-4946-be44-ac770407448f", Package: []byte("PK\x03\x04zip")})
	if err != nil {
		t.Fatal(err)
	}
	ackRef, err := Ack(refMsg, "AA", "", at.Add(time.Minute), "ACK-0001")
	if err != nil {
		t.Fatal(err)
	}
	ackMDM, err := Ack(mustParse(t, mdm), "AE", "Unknown patient | check IHI", at.Add(2*time.Hour), "ACK-0002")
	if err != nil {
		t.Fatal(err)
	}
	var rris [][]byte
	for i, st := range []string{StatusAccepted, StatusDeclined, StatusMoreInfo} {
		rri, err := ReferralResponse(ResponseInput{Header: hdr("RRI-000" + string(rune('1'+i))), Referral: refMsg,
			Status: st, Reason: map[string]string{StatusAccepted: "", StatusDeclined: "Not our specialty;\nsee ortho",
				StatusMoreInfo: "Please send the X-ray"}[st]})
		if err != nil {
			t.Fatal(err)
		}
		rris = append(rris, rri)
	}
	for _, tc := range []struct {
		name, typ string
		b         []byte
	}{
		{"referral.hl7", "REF^I12^REF_I12", ref},
		{"report.hl7", "ORU^R01^ORU_R01", rep},
		{"cda-package.hl7", "MDM^T02^MDM_T02", mdm},
		{"ack-referral.hl7", "ACK^I12^ACK", ackRef},
		{"ack-cda-package.hl7", "ACK^T02^ACK_T02", ackMDM},
		{"rri-accepted.hl7", "RRI^I12^RRI_I12", rris[0]},
		{"rri-declined.hl7", "RRI^I12^RRI_I12", rris[1]},
		{"rri-more-info.hl7", "RRI^I12^RRI_I12", rris[2]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if m := mustParse(t, tc.b); m.Type() != tc.typ {
				t.Errorf("type %q, want %q", m.Type(), tc.typ)
			}
			if bytes.Contains(tc.b, []byte("\n")) || !bytes.HasSuffix(tc.b, []byte("\r")) {
				t.Errorf("segments must end in CR only")
			}
			golden.Check(t, tc.name, tc.b)
		})
	}
}

// What Referral writes, the readers give back.
func TestReaders_RoundTrip(t *testing.T) {
	in := referralInput(t)
	b, err := Referral(in)
	if err != nil {
		t.Fatal(err)
	}
	m := mustParse(t, b)
	if got := m.Patient(); !reflect.DeepEqual(got, in.Patient) {
		t.Errorf("Patient = %+v\nwant %+v", got, in.Patient)
	}
	atts, err := m.Attachments()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(atts, in.Attachments) {
		t.Errorf("Attachments = %q", atts)
	}
	if got := m.Text(); got != in.ClinicalText {
		t.Errorf("Text = %q, want %q", got, in.ClinicalText)
	}
	// RF1-10 is a CE: the reason is its text component.
	if c := m.Components(m.All("RF1")[0].Field(10)); len(c) < 2 || m.Value(c[1]) != in.Reason {
		t.Errorf("RF1-10 = %q", m.All("RF1")[0].Field(10))
	}
}

// The ADHA sample ACK is what Ack makes of the ADHA MDM sample, apart from
// its time and control ID.
func TestAck_MatchesADHASample(t *testing.T) {
	orig := mustParse(t, fixture(t, "adha-mdm-dotnet-hl7Message.hl7"))
	want := mustParse(t, fixture(t, "adha-mdm-dotnet-hl7AckMessage.hl7"))
	b, err := Ack(orig, "AA", "", time.Date(2020, 3, 31, 15, 46, 19, 0, time.UTC), want.MSH().Field(10))
	if err != nil {
		t.Fatal(err)
	}
	got := mustParse(t, b)
	for n := 1; n <= 17; n++ {
		if n == 7 { // time: ours carries an offset
			continue
		}
		if g, w := got.MSH().Field(n), want.MSH().Field(n); g != w {
			t.Errorf("MSH-%d = %q, sample has %q", n, g, w)
		}
	}
	if g, w := got.All("MSA")[0].Fields, want.All("MSA")[0].Fields; !reflect.DeepEqual(g, w) {
		t.Errorf("MSA = %q, sample has %q", g, w)
	}
	if len(got.Segments) != len(want.Segments) {
		t.Errorf("%d segments, sample has %d", len(got.Segments), len(want.Segments))
	}
}

func TestAck_Rejects(t *testing.T) {
	m := mustParse(t, fixture(t, "adha-mdm-dotnet-hl7Message.hl7"))
	if _, err := Ack(m, "CA", "", time.Now(), "1"); err == nil {
		t.Error("code CA accepted")
	}
	if _, err := Ack(nil, "AA", "", time.Now(), "1"); err == nil {
		t.Error("nil message accepted")
	}
	if _, err := ReferralResponse(ResponseInput{Referral: m, Status: "X"}); err == nil {
		t.Error("status X accepted")
	}
}

// The readers on the published samples (java one writes "base64" in lower case).
func TestReaders_ADHASamples(t *testing.T) {
	for _, name := range []string{"adha-mdm-dotnet-hl7Message.hl7", "adha-mdm-java-Example-HL7-MDM-20111117.txt"} {
		m := mustParse(t, fixture(t, name))
		atts, err := m.Attachments()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(atts) != 1 || atts[0].MediaType != "application/zip" || !bytes.HasPrefix(atts[0].Data, []byte("PK\x03\x04")) {
			t.Errorf("%s: attachments %d", name, len(atts))
		}
		if p := m.Patient(); p.Medicare != "8921319895" || p.Sex != "F" || p.IHI == "" {
			t.Errorf("%s: patient %+v", name, p)
		}
	}
	p := mustParse(t, fixture(t, "adha-mdm-dotnet-hl7Message.hl7")).Patient()
	want := Patient{Family: "Atwood", Given: "Abbi", Title: "Mrs", DOB: time.Date(1977, 1, 1, 0, 0, 0, 0, time.UTC),
		Sex: "F", Medicare: "8921319895", IHI: "8003605679672853",
		Address: Address{"1 Australia Lane", "North Adelaide", "SA", "5006", "AUS"}}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("Patient = %+v", p)
	}
}

func TestAttachments_Errors(t *testing.T) {
	const msh = "MSH|^~\\&|A|B|C|D|20260101||ORU^R01|1|P|2.4\r"
	for name, obx := range map[string]string{
		"bad base64":       "OBX|1|ED|PDF||^application^pdf^Base64^%%%not base64",
		"unknown encoding": "OBX|1|ED|PDF||^application^pdf^Hex^414243",
		"too few parts":    "OBX|1|ED|PDF||^application^pdf",
	} {
		m := mustParse(t, []byte(msh+obx+"\r"))
		if _, err := m.Attachments(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("MSH|^~\\&|A|B|C|D|20260101||ORU^R01|1|P|2.4\rPID|1||1^^^AUSHIC^MC||A^B||19770101|F\rOBX|1|ED|X||^application^pdf^Base64^JVBER\\X0A\\i0=\r"))
	f.Add([]byte("MSH|^~\\&|A|B|C|D|20260101||ORU^R01|1|P|2.4\rOBX|1|FT|X||a\\.br\\b\\F\\\\XZ\\\\\r"))
	f.Add([]byte("MSH#*@!%#A#B#C#D#2026##ORU*R01#1#P#2.4\rOBX#1#ED#X##*a*b*A*c!F!\r"))
	for _, name := range []string{"referral.hl7", "rri-declined.hl7", "ack-referral.hl7"} {
		if b, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			return
		}
		m.Patient()
		m.Text()
		m.Acknowledged()
		m.ReferralStatus()
		m.Attachments()
		m.Value(m.MSH().Field(10))
		Ack(m, "AA", "x", time.Time{}, "1")
		ReferralResponse(ResponseInput{Referral: m, Status: StatusAccepted})
	})
}

func TestAcknowledged_ReferralStatus(t *testing.T) {
	read := func(name string) *Message {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return mustParse(t, b)
	}
	for _, tc := range []struct {
		name, code, id, text, status, reason string
	}{
		{"ack-cda-package.hl7", "AE", "MDM-0001", "Unknown patient | check IHI", "", ""},
		{"ack-referral.hl7", "AA", "REF-0001", "", "", ""},
		{"rri-accepted.hl7", "AA", "REF-0001", "", StatusAccepted, ""},
		{"rri-declined.hl7", "AA", "REF-0001", "", StatusDeclined, "Not our specialty;\nsee ortho"},
		{"rri-more-info.hl7", "AA", "REF-0001", "", StatusMoreInfo, "Please send the X-ray"},
		{"referral.hl7", "", "", "", "P", "Knee pain | swelling"},
	} {
		m := read(tc.name)
		code, id, text, ok := m.Acknowledged()
		if code != tc.code || id != tc.id || text != tc.text || ok != (tc.code != "") {
			t.Errorf("%s: Acknowledged = %q %q %q %v", tc.name, code, id, text, ok)
		}
		if st, reason := m.ReferralStatus(); st != tc.status || reason != tc.reason {
			t.Errorf("%s: ReferralStatus = %q %q", tc.name, st, reason)
		}
	}
}

// The read acknowledgement carries the read profile in MSH-12, answers the
// original's MSH-10 and swaps the addresses; the readers see it as one.
func TestReadAck_Golden(t *testing.T) {
	at := clock(t)
	ref := mustParse(t, must(Referral(referralInput(t))))
	b, err := ReadAck(ref, "Read by Dr Smith", at.Add(3*time.Hour), "READ-0001")
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "read-ack-referral.hl7", b)
	m := mustParse(t, b)
	if !m.IsReadAck() || m.Profile() != ProfileReadAck || m.Type() != "ACK^I12^ACK" {
		t.Errorf("type %q profile %q IsReadAck %v", m.Type(), m.Profile(), m.IsReadAck())
	}
	if code, id, text, ok := m.Acknowledged(); !ok || code != "AA" || id != "REF-0001" || text != "Read by Dr Smith" {
		t.Errorf("MSA = %q %q %q %v", code, id, text, ok)
	}
	if got, want := m.MSH().Field(3), ref.MSH().Field(5); got != want {
		t.Errorf("MSH-3 %q, want the referral's MSH-5 %q", got, want)
	}
	if got, want := m.MSH().Field(6), ref.MSH().Field(4); got != want {
		t.Errorf("MSH-6 %q, want the referral's MSH-4 %q", got, want)
	}
	if ack := mustParse(t, must(Ack(ref, "AA", "", at, "A1"))); ack.IsReadAck() {
		t.Error("an application ACK reads as a read acknowledgement")
	}
	if _, err := ReadAck(nil, "", at, "X"); err == nil {
		t.Error("ReadAck(nil) succeeded")
	}
}

func TestReferralReaders(t *testing.T) {
	in := referralInput(t)
	m := mustParse(t, must(Referral(in)))
	r, ok := m.Referral()
	if !ok || r.Status != "P" || r.Priority != "R" || r.ReferralID != "GP-REF-42" || r.Reason != in.Reason ||
		!r.Effective.Equal(in.Effective) || !r.Expiry.Equal(in.Expiry) {
		t.Errorf("Referral() = %+v, %v", r, ok)
	}
	p := m.Providers()
	if p["RP"].Name() != "Dr Henry Button" || p["RP"].HPII != "8003610000000001" || p["RP"].ProviderNumber != "0302523B" {
		t.Errorf("RP = %+v", p["RP"])
	}
	if p["RT"].Name() != "Dr Jane Smith" {
		t.Errorf("RT = %+v", p["RT"])
	}
	if m.WantsNoAck() {
		t.Error("MSH-16 AL read as NE")
	}
	if m.ControlID() != "REF-0001" {
		t.Errorf("ControlID %q", m.ControlID())
	}
	noAck := mustParse(t, bytes.Replace(must(Referral(in)), []byte("|NE|AL|AUS"), []byte("|NE|NE|AUS"), 1))
	if !noAck.WantsNoAck() {
		t.Error("MSH-16 NE not seen")
	}
	rep := mustParse(t, must(Report(ReportInput{Header: in.Header, Patient: in.Patient, Service: "MRI knee", Observed: in.Effective})))
	if svc, at := rep.Observation(); svc != "MRI knee" || !at.Equal(in.Effective) {
		t.Errorf("Observation() = %q %v", svc, at)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
