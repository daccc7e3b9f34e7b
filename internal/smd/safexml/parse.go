package safexml

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/beevik/etree"

	"github.com/opensmd/portal/internal/smd/fault"
)

// Parser limits. Inputs are also bounded by the caller's body limit.
const (
	// MaxDepth is the deepest element nesting Parse accepts.
	MaxDepth = 256
	// MaxAttrs is the most attributes (including namespace declarations)
	// Parse accepts on one element.
	MaxAttrs = 256
	// MaxNamespaces is the most namespace declarations Parse
	// accepts in scope at once (bounds every prefix lookup).
	MaxNamespaces = 128
)

// Errors wrapped (via *SyntaxError) by Parse failures.
var (
	// ErrDTD reports a DOCTYPE, ENTITY or other markup declaration.
	ErrDTD = errors.New("DOCTYPE, ENTITY and other declarations are not allowed")
	// ErrDepth reports nesting deeper than MaxDepth.
	ErrDepth = errors.New("element nesting too deep")
	// ErrEntity reports a reference to an entity other than the five
	// predefined ones (there is no DTD, so no other entity can be declared).
	ErrEntity = errors.New("undefined entity reference")

	errTooManyAttrs = errors.New("too many attributes")
	errTooManyNS    = errors.New("too many namespace declarations in scope")
)

// SyntaxError reports input that is not well-formed, namespace-well-formed
// XML 1.0 or that breaks a hardening rule, with the byte offset.
type SyntaxError struct {
	Offset int
	Msg    string
	Err    error
}

func (e *SyntaxError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("xml offset %d: %s: %v", e.Offset, e.Msg, e.Err)
	}
	return fmt.Sprintf("xml offset %d: %s", e.Offset, e.Msg)
}

func (e *SyntaxError) Unwrap() error { return e.Err }

// Parse parses a UTF-8 XML 1.0 document into an etree document.
//
// It is a strict, single-pass parser written for this package (encoding/xml,
// which etree uses, reads about 50 MB/s and is lax about well-formedness).
// It refuses any DOCTYPE, ENTITY or other <!...> declaration, any entity
// reference other than the five predefined ones, nesting deeper than
// MaxDepth, more than MaxAttrs attributes on an element, duplicate
// attributes (also after namespace expansion), undeclared namespace
// prefixes, illegal characters and non-UTF-8 encodings. It normalizes line
// ends and attribute whitespace as XML 1.0 §2.11 and §3.3.3 require, turns
// CDATA sections into plain text, keeps comments and processing
// instructions, and drops the XML declaration.
//
// Failures are *fault.Error with code fault.BadlyFormedMsg wrapping a
// *SyntaxError.
func Parse(b []byte) (*etree.Document, error) {
	return ParseString(string(b))
}

// ParseString is Parse on a string; text nodes share its memory.
func ParseString(s string) (*etree.Document, error) {
	p := parser{s: s, doc: etree.NewDocument()}
	if err := p.document(); err != nil {
		return nil, fault.Wrap(fault.BadlyFormedMsg, "malformed XML", err)
	}
	return p.doc, nil
}

// binding is one namespace declaration in scope.
type binding struct{ prefix, uri string }

type rawAttr struct {
	qname, prefix, local, value string
	uri                         string // resolved by checkAttrNames
}

type parser struct {
	s     string
	pos   int
	doc   *etree.Document
	ns    []binding
	depth int
	buf   []byte
	attrs []rawAttr
}

const (
	nsXML   = "http://www.w3.org/XML/1998/namespace"
	nsXMLNS = "http://www.w3.org/2000/xmlns/"
)

func (p *parser) fail(msg string) error {
	return &SyntaxError{Offset: p.pos, Msg: msg}
}

func (p *parser) failErr(msg string, err error) error {
	return &SyntaxError{Offset: p.pos, Msg: msg, Err: err}
}

func (p *parser) has(s string) bool {
	return strings.HasPrefix(p.s[p.pos:], s)
}

func (p *parser) skipSpace() bool {
	start := p.pos
	for p.pos < len(p.s) && isSpace(p.s[p.pos]) {
		p.pos++
	}
	return p.pos > start
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (p *parser) document() error {
	switch {
	case strings.HasPrefix(p.s, "\xEF\xBB\xBF"):
		p.pos = 3
	case strings.HasPrefix(p.s, "\xFE\xFF"), strings.HasPrefix(p.s, "\xFF\xFE"):
		return p.fail("only UTF-8 is supported")
	}
	if p.has("<?xml") && len(p.s) > p.pos+5 && isSpace(p.s[p.pos+5]) {
		if err := p.xmlDecl(); err != nil {
			return err
		}
	}
	root := false
	for {
		p.skipSpace()
		if p.pos == len(p.s) {
			break
		}
		if p.s[p.pos] != '<' {
			return p.fail("text outside the root element")
		}
		var err error
		switch {
		case p.has("<!--"):
			err = p.comment(&p.doc.Element)
		case p.has("<?"):
			err = p.procInst(&p.doc.Element)
		case p.has("<!"):
			err = p.failErr("markup declaration", ErrDTD)
		case root:
			err = p.fail("more than one root element")
		default:
			root = true
			err = p.element(&p.doc.Element)
		}
		if err != nil {
			return err
		}
	}
	if !root {
		return p.fail("no root element")
	}
	return nil
}

// xmlDecl parses <?xml version="1.0" encoding="UTF-8" standalone="yes"?>.
func (p *parser) xmlDecl() error {
	end := strings.Index(p.s[p.pos:], "?>")
	if end < 0 {
		return p.fail("unterminated XML declaration")
	}
	decl := p.s[p.pos+5 : p.pos+end]
	p.pos += end + 2
	fields, err := declFields(decl)
	if err != nil {
		return p.failErr("bad XML declaration", err)
	}
	order := []string{"version", "encoding", "standalone"}
	i := 0
	for _, f := range fields {
		for i < len(order) && order[i] != f[0] {
			i++
		}
		if i == len(order) {
			return p.fail("bad XML declaration attribute " + f[0])
		}
		switch f[0] {
		case "version":
			if f[1] != "1.0" {
				return p.fail("unsupported XML version")
			}
		case "encoding":
			if !strings.EqualFold(f[1], "UTF-8") && !strings.EqualFold(f[1], "US-ASCII") {
				return p.fail("only UTF-8 is supported")
			}
		case "standalone":
			if f[1] != "yes" && f[1] != "no" {
				return p.fail("bad standalone value")
			}
		}
		i++
	}
	if len(fields) == 0 || fields[0][0] != "version" {
		return p.fail("XML declaration without version")
	}
	return nil
}

// declFields splits ` a="x" b='y'` into pairs.
func declFields(s string) ([][2]string, error) {
	var out [][2]string
	for {
		t := strings.TrimLeft(s, " \t\r\n")
		if t == "" {
			return out, nil
		}
		if len(t) == len(s) && len(out) > 0 {
			return nil, errors.New("missing whitespace")
		}
		eq := strings.IndexByte(t, '=')
		if eq <= 0 {
			return nil, errors.New("missing '='")
		}
		name := strings.TrimRight(t[:eq], " \t\r\n")
		v := strings.TrimLeft(t[eq+1:], " \t\r\n")
		if v == "" || (v[0] != '"' && v[0] != '\'') {
			return nil, errors.New("unquoted value")
		}
		end := strings.IndexByte(v[1:], v[0])
		if end < 0 {
			return nil, errors.New("unterminated value")
		}
		out = append(out, [2]string{name, v[1 : 1+end]})
		s = v[2+end:]
	}
}

func (p *parser) comment(parent *etree.Element) error {
	p.pos += 4
	end := strings.Index(p.s[p.pos:], "--")
	if end < 0 {
		return p.fail("unterminated comment")
	}
	body := p.s[p.pos : p.pos+end]
	if p.pos+end+2 >= len(p.s) || p.s[p.pos+end+2] != '>' {
		p.pos += end
		return p.fail("'--' inside comment")
	}
	s, err := p.checkedString(body)
	if err != nil {
		return err
	}
	p.pos += end + 3
	parent.CreateComment(s)
	return nil
}

func (p *parser) procInst(parent *etree.Element) error {
	p.pos += 2
	target, err := p.name()
	if err != nil {
		return err
	}
	if strings.EqualFold(target, "xml") {
		return p.fail("XML declaration not at the start")
	}
	if strings.IndexByte(target, ':') >= 0 {
		return p.fail("colon in processing instruction target")
	}
	inst := ""
	if !p.has("?>") {
		if !p.skipSpace() {
			return p.fail("bad processing instruction")
		}
		end := strings.Index(p.s[p.pos:], "?>")
		if end < 0 {
			return p.fail("unterminated processing instruction")
		}
		if inst, err = p.checkedString(p.s[p.pos : p.pos+end]); err != nil {
			return err
		}
		p.pos += end
	}
	p.pos += 2
	parent.CreateProcInst(target, inst)
	return nil
}

// checkedString validates that b holds only XML characters and returns it
// with line ends normalized.
func (p *parser) checkedString(b string) (string, error) {
	cr := false
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return "", p.fail("illegal character")
			}
			cr = cr || c == '\r'
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(b[i:])
		if !isXMLRune(r, n) {
			return "", p.fail("illegal character")
		}
		i += n
	}
	if !cr {
		return b, nil
	}
	return string(normalizeNewlines(nil, b)), nil
}

func normalizeNewlines(dst []byte, b string) []byte {
	for i := 0; i < len(b); i++ {
		if b[i] != '\r' {
			dst = append(dst, b[i])
			continue
		}
		dst = append(dst, '\n')
		if i+1 < len(b) && b[i+1] == '\n' {
			i++
		}
	}
	return dst
}

func isXMLRune(r rune, size int) bool {
	if r == utf8.RuneError && size <= 1 {
		return false
	}
	return r == 0x9 || r == 0xA || r == 0xD ||
		(r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) ||
		(r >= 0x10000 && r <= 0x10FFFF)
}
