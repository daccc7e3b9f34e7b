// Package auditexport writes audit events as CSV or JSON, for `portal
// audit export` and the audit viewer's download. CSV cells are defused so
// a spreadsheet never runs a formula from an audit detail.
package auditexport

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/opensmd/portal/internal/store"
)

// Header is the CSV header row.
var Header = []string{"id", "at", "organisation_id", "user_id", "user_name", "action", "ip", "detail"}

// CSVSafe defuses spreadsheet formulas: a cell starting with = + - @ (or a
// tab or carriage return) is prefixed with an apostrophe.
func CSVSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// WriteCSV writes events as CSV with a header row, every free-text cell
// defused with CSVSafe.
func WriteCSV(w io.Writer, events []store.AuditEvent) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(Header)
	for _, e := range events {
		detail, err := json.Marshal(e.Detail)
		if err != nil {
			return err
		}
		_ = cw.Write([]string{strconv.FormatInt(e.ID, 10), e.At.UTC().Format(time.RFC3339Nano), e.OrganisationID,
			e.UserID, CSVSafe(e.UserName), CSVSafe(e.Action), CSVSafe(e.IP), CSVSafe(string(detail))})
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSON writes events as an indented JSON array ([] when empty).
func WriteJSON(w io.Writer, events []store.AuditEvent) error {
	if events == nil {
		events = []store.AuditEvent{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(events)
}
