package hl7

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "fixtures", "hl7v2", name))
	if err != nil {
		t.Skipf("fixture not available: %v", err)
	}
	return b
}

// The published ADHA MDM^T02 and ACK samples parse, with MSH-n numbering.
func TestParse_ADHASamples(t *testing.T) {
	for name, want := range map[string]string{
		"adha-mdm-dotnet-hl7Message.hl7":             "MDM^T02^MDM_T02",
		"adha-mdm-dotnet-hl7AckMessage.hl7":          "ACK^T02^ACK_T02",
		"adha-mdm-java-Example-HL7-MDM-20111117.txt": "MDM^T02^MDM_T02",
	} {
		m, err := Parse(fixture(t, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if m.Type() != want || m.MSH().Field(1) != "|" || m.MSH().Field(2) != `^~\&` {
			t.Errorf("%s: type %q MSH-1 %q MSH-2 %q", name, m.Type(), m.MSH().Field(1), m.MSH().Field(2))
		}
		if len(m.All("OBX")) == 0 && !strings.HasPrefix(want, "ACK") {
			t.Errorf("%s: no OBX segments", name)
		}
	}
	m, _ := Parse(fixture(t, "adha-mdm-dotnet-hl7Message.hl7"))
	if got := m.Components(m.MSH().Field(6))[0]; got != "800362000022222" {
		t.Errorf("MSH-6.1 = %q", got)
	}
}

func TestParse_Rejects(t *testing.T) {
	for name, in := range map[string]string{
		"not HL7":           "%PDF-1.7",
		"no delimiters":     "MSH|",
		"missing MSH-9":     "MSH|^~\\&|A|B|C|D|20260101||",
		"missing MSH-12":    "MSH|^~\\&|A|B|C|D|20260101||ORU^R01|1|P",
		"bad segment ID":    "MSH|^~\\&|A|B|C|D|20260101||ORU^R01|1|P|2.4\rpid|1",
		"binary in segment": "MSH|^~\\&|A|B|C|D|20260101||ORU^R01|1|P|2.4\r\x00\x01\x02",
	} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}
