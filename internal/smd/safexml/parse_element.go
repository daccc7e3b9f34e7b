package safexml

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/beevik/etree"
)

// textPlain marks ASCII bytes that need no attention inside character data;
// attrPlain the same inside attribute values (quotes handled separately).
var textPlain, attrPlain = func() (t, a [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c], a[c] = true, true
	}
	t['\t'], t['\n'] = true, true
	for _, c := range "<&]\r" {
		t[c] = false
	}
	for _, c := range "<&\"'" {
		a[c] = false
	}
	return t, a
}()

func (p *parser) element(parent *etree.Element) error {
	p.depth++
	if p.depth > MaxDepth {
		return p.failErr("too deep", ErrDepth)
	}
	p.pos++ // '<'
	qname, err := p.name()
	if err != nil {
		return err
	}
	empty, err := p.attributes()
	if err != nil {
		return err
	}
	mark := len(p.ns)
	el, err := p.build(parent, qname)
	if err != nil {
		return err
	}
	if !empty {
		if err := p.content(el); err != nil {
			return err
		}
		if err := p.endTag(qname); err != nil {
			return err
		}
	}
	p.ns = p.ns[:mark]
	p.depth--
	return nil
}

// attributes reads attributes into p.attrs up to '>' or '/>'.
func (p *parser) attributes() (empty bool, err error) {
	p.attrs = p.attrs[:0]
	for {
		space := p.skipSpace()
		if p.pos >= len(p.s) {
			return false, p.fail("unexpected end of input in tag")
		}
		switch p.s[p.pos] {
		case '>':
			p.pos++
			return false, nil
		case '/':
			if !p.has("/>") {
				return false, p.fail("bad tag end")
			}
			p.pos += 2
			return true, nil
		}
		if !space {
			return false, p.fail("missing whitespace before attribute")
		}
		if len(p.attrs) >= MaxAttrs {
			return false, p.failErr("attributes", errTooManyAttrs)
		}
		if err := p.attribute(); err != nil {
			return false, err
		}
	}
}

func (p *parser) attribute() error {
	qname, err := p.name()
	if err != nil {
		return err
	}
	p.skipSpace()
	if p.pos >= len(p.s) || p.s[p.pos] != '=' {
		return p.fail("attribute without value")
	}
	p.pos++
	p.skipSpace()
	value, err := p.attrValue()
	if err != nil {
		return err
	}
	prefix, local, ok := splitQName(qname)
	if !ok {
		return p.fail("bad attribute name")
	}
	for _, a := range p.attrs {
		if a.qname == qname {
			return p.fail("duplicate attribute")
		}
	}
	p.attrs = append(p.attrs, rawAttr{qname: qname, prefix: prefix, local: local, value: value})
	return nil
}

// build declares namespaces, checks prefixes and creates the element.
func (p *parser) build(parent *etree.Element, qname string) (*etree.Element, error) {
	for _, a := range p.attrs {
		if err := p.declare(a); err != nil {
			return nil, err
		}
	}
	prefix, _, ok := splitQName(qname)
	if !ok {
		return nil, p.fail("bad element name")
	}
	if _, ok := p.lookup(prefix); !ok || prefix == "xmlns" {
		return nil, p.fail("undeclared namespace prefix " + prefix)
	}
	if err := p.checkAttrNames(); err != nil {
		return nil, err
	}
	el := parent.CreateElement(qname)
	for _, a := range p.attrs {
		el.CreateAttr(a.qname, a.value)
	}
	return el, nil
}

// declare applies a namespace declaration (Namespaces in XML 1.0 §3).
func (p *parser) declare(a rawAttr) error {
	switch {
	case a.prefix == "xmlns":
		switch {
		case a.local == "xmlns", a.value == nsXMLNS:
			return p.fail("reserved namespace")
		case (a.local == "xml") != (a.value == nsXML):
			return p.fail("reserved namespace")
		case a.value == "":
			return p.fail("empty namespace name for prefix")
		}
		p.ns = append(p.ns, binding{a.local, a.value})
	case a.prefix == "" && a.local == "xmlns":
		if a.value == nsXML || a.value == nsXMLNS {
			return p.fail("reserved namespace")
		}
		p.ns = append(p.ns, binding{"", a.value})
	}
	if len(p.ns) > MaxNamespaces {
		return p.failErr("namespaces", errTooManyNS)
	}
	return nil
}

// checkAttrNames rejects undeclared prefixes and expanded-name duplicates
// (each prefix is resolved once, so the pairwise check is cheap).
func (p *parser) checkAttrNames() error {
	for i := range p.attrs {
		a := &p.attrs[i]
		if a.prefix == "" || a.prefix == "xmlns" {
			continue
		}
		uri, ok := p.lookup(a.prefix)
		if !ok {
			return p.fail("undeclared namespace prefix " + a.prefix)
		}
		a.uri = uri
		for _, b := range p.attrs[:i] {
			if b.uri == uri && b.local == a.local && b.prefix != "" && b.prefix != "xmlns" {
				return p.fail("duplicate attribute")
			}
		}
	}
	return nil
}

func (p *parser) lookup(prefix string) (string, bool) {
	for i := len(p.ns) - 1; i >= 0; i-- {
		if p.ns[i].prefix == prefix {
			return p.ns[i].uri, true
		}
	}
	switch prefix {
	case "":
		return "", true
	case "xml":
		return nsXML, true
	}
	return "", false
}

func (p *parser) endTag(qname string) error {
	p.pos += 2 // "</"
	if !p.has(qname) {
		return p.fail("mismatched end tag")
	}
	p.pos += len(qname)
	p.skipSpace()
	if p.pos >= len(p.s) || p.s[p.pos] != '>' {
		return p.fail("mismatched end tag")
	}
	p.pos++
	return nil
}

// content reads child nodes up to the matching end tag's "</".
func (p *parser) content(el *etree.Element) error {
	for {
		s, err := p.charData()
		if err != nil {
			return err
		}
		if s != "" {
			t := el.CreateText(s)
			if isBlank(s) {
				t.SetData(s) // lets etree flag it as whitespace
			}
		}
		if p.pos >= len(p.s) {
			return p.fail("unexpected end of input")
		}
		switch {
		case p.has("</"):
			return nil
		case p.has("<!--"):
			err = p.comment(el)
		case p.has("<?"):
			err = p.procInst(el)
		case p.has("<!"):
			err = p.failErr("markup declaration", ErrDTD)
		default:
			err = p.element(el)
		}
		if err != nil {
			return err
		}
	}
}

func isBlank(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isSpace(s[i]) {
			return false
		}
	}
	return true
}

// charData reads text, references and CDATA sections up to the next markup.
// Text needing no decoding is sliced straight from the input.
func (p *parser) charData() (string, error) {
	start, direct := p.pos, true
	for p.pos < len(p.s) {
		i := p.pos + plainRun(p.s, p.pos)
		if !direct {
			p.buf = append(p.buf, p.s[p.pos:i]...)
		}
		p.pos = i
		if i == len(p.s) {
			break
		}
		if p.s[i] == '<' && !p.has("<![CDATA[") {
			break
		}
		if direct {
			p.buf, direct = append(p.buf[:0], p.s[start:p.pos]...), false
		}
		if err := p.textSpecial(); err != nil {
			return "", err
		}
	}
	if direct {
		return p.s[start:p.pos], nil
	}
	return string(p.buf), nil
}

// textSpecial consumes one non-plain item of character data into p.buf.
func (p *parser) textSpecial() error {
	c := p.s[p.pos]
	switch {
	case c == '<':
		return p.cdata()
	case c == '&':
		return p.reference()
	case c == '\r':
		p.buf = append(p.buf, '\n')
		p.pos++
		if p.pos < len(p.s) && p.s[p.pos] == '\n' {
			p.pos++
		}
	case c == ']':
		if p.has("]]>") {
			return p.fail("']]>' in text")
		}
		p.buf = append(p.buf, c)
		p.pos++
	case c >= utf8.RuneSelf:
		r, n := utf8.DecodeRuneInString(p.s[p.pos:])
		if !isXMLRune(r, n) {
			return p.fail("illegal character")
		}
		p.buf = append(p.buf, p.s[p.pos:p.pos+n]...)
		p.pos += n
	default:
		return p.fail("illegal character")
	}
	return nil
}

func (p *parser) cdata() error {
	p.pos += len("<![CDATA[")
	end := strings.Index(p.s[p.pos:], "]]>")
	if end < 0 {
		return p.fail("unterminated CDATA section")
	}
	s, err := p.checkedString(p.s[p.pos : p.pos+end])
	if err != nil {
		return err
	}
	p.buf = append(p.buf, s...)
	p.pos += end + 3
	return nil
}

// reference decodes &name; or &#...; into p.buf.
func (p *parser) reference() error {
	semi := strings.IndexByte(p.s[p.pos:min(len(p.s), p.pos+16)], ';')
	if semi < 0 {
		return p.fail("bad reference")
	}
	name := p.s[p.pos+1 : p.pos+semi]
	var r rune
	switch name {
	case "lt":
		r = '<'
	case "gt":
		r = '>'
	case "amp":
		r = '&'
	case "apos":
		r = '\''
	case "quot":
		r = '"'
	default:
		if !strings.HasPrefix(name, "#") {
			return p.failErr("reference &"+name+";", ErrEntity)
		}
		var ok bool
		if r, ok = charRef(name[1:]); !ok {
			return p.fail("bad character reference")
		}
	}
	p.buf = utf8.AppendRune(p.buf, r)
	p.pos += semi + 1
	return nil
}

func charRef(s string) (rune, bool) {
	base := 10
	if strings.HasPrefix(s, "x") {
		s, base = s[1:], 16
	}
	if s == "" || s[0] == '+' || s[0] == '-' {
		return 0, false
	}
	n, err := strconv.ParseUint(s, base, 32)
	if err != nil || n > utf8.MaxRune {
		return 0, false
	}
	r := rune(n)
	return r, isXMLRune(r, utf8.RuneLen(r))
}

// attrValue reads a quoted attribute value, decoding references and
// normalizing whitespace (XML 1.0 §3.3.3, CDATA-typed since there is no DTD).
func (p *parser) attrValue() (string, error) {
	if p.pos >= len(p.s) || (p.s[p.pos] != '"' && p.s[p.pos] != '\'') {
		return "", p.fail("unquoted attribute value")
	}
	q := p.s[p.pos]
	p.pos++
	start, direct := p.pos, true
	for {
		i := p.pos
		for i < len(p.s) && attrPlain[p.s[i]] {
			i++
		}
		if !direct {
			p.buf = append(p.buf, p.s[p.pos:i]...)
		}
		p.pos = i
		if i == len(p.s) {
			return "", p.fail("unterminated attribute value")
		}
		if p.s[i] == q {
			p.pos++
			break
		}
		if direct {
			p.buf, direct = append(p.buf[:0], p.s[start:p.pos]...), false
		}
		if err := p.attrSpecial(); err != nil {
			return "", err
		}
	}
	if direct {
		return p.s[start : p.pos-1], nil
	}
	return string(p.buf), nil
}

func (p *parser) attrSpecial() error {
	c := p.s[p.pos]
	switch {
	case c == '"' || c == '\'': // the other quote
		p.buf = append(p.buf, c)
		p.pos++
	case c == '<':
		return p.fail("'<' in attribute value")
	case c == '&':
		return p.reference()
	case c == '\t' || c == '\n':
		p.buf = append(p.buf, ' ')
		p.pos++
	case c == '\r':
		p.buf = append(p.buf, ' ')
		p.pos++
		if p.pos < len(p.s) && p.s[p.pos] == '\n' {
			p.pos++
		}
	case c >= utf8.RuneSelf:
		r, n := utf8.DecodeRuneInString(p.s[p.pos:])
		if !isXMLRune(r, n) {
			return p.fail("illegal character")
		}
		p.buf = append(p.buf, p.s[p.pos:p.pos+n]...)
		p.pos += n
	default:
		return p.fail("illegal character")
	}
	return nil
}
