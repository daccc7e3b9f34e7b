package wire

import (
	"regexp"
	"time"

	"github.com/opensmd/portal/internal/smd/fault"
)

// TimeLayout is the xsd:dateTime form this package emits: UTC, millisecond
// precision, "Z" suffix. AS 5552-2013 has sections on time zones and on
// comparing date and time values; always emitting an explicit UTC offset
// (as the ADHA clients do with ToUniversalTime) keeps every peer comparing
// instants (SMD.md §1.11).
const TimeLayout = "2006-01-02T15:04:05.000Z"

// FormatTime formats t as an xsd:dateTime in UTC (TimeLayout). Precision
// below a millisecond is truncated.
func FormatTime(t time.Time) string {
	return t.UTC().Format(TimeLayout)
}

// noZone matches an xsd:dateTime that lacks a zone offset.
var noZone = regexp.MustCompile(`^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?$`)

// ParseTime parses an xsd:dateTime with any zone offset and returns it in
// UTC. A value without a zone offset is rejected with fault.BadTimestamp,
// because it names no instant; any other invalid value with
// fault.BadlyFormedMsg. name identifies the element in the error message.
func ParseTime(v, name string) (time.Time, error) {
	return parseDateTime(collapse(v), name)
}

func parseDateTime(v, name string) (time.Time, error) {
	if noZone.MatchString(v) {
		return time.Time{}, fault.New(fault.BadTimestamp, name+": dateTime has no time zone offset")
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fault.Wrap(fault.BadlyFormedMsg, name+": invalid xsd:dateTime", err)
	}
	return t.UTC(), nil
}
