package wire

import (
	"maps"
	"slices"

	"github.com/beevik/etree"

	"github.com/opensmd/portal/internal/smd/ns"
)

// prefixes binds the fixed prefix this package writes for each namespace it
// emits. Peers must resolve names by namespace, never by prefix, so the
// choice only affects readability; it is fixed so output is deterministic.
func prefixOf(space string) string {
	switch space {
	case ns.SealedMessage:
		return "smsg"
	case ns.TransportResponse:
		return "trsp"
	case ns.EncryptedPayload:
		return "ep"
	case ns.SignedPayload:
		return "sp"
	case ns.ELS:
		return "els"
	case ns.QualifiedCertRef:
		return "qcr"
	case ns.StandardError:
		return "se"
	case ns.XEnc:
		return "xenc"
	case ns.DSig:
		return "ds"
	case ns.SvcSMD:
		return "smd"
	case ns.SvcSIMD:
		return "simd"
	case ns.SvcSMR:
		return "smr"
	case ns.SvcTRD:
		return "trd"
	case ns.SvcTRR:
		return "trr"
	case ns.SvcELS:
		return "lkp"
	}
	return ""
}

// namespaceOf is the inverse of prefixOf.
func namespaceOf(prefix string) string {
	for _, space := range []string{
		ns.SealedMessage, ns.TransportResponse, ns.EncryptedPayload, ns.SignedPayload,
		ns.ELS, ns.QualifiedCertRef, ns.StandardError, ns.XEnc, ns.DSig,
		ns.SvcSMD, ns.SvcSIMD, ns.SvcSMR, ns.SvcTRD, ns.SvcTRR, ns.SvcELS,
	} {
		if prefixOf(space) == prefix {
			return space
		}
	}
	return ""
}

// qname returns the prefixed name used for space/local, for element
// creation and error messages.
func qname(space, local string) string {
	if p := prefixOf(space); p != "" {
		return p + ":" + local
	}
	return local
}

// newRoot creates a detached element in namespace space. Call declareUsed on
// it once it is complete.
func newRoot(space, local string) *etree.Element {
	return etree.NewElement(qname(space, local))
}

// add appends a child element in namespace space to parent; a nil parent
// gives a detached element.
func add(parent *etree.Element, space, local string) *etree.Element {
	if parent == nil {
		return newRoot(space, local)
	}
	return parent.CreateElement(qname(space, local))
}

// addText appends a child element with text content.
func addText(parent *etree.Element, space, local, text string) *etree.Element {
	e := add(parent, space, local)
	e.SetText(text)
	return e
}

// declareUsed adds to el an xmlns declaration for every prefix that el's
// subtree uses, that this package knows, and that is not already in scope
// (declared within the subtree above its use, or on an ancestor of el).
// It makes el serialisable on its own and after insertion anywhere.
func declareUsed(el *etree.Element) *etree.Element {
	need := map[string]bool{}
	var walk func(e *etree.Element, scope map[string]bool)
	walk = func(e *etree.Element, scope map[string]bool) {
		local := scope
		copied := false
		for _, a := range e.Attr {
			if a.Space == "xmlns" {
				if !copied {
					local, copied = clone(scope), true
				}
				local[a.Key] = true
			}
		}
		if e.Space != "" && !local[e.Space] && !inScope(el.Parent(), e.Space) {
			need[e.Space] = true
		}
		for _, c := range e.ChildElements() {
			walk(c, local)
		}
	}
	walk(el, map[string]bool{})
	for _, p := range sortedKeys(need) {
		if space := namespaceOf(p); space != "" && !declaredWithin(el, p) {
			el.CreateAttr("xmlns:"+p, space)
		}
	}
	return el
}

func sortedKeys(m map[string]bool) []string {
	return slices.Sorted(maps.Keys(m))
}

func clone(m map[string]bool) map[string]bool {
	c := make(map[string]bool, len(m)+1)
	for k, v := range m {
		c[k] = v
	}
	return c
}

// inScope reports whether prefix is declared on e or one of its ancestors.
func inScope(e *etree.Element, prefix string) bool {
	_, ok := lookupNS(e, prefix)
	return ok
}

// Detach returns a deep copy of el that carries, as attributes on the copy's
// root, the namespace declarations that el inherits from its ancestors and
// that its subtree uses (element prefixes, attribute prefixes and the default
// namespace). The copy can be serialised or inserted elsewhere without
// changing the meaning of any name. A nil el gives nil.
func Detach(el *etree.Element) *etree.Element {
	if el == nil {
		return nil
	}
	c := el.Copy()
	used := map[string]bool{}
	collectPrefixes(c, used)
	for _, p := range sortedKeys(used) {
		if declaredWithin(c, p) {
			continue
		}
		space, ok := lookupNS(el.Parent(), p)
		if !ok {
			continue
		}
		if p == "" {
			c.CreateAttr("xmlns", space)
		} else {
			c.CreateAttr("xmlns:"+p, space)
		}
	}
	return c
}

// collectPrefixes records every prefix used by element and attribute names
// in e's subtree ("" for unprefixed elements, which use the default
// namespace).
func collectPrefixes(e *etree.Element, used map[string]bool) {
	used[e.Space] = true
	for _, a := range e.Attr {
		if a.Space != "" && a.Space != "xmlns" && a.Space != "xml" {
			used[a.Space] = true
		}
	}
	for _, c := range e.ChildElements() {
		collectPrefixes(c, used)
	}
}

// declaredWithin reports whether the copy's root declares prefix. Prefixes
// declared deeper in the subtree only cover their own descendants, so the
// root still needs the inherited binding for any use above them.
func declaredWithin(root *etree.Element, prefix string) bool {
	for _, a := range root.Attr {
		if (prefix == "" && a.Space == "" && a.Key == "xmlns") || (a.Space == "xmlns" && a.Key == prefix) {
			return true
		}
	}
	return false
}

// lookupNS resolves prefix ("" = default namespace) on e and its ancestors.
func lookupNS(e *etree.Element, prefix string) (string, bool) {
	for ; e != nil; e = e.Parent() {
		for _, a := range e.Attr {
			if prefix == "" && a.Space == "" && a.Key == "xmlns" {
				return a.Value, true
			}
			if prefix != "" && a.Space == "xmlns" && a.Key == prefix {
				return a.Value, true
			}
		}
	}
	return "", false
}
