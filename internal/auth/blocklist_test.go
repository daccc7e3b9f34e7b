package auth

import (
	"strings"
	"testing"
)

func TestPasswordProblem(t *testing.T) {
	t.Parallel()
	if n := len(commonPasswords()); n != 50000 {
		t.Fatalf("common password list has %d entries, want 50000", n)
	}
	for _, c := range []struct {
		password string
		context  []string
		want     string // substring; "" = accepted
	}{
		{"short", nil, "at least 12 characters"},
		{strings.Repeat("x", 257), nil, "at most 256"},
		{"1qaz2wsx3edc4rfv", nil, "most common"},
		{"1QAZ2WSX3EDC4RFV", nil, "most common"}, // case does not help
		{"sunshine!!2026", nil, "numbers or symbols added"},
		{"2026!!sunshine", nil, "numbers or symbols added"},
		{"aaaabaaaabaaaab", nil, "repetitive"},
		{"abababababab", nil, "repetitive"},
		{"234567890123", nil, "repetitive"},
		{"zyxwvutsrqpo", nil, "repetitive"},
		{"pat.nguyen welcomes you", []string{"pat.nguyen@riverbend.test"}, "e-mail address, name or organisation"},
		{"go riverbend physio team", []string{"x@y.test", "Sam", "Riverbend Physio"}, "e-mail address, name or organisation"},
		{"kettle orchard lantern", []string{"pat@riverbend.test", "Pat Nguyen", "Riverbend Physio"}, ""},
		{"correct horse battery staple", nil, ""},
		{"ünïcödé päss phrâse", nil, ""},
	} {
		got := PasswordProblem(c.password, c.context...)
		if c.want == "" && got != "" || c.want != "" && !strings.Contains(got, c.want) {
			t.Errorf("PasswordProblem(%.20q) = %q, want %q", c.password, got, c.want)
		}
	}
}
