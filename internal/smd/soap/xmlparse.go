package soap

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/beevik/etree"

	"github.com/opensmd/portal/internal/smd/fault"
	"github.com/opensmd/portal/internal/smd/safexml"
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

// parseXML parses b once with safexml (no DTDs or entities, every prefix
// declared, UTF-8 only, bounded attributes and namespaces) and adds the
// SOAP rules (DEPENDENCIES.md §2.6): nesting depth within maxDepth, no
// processing instruction other than the XML declaration, exactly one root
// element.
func parseXML(b []byte, maxDepth int) (*etree.Document, error) {
	doc, err := safexml.Parse(b)
	if err != nil {
		return nil, err
	}
	if err := checkTopLevel(doc); err != nil {
		return nil, err
	}
	if err := checkTree(doc.Root(), 1, maxDepth); err != nil {
		return nil, err
	}
	return doc, nil
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

// checkTree rejects processing instructions inside the tree and nesting
// deeper than maxDepth.
func checkTree(e *etree.Element, depth, maxDepth int) error {
	if depth > maxDepth {
		return fault.New(fault.BadlyFormedMsg, fmt.Sprintf("XML nesting exceeds %d levels", maxDepth))
	}
	for _, t := range e.Child {
		switch t := t.(type) {
		case *etree.Element:
			if err := checkTree(t, depth+1, maxDepth); err != nil {
				return err
			}
		case *etree.ProcInst:
			return fault.New(fault.BadlyFormedMsg, "processing instructions are not allowed")
		}
	}
	return nil
}
