package hl7

import (
	"strconv"
	"strings"
)

// Escape encodes s for use as one component (or subcomponent) of an HL7 v2
// field with the standard delimiters |^~\&: \F\ \S\ \R\ \T\ \E\ for the
// delimiters, and \X0D\ / \X0A\ for CR and LF so that a value can never end
// a segment. CR and LF use the hex escape rather than \.br\ because it
// round-trips exactly (\.br\ cannot tell "\n" from "\r\n"); Unescape
// accepts both.
func Escape(s string) string { return defaultDelims.escape(s) }

// Unescape decodes the escapes Escape writes, with the standard delimiters.
// See (*Message).Value for a message's own delimiters.
func Unescape(s string) string { return defaultDelims.unescape(s) }

// delims are the separators a message declares in MSH-1 and MSH-2.
type delims struct{ field, comp, rep, esc, sub byte }

var defaultDelims = delims{'|', '^', '~', '\\', '&'}

func (d delims) escape(s string) string {
	if !strings.ContainsAny(s, string([]byte{d.field, d.comp, d.rep, d.esc, d.sub, '\r', '\n'})) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		var code string
		switch c {
		case d.field:
			code = "F"
		case d.comp:
			code = "S"
		case d.rep:
			code = "R"
		case d.esc:
			code = "E"
		case d.sub:
			code = "T"
		case '\r':
			code = "X0D"
		case '\n':
			code = "X0A"
		default:
			b.WriteByte(c)
			continue
		}
		b.WriteByte(d.esc)
		b.WriteString(code)
		b.WriteByte(d.esc)
	}
	return b.String()
}

// unescape decodes \F\ \S\ \R\ \T\ \E\, \Xhh..\ and \.br\ (a line break,
// "\n"). Highlighting (\H\, \N\) is dropped; any other or unterminated
// escape is kept as written, since guessing would lose text.
func (d delims) unescape(s string) string {
	if strings.IndexByte(s, d.esc) < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != d.esc {
			b.WriteByte(c)
			continue
		}
		end := strings.IndexByte(s[i+1:], d.esc)
		if end < 0 {
			b.WriteString(s[i:])
			break
		}
		code := s[i+1 : i+1+end]
		switch {
		case code == "F":
			b.WriteByte(d.field)
		case code == "S":
			b.WriteByte(d.comp)
		case code == "R":
			b.WriteByte(d.rep)
		case code == "E":
			b.WriteByte(d.esc)
		case code == "T":
			b.WriteByte(d.sub)
		case code == ".br":
			b.WriteByte('\n')
		case code == "H" || code == "N":
		case len(code) > 1 && code[0] == 'X' && len(code)%2 == 1 && hexBytes(&b, code[1:]):
		default:
			b.WriteString(s[i : i+end+2])
		}
		i += end + 1
	}
	return b.String()
}

// hexBytes writes the bytes of an even-length hex string, reporting false
// (and writing nothing) when it is not hex.
func hexBytes(b *strings.Builder, h string) bool {
	out := make([]byte, 0, len(h)/2)
	for j := 0; j < len(h); j += 2 {
		v, err := strconv.ParseUint(h[j:j+2], 16, 8)
		if err != nil {
			return false
		}
		out = append(out, byte(v))
	}
	b.Write(out)
	return true
}
