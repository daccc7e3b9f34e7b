package hl7

import (
	"encoding/base64"
	"fmt"
	"strings"
	"time"
)

// Patient reads the first PID: name, date of birth, sex, Medicare number
// (PID-3 with AUSHIC^MC), IHI (AUSHIC^NI) and the first address.
func (m *Message) Patient() Patient {
	pids := m.All("PID")
	if len(pids) == 0 {
		return Patient{}
	}
	pid := pids[0]
	get := func(field string, i int) string { return m.Value(component(m, field, i)) }
	var p Patient
	for _, id := range m.reps(pid.Field(3)) {
		if !strings.EqualFold(get(id, 3), "AUSHIC") {
			continue
		}
		switch strings.ToUpper(get(id, 4)) {
		case "MC":
			p.Medicare = get(id, 0)
		case "NI":
			p.IHI = get(id, 0)
		}
	}
	name := first(m.reps(pid.Field(5)))
	p.Family, p.Given, p.Title = get(name, 0), get(name, 1), get(name, 4)
	if dob := get(pid.Field(7), 0); len(dob) >= 8 {
		p.DOB, _ = time.Parse("20060102", dob[:8]) // zero when unreadable
	}
	p.Sex = m.Value(pid.Field(8))
	a := first(m.reps(pid.Field(11)))
	p.Address = Address{get(a, 0), get(a, 2), get(a, 3), get(a, 4), get(a, 5)}
	return p
}

// Attachments decodes every OBX of type ED. An encoding other than Base64
// (or A, ASCII text), bad base64 or a malformed ED is an error.
func (m *Message) Attachments() ([]Attachment, error) {
	var out []Attachment
	for _, s := range m.All("OBX") {
		if s.Field(2) != "ED" {
			continue
		}
		c := m.Components(s.Field(5))
		if len(c) < 5 {
			return nil, fmt.Errorf("hl7: OBX-%s ED has %d components, want 5", truncate(s.Field(1), 8), len(c))
		}
		typ, sub, enc := m.Value(c[1]), m.Value(c[2]), m.Value(c[3])
		var data []byte
		switch strings.ToLower(enc) {
		case "base64":
			// Senders wrap long base64 in escaped line breaks; drop them.
			raw := strings.Map(func(r rune) rune {
				if r == '\r' || r == '\n' || r == ' ' {
					return -1
				}
				return r
			}, m.Value(strings.Join(c[4:], string(m.Component))))
			var err error
			if data, err = base64.StdEncoding.DecodeString(raw); err != nil {
				return nil, fmt.Errorf("hl7: OBX-%s ED base64: %w", truncate(s.Field(1), 8), err)
			}
		case "a":
			data = []byte(m.Value(strings.Join(c[4:], string(m.Component))))
		default:
			return nil, fmt.Errorf("hl7: OBX-%s ED encoding %q is not supported", truncate(s.Field(1), 8), truncate(enc, 16))
		}
		out = append(out, Attachment{MediaType: strings.ToLower(typ + "/" + sub), Data: data})
	}
	return out, nil
}

// Text is the text of every TX, FT and ST OBX, unescaped; repetitions and
// segments are separated by "\n".
func (m *Message) Text() string {
	var lines []string
	for _, s := range m.All("OBX") {
		switch s.Field(2) {
		case "TX", "FT", "ST":
			for _, r := range m.reps(s.Field(5)) {
				lines = append(lines, m.Value(r))
			}
		}
	}
	return strings.Join(lines, "\n")
}

func (m *Message) reps(field string) []string {
	rep := m.d.rep
	if rep == 0 {
		rep = '~'
	}
	return strings.Split(field, string(rep))
}

func first(s []string) string { return s[0] }

// Acknowledged reads the first MSA (of an ACK or RRI): the code (AA, AE,
// AR, ...), the acknowledged MSH-10 and the text, unescaped; ok is false
// when there is no MSA.
func (m *Message) Acknowledged() (code, controlID, text string, ok bool) {
	msa := m.All("MSA")
	if len(msa) == 0 {
		return "", "", "", false
	}
	s := msa[0]
	return m.Value(s.Field(1)), m.Value(s.Field(2)), m.Value(s.Field(3)), true
}

// ReferralStatus is RF1-1.1 of an RRI (StatusAccepted, StatusDeclined,
// StatusMoreInfo) and its reason: NTE-3 lines, as ReferralResponse writes
// it (UNCONFIRMED placement), else RF1-10 text.
func (m *Message) ReferralStatus() (status, reason string) {
	rf1 := m.All("RF1")
	if len(rf1) == 0 {
		return "", ""
	}
	status = m.Value(component(m, rf1[0].Field(1), 0))
	var lines []string
	for _, n := range m.All("NTE") {
		lines = append(lines, m.Value(n.Field(3)))
	}
	if len(lines) == 0 {
		return status, m.Value(component(m, rf1[0].Field(10), 1))
	}
	return status, strings.Join(lines, "\n")
}
