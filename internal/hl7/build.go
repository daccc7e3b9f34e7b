package hl7

import (
	"strings"
	"time"
)

// HD is an HL7 hierarchic designator (MSH-3 to MSH-6): Namespace^UniversalID^UniversalIDType.
type HD struct{ Namespace, UniversalID, UniversalIDType string }

// HPIO is the HD form Australian secure messaging uses for an organisation
// identified by its HPI-O: <HPI-O>^1.2.36.1.2001.1003.0.<HPI-O>^ISO.
func HPIO(hpio string) HD {
	return HD{Namespace: hpio, UniversalID: "1.2.36.1.2001.1003.0." + hpio, UniversalIDType: "ISO"}
}

// String is the HD as a field value, components escaped.
func (h HD) String() string { return Comp(h.Namespace, h.UniversalID, h.UniversalIDType) }

// parseHD reads an HD field of m.
func (m *Message) parseHD(field string) HD {
	c := m.Components(field)
	get := func(i int) string {
		if i < len(c) {
			return m.Value(c[i])
		}
		return ""
	}
	return HD{get(0), get(1), get(2)}
}

// Header is what a builder writes into MSH.
type Header struct {
	SendingApplication, SendingFacility     HD // MSH-3, MSH-4: where replies come back
	ReceivingApplication, ReceivingFacility HD // MSH-5, MSH-6
	Time                                    time.Time
	// Type is MSH-9 as written, e.g. "REF^I12^REF_I12".
	Type      string
	ControlID string // MSH-10
	// ProcessingID is MSH-11; "" means "P" (production).
	ProcessingID string
	// Version is MSH-12.1, e.g. "2.4". With a Profile, MSH-12 is written
	// Version^AUS&Australia&ISO3166_1^Profile&&L, the form seen for the
	// HL7 AU simplified referral (UNCONFIRMED against ADRM App. 8 for the
	// other profiles).
	Version, Profile string
}

// Builder assembles a message segment by segment.
type Builder struct {
	segs []string
}

// NewMessage starts a message with the MSH segment for h. MSH-15/16/17
// are NE|AL|AUS as in the ADHA MDM sample.
func NewMessage(h Header) *Builder {
	pid := h.ProcessingID
	if pid == "" {
		pid = "P"
	}
	ver := Escape(h.Version)
	if h.Profile != "" {
		ver += "^" + Sub("AUS", "Australia", "ISO3166_1") + "^" + Sub(h.Profile, "", "L")
	}
	b := &Builder{}
	b.segs = append(b.segs, "MSH|^~\\&|"+strings.Join([]string{
		h.SendingApplication.String(), h.SendingFacility.String(),
		h.ReceivingApplication.String(), h.ReceivingFacility.String(),
		TS(h.Time), "", h.Type, Escape(h.ControlID), pid, ver, "", "", "NE", "AL", "AUS",
	}, "|"))
	return b
}

// Add appends a segment. Fields are written as given: build them with
// Escape, Comp, Sub and Rep.
func (b *Builder) Add(id string, fields ...string) *Builder {
	for len(fields) > 0 && fields[len(fields)-1] == "" {
		fields = fields[:len(fields)-1]
	}
	b.segs = append(b.segs, id+"|"+strings.Join(fields, "|"))
	if len(fields) == 0 {
		b.segs[len(b.segs)-1] = id
	}
	return b
}

// Bytes is the message, each segment ending in CR.
func (b *Builder) Bytes() []byte {
	return []byte(strings.Join(b.segs, "\r") + "\r")
}

// Comp escapes each value and joins them as components, dropping trailing
// empty ones.
func Comp(vals ...string) string { return join("^", vals) }

// Sub escapes each value and joins them as subcomponents.
func Sub(vals ...string) string { return join("&", vals) }

// Rep joins already-built values as repetitions, skipping empty ones.
func Rep(vals ...string) string {
	var out []string
	for _, v := range vals {
		if v != "" {
			out = append(out, v)
		}
	}
	return strings.Join(out, "~")
}

func join(sep string, vals []string) string {
	for len(vals) > 0 && vals[len(vals)-1] == "" {
		vals = vals[:len(vals)-1]
	}
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = Escape(v)
	}
	return strings.Join(out, sep)
}

// TS is an HL7 timestamp to the second with the UTC offset of t's own
// location, e.g. 20261124153000+1100; "" for the zero time.
func TS(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format("20060102150405-0700")
}

// DT is an HL7 date, "" for the zero time.
func DT(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format("20060102")
}

// ParseHD reads an HD kept as text, "Namespace^UniversalID^Type", as
// organisation settings and directory listings hold it (they refuse
// HL7's other delimiters, so there is nothing to unescape).
func ParseHD(s string) HD {
	var h HD
	parts := strings.SplitN(s, "^", 3)
	for i, dst := range []*string{&h.Namespace, &h.UniversalID, &h.UniversalIDType} {
		if i < len(parts) {
			*dst = parts[i]
		}
	}
	return h
}
