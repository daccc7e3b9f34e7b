package wire

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/opensmd/portal/internal/smd/fault"
)

// badlyFormed returns the fault for a structural error in element name.
func badlyFormed(name, format string, args ...any) *fault.Error {
	return fault.New(fault.BadlyFormedMsg, name+": "+fmt.Sprintf(format, args...))
}

// checkName verifies that el is space/local.
func checkName(el *etree.Element, space, local string) error {
	if el == nil {
		return badlyFormed(qname(space, local), "element missing")
	}
	if el.Tag != local || el.NamespaceURI() != space {
		return badlyFormed(qname(space, local), "unexpected element %s", describe(el))
	}
	return nil
}

// describe names el for an error message: its local name and namespace.
func describe(el *etree.Element) string {
	return fmt.Sprintf("{%s}%s", el.NamespaceURI(), el.Tag)
}

// seq reads the child elements of one complex-typed element in xsd:sequence
// order. Errors are sticky: after the first one every read returns a zero
// value and err reports that first error.
type seq struct {
	name string
	kids []*etree.Element
	i    int
	err  error
}

// newSeq starts reading el's children. Non-whitespace character data
// directly inside a complex-typed element is an error.
func newSeq(el *etree.Element, name string) *seq {
	s := &seq{name: name, kids: el.ChildElements()}
	for _, t := range el.Child {
		if cd, ok := t.(*etree.CharData); ok && strings.TrimSpace(cd.Data) != "" {
			s.err = badlyFormed(name, "unexpected character data")
		}
	}
	return s
}

func (s *seq) fail(err error) {
	if s.err == nil {
		s.err = err
	}
}

// peek reports whether the next child is space/local.
func (s *seq) peek(space, local string) bool {
	if s.err != nil || s.i >= len(s.kids) {
		return false
	}
	k := s.kids[s.i]
	return k.Tag == local && k.NamespaceURI() == space
}

// opt consumes the next child if it is space/local.
func (s *seq) opt(space, local string) *etree.Element {
	if !s.peek(space, local) {
		return nil
	}
	s.i++
	return s.kids[s.i-1]
}

// one consumes a required child.
func (s *seq) one(space, local string) *etree.Element {
	if e := s.opt(space, local); e != nil {
		return e
	}
	s.fail(s.missing(space, local))
	return nil
}

func (s *seq) missing(space, local string) error {
	if s.i < len(s.kids) {
		return badlyFormed(s.name, "expected %s, found %s", qname(space, local), describe(s.kids[s.i]))
	}
	return badlyFormed(s.name, "missing element %s", qname(space, local))
}

// many consumes zero or more consecutive space/local children.
func (s *seq) many(space, local string) []*etree.Element {
	var out []*etree.Element
	for s.peek(space, local) {
		out = append(out, s.kids[s.i])
		s.i++
	}
	return out
}

// atLeastOne consumes one or more consecutive space/local children.
func (s *seq) atLeastOne(space, local string) []*etree.Element {
	out := s.many(space, local)
	if len(out) == 0 {
		s.fail(s.missing(space, local))
	}
	return out
}

// done reports the first error, or an error for any unconsumed child.
func (s *seq) done() error {
	if s.err == nil && s.i < len(s.kids) {
		s.err = badlyFormed(s.name, "unexpected element %s", describe(s.kids[s.i]))
	}
	return s.err
}

// leaf returns the character data of a simple-typed element; child elements
// are an error. Comments are skipped and CDATA sections are kept.
func leaf(el *etree.Element, name string) (string, error) {
	var b strings.Builder
	for _, t := range el.Child {
		switch t := t.(type) {
		case *etree.CharData:
			b.WriteString(t.Data)
		case *etree.Element:
			return "", badlyFormed(name, "unexpected element %s in simple content", describe(t))
		}
	}
	return b.String(), nil
}

// str reads a required xsd:string child, whitespace preserved.
func (s *seq) str(space, local string) string {
	e := s.one(space, local)
	if e == nil {
		return ""
	}
	v, err := leaf(e, qname(space, local))
	s.fail(err)
	return v
}

// uri reads a required xsd:anyURI child (whitespace collapsed); it must not
// be empty.
func (s *seq) uri(space, local string) string {
	e := s.one(space, local)
	if e == nil {
		return ""
	}
	return s.uriOf(e, space, local)
}

// optURI reads an optional xsd:anyURI child; absent gives "".
func (s *seq) optURI(space, local string) string {
	e := s.opt(space, local)
	if e == nil {
		return ""
	}
	return s.uriOf(e, space, local)
}

func (s *seq) uriOf(e *etree.Element, space, local string) string {
	v, err := leaf(e, qname(space, local))
	v = collapse(v)
	if err == nil && v == "" {
		err = badlyFormed(qname(space, local), "empty value")
	}
	s.fail(err)
	return v
}

// uris reads repeated xsd:anyURI children (min occurrences min).
func (s *seq) uris(space, local string, min int) []string {
	els := s.many(space, local)
	if len(els) < min {
		s.fail(s.missing(space, local))
	}
	var out []string
	for _, e := range els {
		out = append(out, s.uriOf(e, space, local))
	}
	return out
}

// token reads a required simple value with collapsed whitespace (enums).
func (s *seq) token(space, local string) string {
	e := s.one(space, local)
	if e == nil {
		return ""
	}
	v, err := leaf(e, qname(space, local))
	s.fail(err)
	return collapse(v)
}

// enum reads a required enumeration value and checks it against allowed.
func (s *seq) enum(space, local string, allowed ...string) string {
	v := s.token(space, local)
	if s.err != nil {
		return ""
	}
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	s.fail(badlyFormed(qname(space, local), "value not in enumeration"))
	return ""
}

// boolean reads a required xsd:boolean child.
func (s *seq) boolean(space, local string) bool {
	switch s.token(space, local) {
	case "true", "1":
		return true
	case "false", "0":
		return false
	}
	s.fail(badlyFormed(qname(space, local), "invalid xsd:boolean"))
	return false
}

// int32 reads a required xsd:int child.
func (s *seq) int32(space, local string) int32 {
	v := s.token(space, local)
	if s.err != nil {
		return 0
	}
	n, err := strconv.ParseInt(strings.TrimPrefix(v, "+"), 10, 32)
	if err != nil {
		s.fail(badlyFormed(qname(space, local), "invalid xsd:int"))
	}
	return int32(n)
}

// dateTime reads a required xsd:dateTime child.
func (s *seq) dateTime(space, local string) time.Time {
	v := s.token(space, local)
	if s.err != nil {
		return time.Time{}
	}
	t, err := parseDateTime(v, qname(space, local))
	s.fail(err)
	return t
}

// optDateTime reads an optional xsd:dateTime child; absent gives zero.
func (s *seq) optDateTime(space, local string) time.Time {
	if !s.peek(space, local) {
		return time.Time{}
	}
	return s.dateTime(space, local)
}

// optBase64 reads an optional xsd:base64Binary child; absent gives nil.
func (s *seq) optBase64(space, local string) []byte {
	e := s.opt(space, local)
	if e == nil {
		return nil
	}
	v, err := leaf(e, qname(space, local))
	if err != nil {
		s.fail(err)
		return nil
	}
	b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(v), ""))
	if err != nil {
		s.fail(badlyFormed(qname(space, local), "invalid xsd:base64Binary"))
		return nil
	}
	return b
}

// collapse applies the XSD "collapse" whitespace facet.
func collapse(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
