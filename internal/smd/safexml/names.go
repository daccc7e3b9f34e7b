package safexml

import (
	"strings"
	"unicode/utf8"
)

// name reads an XML Name (XML 1.0 fifth edition §2.3).
func (p *parser) name() (string, error) {
	start := p.pos
	first := true
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		if c < utf8.RuneSelf {
			if !asciiNameChar(c, first) {
				break
			}
			p.pos++
			first = false
			continue
		}
		r, n := utf8.DecodeRuneInString(p.s[p.pos:])
		if r == utf8.RuneError && n <= 1 {
			return "", p.fail("invalid UTF-8")
		}
		if !isNameStart(r) && (first || !isNameRest(r)) {
			break
		}
		p.pos += n
		first = false
	}
	if p.pos == start {
		return "", p.fail("expected a name")
	}
	return p.s[start:p.pos], nil
}

func asciiNameChar(c byte, first bool) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_', c == ':':
		return true
	case c >= '0' && c <= '9', c == '-', c == '.':
		return !first
	}
	return false
}

func isNameStart(r rune) bool {
	switch {
	case r < utf8.RuneSelf:
		return asciiNameChar(byte(r), true)
	case r >= 0xC0 && r <= 0xD6, r >= 0xD8 && r <= 0xF6, r >= 0xF8 && r <= 0x2FF,
		r >= 0x370 && r <= 0x37D, r >= 0x37F && r <= 0x1FFF, r >= 0x200C && r <= 0x200D,
		r >= 0x2070 && r <= 0x218F, r >= 0x2C00 && r <= 0x2FEF, r >= 0x3001 && r <= 0xD7FF,
		r >= 0xF900 && r <= 0xFDCF, r >= 0xFDF0 && r <= 0xFFFD, r >= 0x10000 && r <= 0xEFFFF:
		return true
	}
	return false
}

func isNameRest(r rune) bool {
	return r == 0xB7 || (r >= 0x300 && r <= 0x36F) || (r >= 0x203F && r <= 0x2040)
}

// splitQName splits a Name into prefix and local part; it fails unless the
// name is a QName (Namespaces in XML 1.0 §4): at most one colon, and both
// parts NCNames.
func splitQName(name string) (prefix, local string, ok bool) {
	i := strings.IndexByte(name, ':')
	if i < 0 {
		return "", name, true
	}
	prefix, local = name[:i], name[i+1:]
	if prefix == "" || local == "" || strings.IndexByte(local, ':') >= 0 {
		return "", "", false
	}
	r, _ := utf8.DecodeRuneInString(local)
	return prefix, local, isNameStart(r) && r != ':'
}
