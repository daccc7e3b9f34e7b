package auth

import (
	_ "embed"
	"strings"
	"sync"
	"unicode"
)

// commonPasswordsText is the 50,000 most common passwords of a 10-million
// password corpus, one per line, as published in Mozilla's
// fxa-common-password-list 0.0.4 (npm; MPL-2.0, see the file's notice in
// NOTICE-common-passwords.md), decoded from its front-coded form.
//
//go:embed common-passwords.txt
var commonPasswordsText string

var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{}, 50000)
	for _, w := range strings.Split(commonPasswordsText, "\n") {
		if w = strings.TrimSpace(w); w != "" {
			set[strings.ToLower(w)] = struct{}{}
		}
	}
	return set
})

// PasswordProblem says what is wrong with a new password, or "" if nothing
// is. It follows NIST SP 800-63B §5.1.1.2: at least 12 characters, no
// composition rules, and refusal of passwords that are common (the shipped
// list, also with digits or symbols added at the ends), repetitive or
// sequential, or built from context: the user's e-mail, name or
// organisation (given as context).
func PasswordProblem(password string, context ...string) string {
	if n := len([]rune(password)); n < 12 {
		return "Use at least 12 characters; a few unrelated words make a strong password."
	}
	if len(password) > 256 {
		return "Use at most 256 characters."
	}
	lower := strings.ToLower(password)
	common := commonPasswords()
	if _, ok := common[lower]; ok {
		return "This password is one of the most common passwords; choose another."
	}
	core := strings.TrimFunc(lower, func(r rune) bool { return unicode.IsDigit(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) })
	if _, ok := common[core]; ok && len(core) >= 6 {
		return "This password is a common password with numbers or symbols added; choose another."
	}
	if repetitive(lower) {
		return "This password is repetitive or sequential; choose another."
	}
	for _, c := range context {
		for _, part := range contextParts(c) {
			if strings.Contains(lower, part) {
				return "Do not build the password from your e-mail address, name or organisation."
			}
		}
	}
	return ""
}

// repetitive reports a password with at most 3 distinct characters, or
// a run up or down the alphabet or the digits (abcdef…, 234567890123…,
// 987654…).
func repetitive(s string) bool {
	r := []rune(s)
	distinct := map[rune]bool{}
	digits := true
	for _, c := range r {
		distinct[c] = true
		digits = digits && c >= '0' && c <= '9'
	}
	if len(distinct) <= 3 {
		return true
	}
	step := func(i int) rune {
		d := r[i] - r[i-1]
		if digits { // 9 → 0 continues a run
			d = (d + 10) % 10
			if d == 9 {
				d = -1
			}
		}
		return d
	}
	first := step(1)
	if first != 1 && first != -1 {
		return false
	}
	for i := 2; i < len(r); i++ {
		if step(i) != first {
			return false
		}
	}
	return true
}

// contextParts splits an e-mail address, name or organisation into the
// lower-case words of at least 4 letters a password must not contain.
func contextParts(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		if len([]rune(f)) >= 4 && f != "example" && f != "health" && f != "clinic" && f != "medical" && f != "centre" {
			out = append(out, f)
		}
	}
	return out
}
