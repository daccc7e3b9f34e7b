package auditexport_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"testing"
	"time"

	"github.com/opensmd/portal/internal/auditexport"
	"github.com/opensmd/portal/internal/store"
)

func TestCSVSafe(t *testing.T) {
	for in, want := range map[string]string{"=SUM(A1)": "'=SUM(A1)", "+1": "'+1", "-x": "'-x", "@cmd": "'@cmd",
		"\tx": "'\tx", "\rx": "'\rx", "Pat": "Pat", "": "", `{"a":"b"}`: `{"a":"b"}`} {
		if got := auditexport.CSVSafe(in); got != want {
			t.Errorf("CSVSafe(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWrite(t *testing.T) {
	events := []store.AuditEvent{{ID: 7, At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), UserName: "=HYPERLINK(\"x\")",
		Action: "certificate.imported", IP: "192.0.2.1", Detail: map[string]string{"subject": "CN=x"}}}
	var buf bytes.Buffer
	if err := auditexport.WriteCSV(&buf, events); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("csv: %v %v", rows, err)
	}
	if rows[1][4] != `'=HYPERLINK("x")` || rows[1][1] != "2026-01-02T03:04:05Z" || rows[1][7] != `{"subject":"CN=x"}` {
		t.Fatalf("row: %q", rows[1])
	}
	buf.Reset()
	if err := auditexport.WriteJSON(&buf, nil); err != nil || bytes.TrimSpace(buf.Bytes())[0] != '[' {
		t.Fatalf("empty json: %q %v", buf.String(), err)
	}
	buf.Reset()
	var back []store.AuditEvent
	if err := auditexport.WriteJSON(&buf, events); err != nil || json.Unmarshal(buf.Bytes(), &back) != nil || back[0].UserName != events[0].UserName {
		t.Fatalf("json: %q %v", buf.String(), err)
	}
}
