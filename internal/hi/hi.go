// Package hi validates Australian Healthcare Identifiers (HI Service): the
// 16-digit HPI-O, HPI-I and IHI numbers, whose 6-digit prefix names the kind
// and whose last digit is a Luhn check digit (ISO/IEC 7812).
package hi

import (
	"fmt"
	"strings"
)

// Kind is the identifier kind, named by its 6-digit prefix.
type Kind string

// Identifier kinds and their prefixes.
const (
	HPIO Kind = "800362"
	HPII Kind = "800361"
	IHI  Kind = "800360"
)

func (k Kind) String() string {
	switch k {
	case HPIO:
		return "HPI-O"
	case HPII:
		return "HPI-I"
	case IHI:
		return "IHI"
	}
	return "identifier"
}

// Validate checks s (spaces allowed between digit groups) and returns the 16
// digits. Errors are sentences for a person filling in a form.
func Validate(k Kind, s string) (string, error) {
	d := strings.ReplaceAll(strings.TrimSpace(s), " ", "")
	if len(d) != 16 {
		return "", fmt.Errorf("An %s has 16 digits; this one has %d.", k, len(d))
	}
	for _, r := range d {
		if r < '0' || r > '9' {
			return "", fmt.Errorf("An %s contains digits only.", k)
		}
	}
	if !strings.HasPrefix(d, string(k)) {
		return "", fmt.Errorf("An %s starts with %s.", k, string(k))
	}
	if !Luhn(d) {
		return "", fmt.Errorf("This is not a valid %s: its check digit (the last digit) does not match. Please re-check the number.", k)
	}
	return d, nil
}

// Luhn reports whether the digit string passes the Luhn check.
func Luhn(d string) bool {
	sum := 0
	double := false
	for i := len(d) - 1; i >= 0; i-- {
		n := int(d[i] - '0')
		if double {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
		double = !double
	}
	return sum%10 == 0
}

// WithCheckDigit appends the Luhn check digit to a 15-digit body; used to
// make valid test and demo identifiers.
func WithCheckDigit(body string) string {
	for c := byte('0'); c <= '9'; c++ {
		if Luhn(body + string(c)) {
			return body + string(c)
		}
	}
	return body
}

// Format groups the 16 digits in fours for display: 8003 6200 0000 0013.
func Format(d string) string {
	if len(d) != 16 {
		return d
	}
	return d[0:4] + " " + d[4:8] + " " + d[8:12] + " " + d[12:16]
}
