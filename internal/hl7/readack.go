package hl7

import (
	"errors"
	"strings"
	"time"
)

// ProfileReadAck is MSH-12.3 of a read acknowledgement: the receiver's
// user has opened the message (HL7 AU, 2020).
const ProfileReadAck = "HL7AU-OO-ACK-READ-202001"

// ReadAck builds the read acknowledgement of original: an ACK v2.4 with
// profile HL7AU-OO-ACK-READ-202001, MSH-3..6 swapped and MSA|AA|<original
// MSH-10>|text. UNCONFIRMED: the 2020 profile text was not available; this
// follows the application ACK with the read profile in MSH-12, whatever
// the original's version.
func ReadAck(original *Message, text string, at time.Time, controlID string) ([]byte, error) {
	if original == nil || len(original.Segments) == 0 {
		return nil, errors.New("hl7: no message to acknowledge")
	}
	h := original.ReplyHeader(at, controlID)
	trigger := Escape(original.Value(component(original, original.MSH().Field(9), 1)))
	h.Type, h.Version, h.Profile = "ACK^"+trigger+"^ACK", "2.4", ProfileReadAck
	b := NewMessage(h)
	b.Add("MSA", "AA", Escape(original.Value(original.MSH().Field(10))), Escape(text))
	return b.Bytes(), nil
}

// ReplyHeader is the header of an answer to m (ACK, RRI, a report in
// reply): m's receiving application and facility become the sender, its
// sending ones the receiver, and the processing ID is kept. Type and
// Version are left to the builder.
func (m *Message) ReplyHeader(at time.Time, controlID string) Header {
	msh := m.MSH()
	return Header{
		SendingApplication: m.parseHD(msh.Field(5)), SendingFacility: m.parseHD(msh.Field(6)),
		ReceivingApplication: m.parseHD(msh.Field(3)), ReceivingFacility: m.parseHD(msh.Field(4)),
		Time: at, ControlID: controlID, ProcessingID: m.Value(component(m, msh.Field(11), 0)),
	}
}

// Profile is MSH-12.3.1, the message profile ("" when none).
func (m *Message) Profile() string {
	c := m.Components(m.MSH().Field(12))
	if len(c) < 3 {
		return ""
	}
	return m.Value(strings.SplitN(c[2], "&", 2)[0])
}

// IsReadAck reports whether m is a read acknowledgement.
func (m *Message) IsReadAck() bool {
	return strings.HasPrefix(m.Type(), "ACK") && strings.Contains(strings.ToUpper(m.Profile()), "ACK-READ")
}

// WantsNoAck reports whether MSH-16 (application acknowledgement type) is
// NE: the sender asks for no application acknowledgement.
func (m *Message) WantsNoAck() bool {
	return strings.EqualFold(m.Value(m.MSH().Field(16)), "NE")
}

// ControlID is MSH-10, unescaped.
func (m *Message) ControlID() string { return m.Value(m.MSH().Field(10)) }

// Providers reads the PRD segments by role (PRD-1: RP referring, RT
// referred to); the first of each role wins.
func (m *Message) Providers() map[string]Provider {
	out := map[string]Provider{}
	for _, s := range m.All("PRD") {
		role := strings.ToUpper(m.Value(component(m, s.Field(1), 0)))
		if _, seen := out[role]; seen || role == "" {
			continue
		}
		name := first(m.reps(s.Field(2)))
		p := Provider{Family: m.Value(component(m, name, 0)), Given: m.Value(component(m, name, 1)),
			Title: m.Value(component(m, name, 4))}
		for _, id := range m.reps(s.Field(7)) {
			switch strings.ToUpper(m.Value(component(m, id, 1))) {
			case "AUSHICPR":
				p.ProviderNumber = m.Value(component(m, id, 0))
			case "NPII":
				p.HPII = m.Value(component(m, id, 0))
			}
		}
		out[role] = p
	}
	return out
}

// Name is the provider as shown: "Dr Jane Smith".
func (p Provider) Name() string {
	return strings.Join(strings.Fields(p.Title+" "+p.Given+" "+p.Family), " ")
}

// ReferralInfo is what the RF1 of a referral says.
type ReferralInfo struct {
	Status, Priority, Type string // RF1-1.1, RF1-2.1, RF1-3.1
	ReferralID             string // RF1-6.1
	Effective, Expiry      time.Time
	Reason                 string // RF1-10.2 (else .1)
}

// Referral reads the first RF1; ok is false without one.
func (m *Message) Referral() (r ReferralInfo, ok bool) {
	rf1 := m.All("RF1")
	if len(rf1) == 0 {
		return r, false
	}
	s := rf1[0]
	get := func(n, i int) string { return m.Value(component(m, s.Field(n), i)) }
	r = ReferralInfo{Status: get(1, 0), Priority: get(2, 0), Type: get(3, 0), ReferralID: get(6, 0),
		Effective: parseTS(get(7, 0)), Expiry: parseTS(get(8, 0)), Reason: get(10, 1)}
	if r.Reason == "" {
		r.Reason = get(10, 0)
	}
	return r, true
}

// Observation reads OBR-4 text (the service) and OBR-7 (observed) of the
// first OBR.
func (m *Message) Observation() (service string, observed time.Time) {
	obr := m.All("OBR")
	if len(obr) == 0 {
		return "", time.Time{}
	}
	s := obr[0]
	service = m.Value(component(m, s.Field(4), 1))
	if service == "" {
		service = m.Value(component(m, s.Field(4), 0))
	}
	return service, parseTS(m.Value(component(m, s.Field(7), 0)))
}

// parseTS reads an HL7 timestamp (date, to the minute or second, with or
// without an offset); zero when unreadable.
func parseTS(s string) time.Time {
	for _, layout := range []string{"20060102150405-0700", "200601021504-0700", "20060102150405", "200601021504", "20060102"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	if len(s) > 8 {
		if t, err := time.Parse("20060102", s[:8]); err == nil {
			return t
		}
	}
	return time.Time{}
}
