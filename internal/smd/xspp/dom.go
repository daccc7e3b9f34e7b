package xspp

import (
	"github.com/beevik/etree"
	"github.com/opensmd/portal/internal/smd/ns"
	"github.com/opensmd/portal/internal/smd/safexml"
)

// nsURI resolves the namespace of el from the declarations on el and its
// ancestors. ok is false for an undeclared prefix.
func nsURI(el *etree.Element) (uri string, ok bool) {
	if el.Space == "xml" {
		return ns.XML, true
	}
	for e := el; e != nil; e = e.Parent() {
		for i := range e.Attr {
			if p, isDecl := safexml.DeclPrefix(&e.Attr[i]); isDecl && p == el.Space {
				return e.Attr[i].Value, true
			}
		}
	}
	return "", el.Space == ""
}

// is reports whether el is the element {uri}local.
func is(el *etree.Element, uri, local string) bool {
	if el == nil || el.Tag != local {
		return false
	}
	u, ok := nsURI(el)
	return ok && u == uri
}

// elementChildren returns the child elements of el; ok is false if el also
// holds non-whitespace text or a directive (comments and processing
// instructions are ignored, as canonicalization drops comments).
func elementChildren(el *etree.Element) (kids []*etree.Element, ok bool) {
	for _, t := range el.Child {
		switch t := t.(type) {
		case *etree.Element:
			kids = append(kids, t)
		case *etree.CharData:
			if !isBlank(t.Data) {
				return nil, false
			}
		case *etree.Directive:
			return nil, false
		}
	}
	return kids, true
}

// children returns el's element children if they are exactly the given
// sequence of {uri}local names.
func children(el *etree.Element, uri string, locals ...string) ([]*etree.Element, bool) {
	kids, ok := elementChildren(el)
	if !ok || len(kids) != len(locals) {
		return nil, false
	}
	for i, k := range kids {
		if !is(k, uri, locals[i]) {
			return nil, false
		}
	}
	return kids, true
}

// attr returns the value of the unqualified attribute key.
func attr(el *etree.Element, key string) (string, bool) {
	for _, a := range el.Attr {
		if a.Space == "" && a.Key == key {
			return a.Value, true
		}
	}
	return "", false
}

// textOf returns the concatenated character data of el, and false if el
// has element children.
func textOf(el *etree.Element) (string, bool) {
	var s string
	n := 0
	for _, t := range el.Child {
		switch t := t.(type) {
		case *etree.Element:
			return "", false
		case *etree.CharData:
			if n == 0 {
				s = t.Data
			} else {
				s += t.Data
			}
			n++
		}
	}
	return s, true
}

// walk visits every element under root (inclusive) without recursion.
func walk(root *etree.Element, visit func(*etree.Element)) {
	stack := []*etree.Element{root}
	for len(stack) > 0 {
		e := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		visit(e)
		for i := len(e.Child) - 1; i >= 0; i-- {
			if c, ok := e.Child[i].(*etree.Element); ok {
				stack = append(stack, c)
			}
		}
	}
}

// top returns the outermost ancestor of el (the document node if el is in
// a document).
func top(el *etree.Element) *etree.Element {
	for el.Parent() != nil {
		el = el.Parent()
	}
	return el
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// isBlank reports whether s is XML whitespace only.
func isBlank(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isSpace(s[i]) {
			return false
		}
	}
	return true
}
