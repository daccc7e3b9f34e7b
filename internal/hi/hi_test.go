package hi

import (
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	good := WithCheckDigit("800362000000000")
	scenarios := []struct {
		kind    Kind
		in      string
		wantErr string
	}{
		{HPIO, good, ""},
		{HPIO, good[:4] + " " + good[4:8] + " " + good[8:12] + " " + good[12:], ""},
		{HPIO, "8003627500000328", ""}, // published sample identifiers (shared/fixtures)
		{HPII, "8003610833334085", ""},
		{HPIO, "8003620833333783", "check digit"}, // ADHA MDM sample: not a valid HPI-O
		{IHI, "8003605679672853", ""},
		{HPIO, "800362000000000", "16 digits"},
		{HPIO, "80036200000000x4", "digits only"},
		{HPIO, WithCheckDigit("800361000000000"), "starts with 800362"},
		{HPIO, good[:15] + string('0'+(good[15]-'0'+1)%10), "check digit"},
		{HPII, WithCheckDigit("800361234567890"), ""},
	}
	for _, s := range scenarios {
		_, err := Validate(s.kind, s.in)
		switch {
		case s.wantErr == "" && err != nil:
			t.Errorf("Validate(%s, %q) = %v", s.kind, s.in, err)
		case s.wantErr != "" && (err == nil || !strings.Contains(err.Error(), s.wantErr)):
			t.Errorf("Validate(%s, %q) = %v, want error containing %q", s.kind, s.in, err, s.wantErr)
		}
	}
}
