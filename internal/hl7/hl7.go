// Package hl7 reads HL7 v2 messages as Australian secure messaging carries
// them (HL7 AU referral, report and acknowledgement profiles): segments,
// fields and components, with the delimiters the MSH segment declares.
package hl7

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// Message is a parsed HL7 v2 message.
type Message struct {
	Segments []Segment
	// Component is the component separator (MSH-2, usually '^').
	Component byte
	// d holds all the delimiters MSH-1 and MSH-2 declare, for Value.
	d delims
}

// Value unescapes a field, component or subcomponent taken from m (fields
// are kept raw by Parse), with the delimiters m declares.
func (m *Message) Value(s string) string {
	if m.d.esc == 0 {
		return Unescape(s)
	}
	return m.d.unescape(s)
}

// Segment is one segment: Fields[0] is the segment ID. For MSH, Fields[1]
// is MSH-1 (the field separator), so Field(n) is MSH-n for every segment.
type Segment struct {
	Fields []string
}

// ID is the segment's three-character ID.
func (s Segment) ID() string { return s.Fields[0] }

// Field returns field n (1-based), or "" when absent.
func (s Segment) Field(n int) string {
	if n < 1 || n >= len(s.Fields) {
		return ""
	}
	return s.Fields[n]
}

// Looks reports whether b starts like an HL7 v2 message.
func Looks(b []byte) bool { return bytes.HasPrefix(b, []byte("MSH")) && len(b) > 8 }

// Parse parses an HL7 v2 message. Segments end with CR (LF and CRLF are
// accepted). It checks that the message starts with MSH declaring its
// delimiters, that MSH-9 (message type), MSH-10 (control ID) and MSH-12
// (version) are present and that every segment ID is three upper-case
// letters or digits.
func Parse(b []byte) (*Message, error) {
	if !Looks(b) {
		return nil, errors.New("hl7: message does not start with an MSH segment")
	}
	fs := b[3]
	enc := b[4:]
	if i := bytes.IndexByte(enc, fs); i < 4 {
		return nil, errors.New("hl7: MSH-2 must declare the component, repetition, escape and subcomponent separators")
	}
	m := &Message{Component: enc[0], d: delims{fs, enc[0], enc[1], enc[2], enc[3]}}
	text := strings.ReplaceAll(strings.ReplaceAll(string(b), "\r\n", "\r"), "\n", "\r")
	for i, line := range strings.Split(text, "\r") {
		if line == "" {
			continue
		}
		fields := strings.Split(line, string(fs))
		id := fields[0]
		if !validID(id) {
			return nil, fmt.Errorf("hl7: segment %d has an invalid ID %q", i+1, truncate(id, 8))
		}
		if id == "MSH" {
			// MSH-1 is the separator itself, not a field between separators.
			fields = append([]string{"MSH", string(fs)}, fields[1:]...)
		}
		m.Segments = append(m.Segments, Segment{Fields: fields})
	}
	msh := m.Segments[0]
	for _, n := range []int{9, 10, 12} {
		if msh.Field(n) == "" {
			return nil, fmt.Errorf("hl7: MSH-%d is required", n)
		}
	}
	return m, nil
}

func validID(id string) bool {
	if len(id) != 3 {
		return false
	}
	for _, c := range []byte(id) {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// MSH returns the message header.
func (m *Message) MSH() Segment { return m.Segments[0] }

// Type is MSH-9 as written, e.g. "REF^I12^REF_I12".
func (m *Message) Type() string { return m.MSH().Field(9) }

// All returns the segments with id, in order.
func (m *Message) All(id string) []Segment {
	var out []Segment
	for _, s := range m.Segments {
		if s.ID() == id {
			out = append(out, s)
		}
	}
	return out
}

// Components splits a field into its components.
func (m *Message) Components(field string) []string {
	return strings.Split(field, string(m.Component))
}
