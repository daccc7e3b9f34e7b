package safexml

import (
	"errors"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/beevik/etree"
)

// maxC14NDepth bounds recursion over caller-built trees.
const maxC14NDepth = 4 * MaxDepth

// Canonicalize returns the Exclusive XML Canonicalization 1.0 (without
// comments, empty InclusiveNamespaces PrefixList;
// https://www.w3.org/TR/xml-exc-c14n/) of the subtree rooted at el.
// Namespace declarations in scope from el's ancestors are taken into
// account, so el need not be detached. el is never modified.
func Canonicalize(el *etree.Element) ([]byte, error) {
	return AppendCanonical(make([]byte, 0, SizeHint(el, 0)), el)
}

// AppendCanonical appends the canonical form of el to dst.
func AppendCanonical(dst []byte, el *etree.Element) ([]byte, error) {
	c := canon{out: dst}
	if err := c.run(el); err != nil {
		return nil, err
	}
	return c.out, nil
}

// WriteCanonical streams the canonical form of el to w through a 32 KiB
// buffer, e.g. straight into a hash.
func WriteCanonical(w io.Writer, el *etree.Element) error {
	c := canon{out: make([]byte, 0, 32<<10), w: w}
	if err := c.run(el); err != nil {
		return err
	}
	return c.flush()
}

var errUndeclared = errors.New("c14n: undeclared namespace prefix")

type canon struct {
	out      []byte
	w        io.Writer
	err      error
	scope    []binding // declarations in scope in the input
	rendered []binding // declarations rendered on output ancestors
	nsOut    []binding // scratch: declarations to render on this element
	attrs    []sortAttr
	depth    int
}

type sortAttr struct {
	uri string
	a   *etree.Attr
}

func (c *canon) run(el *etree.Element) error {
	if el == nil {
		return errors.New("c14n: nil element")
	}
	var chain []*etree.Element
	for p := el.Parent(); p != nil; p = p.Parent() {
		chain = append(chain, p)
	}
	for i := len(chain) - 1; i >= 0; i-- {
		c.pushDecls(chain[i])
	}
	if err := c.element(el); err != nil {
		return err
	}
	return c.err
}

func (c *canon) pushDecls(e *etree.Element) {
	for i := range e.Attr {
		if p, ok := DeclPrefix(&e.Attr[i]); ok {
			c.scope = append(c.scope, binding{p, e.Attr[i].Value})
		}
	}
}

// DeclPrefix reports whether a is a namespace declaration and for which
// prefix ("" is the default namespace).
func DeclPrefix(a *etree.Attr) (string, bool) {
	switch {
	case a.Space == "xmlns":
		return a.Key, true
	case a.Space == "" && a.Key == "xmlns":
		return "", true
	}
	return "", false
}

func find(bs []binding, prefix string) (string, bool) {
	for i := len(bs) - 1; i >= 0; i-- {
		if bs[i].prefix == prefix {
			return bs[i].uri, true
		}
	}
	return "", false
}

func (c *canon) resolve(prefix string) (string, error) {
	if prefix == "xml" {
		return nsXML, nil
	}
	uri, ok := find(c.scope, prefix)
	if !ok && prefix != "" {
		return "", errUndeclared
	}
	return uri, nil
}

func (c *canon) element(e *etree.Element) error {
	if c.depth++; c.depth > maxC14NDepth {
		return ErrDepth
	}
	scopeMark, rendMark := len(c.scope), len(c.rendered)
	c.pushDecls(e)
	if err := c.startTag(e); err != nil {
		return err
	}
	for _, t := range e.Child {
		if err := c.child(t); err != nil {
			return err
		}
	}
	c.writeString("</")
	c.writeName(e.Space, e.Tag)
	c.writeByte('>')
	c.scope, c.rendered = c.scope[:scopeMark], c.rendered[:rendMark]
	c.depth--
	return nil
}

func (c *canon) child(t etree.Token) error {
	switch t := t.(type) {
	case *etree.Element:
		return c.element(t)
	case *etree.CharData:
		return c.text(t.Data)
	case *etree.ProcInst:
		return c.procInst(t)
	case *etree.Comment:
		return nil
	}
	return errors.New("c14n: unsupported node (directive)")
}

// startTag writes the start tag with the namespace declarations that are
// visibly utilized and not already rendered by an output ancestor
// (Exclusive XML Canonicalization §3), then the sorted attributes.
func (c *canon) startTag(e *etree.Element) error {
	c.nsOut, c.attrs = c.nsOut[:0], c.attrs[:0]
	if err := c.utilize(e.Space); err != nil {
		return err
	}
	for i := range e.Attr {
		a := &e.Attr[i]
		if _, ok := DeclPrefix(a); ok {
			continue
		}
		uri := ""
		if a.Space != "" {
			var err error
			if uri, err = c.resolve(a.Space); err != nil {
				return err
			}
			if err := c.utilize(a.Space); err != nil {
				return err
			}
		}
		c.attrs = append(c.attrs, sortAttr{uri, a})
	}
	slices.SortFunc(c.nsOut, func(a, b binding) int { return strings.Compare(a.prefix, b.prefix) })
	slices.SortFunc(c.attrs, func(a, b sortAttr) int {
		if n := strings.Compare(a.uri, b.uri); n != 0 {
			return n
		}
		return strings.Compare(a.a.Key, b.a.Key)
	})
	c.writeByte('<')
	c.writeName(e.Space, e.Tag)
	for _, b := range c.nsOut {
		c.writeString(" xmlns")
		if b.prefix != "" {
			c.writeByte(':')
			c.writeString(b.prefix)
		}
		c.writeString(`="`)
		if err := c.attrValue(b.uri); err != nil {
			return err
		}
		c.writeByte('"')
	}
	for _, sa := range c.attrs {
		c.writeByte(' ')
		c.writeName(sa.a.Space, sa.a.Key)
		c.writeString(`="`)
		if err := c.attrValue(sa.a.Value); err != nil {
			return err
		}
		c.writeByte('"')
	}
	c.writeByte('>')
	return nil
}

// utilize records that prefix is visibly utilized and queues its
// declaration if the output does not already have it in scope.
func (c *canon) utilize(prefix string) error {
	if prefix == "xml" {
		return nil
	}
	for _, b := range c.nsOut {
		if b.prefix == prefix {
			return nil
		}
	}
	uri, err := c.resolve(prefix)
	if err != nil {
		return err
	}
	have, ok := find(c.rendered, prefix)
	if prefix == "" && !ok {
		have, ok = "", true // the output starts with no default namespace
	}
	if ok && have == uri {
		return nil
	}
	c.nsOut = append(c.nsOut, binding{prefix, uri})
	c.rendered = append(c.rendered, binding{prefix, uri})
	return nil
}

func (c *canon) procInst(p *etree.ProcInst) error {
	if strings.Contains(p.Target+p.Inst, "?>") || p.Target == "" {
		return errors.New("c14n: malformed processing instruction")
	}
	c.writeString("<?")
	c.writeString(p.Target)
	if p.Inst != "" {
		c.writeByte(' ')
		c.writeString(p.Inst)
	}
	c.writeString("?>")
	return nil
}

func (c *canon) writeName(space, local string) {
	if space != "" {
		c.writeString(space)
		c.writeByte(':')
	}
	c.writeString(local)
}

var errChar = errors.New("c14n: character not allowed in XML")

// textSafe and attrSafe mark bytes copied verbatim (C14N 1.0 §2.3 text and
// attribute escaping); other bytes are escaped, validated or rejected.
var textSafe, attrSafe = func() (t, a [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c], a[c] = true, true
	}
	t['\t'], t['\n'] = true, true
	for _, c := range "&<>" {
		t[c] = false
	}
	for _, c := range "&<\"" {
		a[c] = false
	}
	return t, a
}()

func (c *canon) text(s string) error {
	for len(s) > 0 {
		i := textSafeRun(s)
		c.writeString(s[:i])
		if i == len(s) {
			return nil
		}
		n, err := c.escape(s[i:], false)
		if err != nil {
			return err
		}
		s = s[i+n:]
	}
	return nil
}

func (c *canon) attrValue(s string) error {
	for len(s) > 0 {
		i := 0
		for i < len(s) && attrSafe[s[i]] {
			i++
		}
		c.writeString(s[:i])
		if i == len(s) {
			return nil
		}
		n, err := c.escape(s[i:], true)
		if err != nil {
			return err
		}
		s = s[i+n:]
	}
	return nil
}

// escape writes the first character of s in escaped or validated form and
// returns how many bytes it consumed.
func (c *canon) escape(s string, attr bool) (int, error) {
	switch ch := s[0]; {
	case ch == '&':
		c.writeString("&amp;")
	case ch == '<':
		c.writeString("&lt;")
	case ch == '>':
		c.writeString("&gt;")
	case ch == '"':
		c.writeString("&quot;")
	case ch == '\r':
		c.writeString("&#xD;")
	case ch == '\t' && attr:
		c.writeString("&#x9;")
	case ch == '\n' && attr:
		c.writeString("&#xA;")
	case ch >= utf8.RuneSelf:
		r, n := utf8.DecodeRuneInString(s)
		if !isXMLRune(r, n) {
			return 0, errChar
		}
		c.writeString(s[:n])
		return n, nil
	default:
		return 0, errChar
	}
	return 1, nil
}

func (c *canon) writeByte(b byte) {
	if c.w != nil && len(c.out) == cap(c.out) {
		c.flushBuf()
	}
	c.out = append(c.out, b)
}

func (c *canon) writeString(s string) {
	if c.w == nil {
		c.out = append(c.out, s...)
		return
	}
	for len(s) > 0 {
		if len(c.out) == cap(c.out) {
			c.flushBuf()
		}
		n := min(cap(c.out)-len(c.out), len(s))
		c.out = append(c.out, s[:n]...)
		s = s[n:]
	}
}

func (c *canon) flushBuf() {
	if c.err == nil {
		_, c.err = c.w.Write(c.out)
	}
	c.out = c.out[:0]
}

func (c *canon) flush() error {
	c.flushBuf()
	return c.err
}

// SizeHint estimates the serialized size of el's subtree.
func SizeHint(el *etree.Element, depth int) int {
	if el == nil || depth > maxC14NDepth {
		return 0
	}
	n := 2*len(el.Space) + 2*len(el.Tag) + 6
	for _, a := range el.Attr {
		n += len(a.Space) + len(a.Key) + len(a.Value) + 5
	}
	for _, t := range el.Child {
		switch t := t.(type) {
		case *etree.Element:
			n += SizeHint(t, depth+1)
		case *etree.CharData:
			n += len(t.Data)
		case *etree.ProcInst:
			n += len(t.Target) + len(t.Inst) + 5
		}
	}
	return n + 64
}
