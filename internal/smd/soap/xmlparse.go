package soap

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/beevik/etree"

	"github.com/opensmd/portal/internal/smd/fault"
)

// Limits bounds what Parse accepts. Zero fields take the defaults.
type Limits struct {
	// MaxBytes is the largest accepted message (default DefaultMaxBytes).
	MaxBytes int64
	// MaxDepth is the deepest accepted element nesting (default
	// DefaultMaxDepth).
	MaxDepth int
}

// Defaults for Limits.
const (
	DefaultMaxBytes = 50 << 20
	DefaultMaxDepth = 256
)

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	return l
}

// ErrTooLarge is wrapped by the fault returned for a message over
// Limits.MaxBytes.
var ErrTooLarge = errors.New("soap: message too large")

// readLimited reads all of r, failing if it holds more than max bytes.
func readLimited(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fault.Wrap(fault.BadlyFormedMsg, "message could not be read", err)
	}
	if int64(len(b)) > max {
		return nil, fault.Wrap(fault.BadlyFormedMsg, fmt.Sprintf("message exceeds %d bytes", max), ErrTooLarge)
	}
	return b, nil
}

// parseXML parses b once with etree and enforces the hardening rules
// (DEPENDENCIES.md §2.6): nesting depth, no DTD (so no entity
// declarations; undeclared entity references already fail in the strict
// decoder), no processing instruction other than the XML declaration, UTF-8
// only, exactly one root element, and namespace well-formedness (every
// prefix declared).
func parseXML(b []byte, maxDepth int) (*etree.Document, error) {
	doc := etree.NewDocument()
	doc.ReadSettings = etree.ReadSettings{MaxDepth: maxDepth, CharsetReader: utf8Only}
	if err := doc.ReadFromBytes(b); err != nil {
		if errors.Is(err, etree.ErrMaxDepth) {
			return nil, fault.Wrap(fault.BadlyFormedMsg, fmt.Sprintf("XML nesting exceeds %d levels", maxDepth), err)
		}
		return nil, fault.Wrap(fault.BadlyFormedMsg, "message is not well-formed XML", err)
	}
	if err := checkTopLevel(doc); err != nil {
		return nil, err
	}
	if err := checkTree(doc.Root()); err != nil {
		return nil, err
	}
	return doc, nil
}

func utf8Only(charset string, _ io.Reader) (io.Reader, error) {
	return nil, fmt.Errorf("unsupported XML encoding %q", charset)
}

// checkTopLevel allows, outside the root element, only the XML declaration
// (first), comments and whitespace.
func checkTopLevel(doc *etree.Document) error {
	roots := 0
	for i, t := range doc.Child {
		switch t := t.(type) {
		case *etree.Element:
			roots++
		case *etree.ProcInst:
			if i != 0 || t.Target != "xml" {
				return fault.New(fault.BadlyFormedMsg, "processing instructions are not allowed")
			}
		case *etree.Directive:
			return fault.New(fault.BadlyFormedMsg, "DTDs and directives are not allowed")
		case *etree.CharData:
			if strings.TrimSpace(t.Data) != "" {
				return fault.New(fault.BadlyFormedMsg, "text outside the root element")
			}
		}
	}
	if roots != 1 {
		return fault.New(fault.BadlyFormedMsg, "message must have exactly one root element")
	}
	return nil
}

// checkTree rejects directives and processing instructions inside the tree
// and undeclared namespace prefixes.
func checkTree(e *etree.Element) error {
	if !declared(e, e.Space) {
		return fault.New(fault.BadlyFormedMsg, "undeclared namespace prefix "+e.Space)
	}
	for _, a := range e.Attr {
		if a.Space != "" && a.Space != "xmlns" && !declared(e, a.Space) {
			return fault.New(fault.BadlyFormedMsg, "undeclared namespace prefix "+a.Space)
		}
	}
	for _, t := range e.Child {
		switch t := t.(type) {
		case *etree.Element:
			if err := checkTree(t); err != nil {
				return err
			}
		case *etree.ProcInst:
			return fault.New(fault.BadlyFormedMsg, "processing instructions are not allowed")
		case *etree.Directive:
			return fault.New(fault.BadlyFormedMsg, "DTDs and directives are not allowed")
		}
	}
	return nil
}

// declared reports whether prefix is bound on e or an ancestor ("" and the
// predefined xml prefix always are).
func declared(e *etree.Element, prefix string) bool {
	if prefix == "" || prefix == "xml" {
		return true
	}
	for ; e != nil; e = e.Parent() {
		for _, a := range e.Attr {
			if a.Space == "xmlns" && a.Key == prefix {
				return true
			}
		}
	}
	return false
}
