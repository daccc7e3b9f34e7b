package hi

import (
	"errors"
	"strings"
)

// medicareWeights weigh digits 1 to 8 of a Medicare card number; the sum
// modulo 10 is digit 9 (Services Australia's published check).
var medicareWeights = [8]int{1, 3, 7, 9, 1, 3, 7, 9}

// Medicare checks a Medicare card number: 10 digits (identifier of 8
// starting 2 to 6, check digit, issue number), optionally followed by the
// patient's 1-digit reference number (IRN). Spaces are allowed between
// groups. It returns the digits; errors are sentences for a form.
func Medicare(s string) (string, error) {
	d := strings.ReplaceAll(strings.TrimSpace(s), " ", "")
	for _, r := range d {
		if r < '0' || r > '9' {
			return "", errors.New("A Medicare number contains digits only.")
		}
	}
	if len(d) != 10 && len(d) != 11 {
		return "", errors.New("A Medicare number has 10 digits (11 with the patient's reference number).")
	}
	if d[0] < '2' || d[0] > '6' {
		return "", errors.New("A Medicare number starts with 2, 3, 4, 5 or 6.")
	}
	if d[8] != MedicareCheckDigit(d[:8]) {
		return "", errors.New("This is not a valid Medicare number: its check digit (the 9th digit) does not match. Please re-check the card.")
	}
	return d, nil
}

// MedicareCheckDigit is the check digit of the first 8 digits of a
// Medicare number.
func MedicareCheckDigit(first8 string) byte {
	sum := 0
	for i := 0; i < 8 && i < len(first8); i++ {
		sum += int(first8[i]-'0') * medicareWeights[i]
	}
	return byte('0' + sum%10)
}
