package fhirpd

import (
	"fmt"
	"strings"
)

// Problem is one finding. Entry is the 0-based Bundle.entry index, or -1
// for the bundle as a whole.
type Problem struct {
	Entry    int
	Resource string
	ID       string
	Path     string
	Message  string
}

func (p Problem) String() string {
	var b strings.Builder
	if p.Entry >= 0 {
		fmt.Fprintf(&b, "entry %d", p.Entry)
	} else {
		b.WriteString("bundle")
	}
	if p.Resource != "" {
		fmt.Fprintf(&b, " %s/%s", p.Resource, p.ID)
	}
	if p.Path != "" {
		fmt.Fprintf(&b, " %s", p.Path)
	}
	fmt.Fprintf(&b, ": %s", p.Message)
	return b.String()
}

// ValidationError lists every problem that stopped a bundle.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	if len(e.Problems) == 0 {
		return "fhirpd: invalid bundle"
	}
	s := "fhirpd: " + e.Problems[0].String()
	if n := len(e.Problems) - 1; n > 0 {
		s += fmt.Sprintf(" (and %d more problem(s))", n)
	}
	return s
}
