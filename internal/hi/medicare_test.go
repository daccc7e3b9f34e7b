package hi

import (
	"strings"
	"testing"
)

func TestMedicare(t *testing.T) {
	scenarios := []struct {
		in, want, wantErr string
	}{
		{"2123456701", "2123456701", ""}, // 2+3+14+27+4+15+42+63 = 170: check digit 0
		{"2123 45670 1", "2123456701", ""},
		{"21234567011", "21234567011", ""}, // with the reference number
		{"2123456711", "", "check digit"},
		{"2123456", "", "10 digits"},
		{"212345670123", "", "10 digits"},
		{"7123456701", "", "starts with 2"},
		{"1123456701", "", "starts with 2"},
		{"21234567O1", "", "digits only"},
	}
	for _, s := range scenarios {
		got, err := Medicare(s.in)
		switch {
		case s.wantErr == "" && (err != nil || got != s.want):
			t.Errorf("Medicare(%q) = %q, %v; want %q", s.in, got, err, s.want)
		case s.wantErr != "" && (err == nil || !strings.Contains(err.Error(), s.wantErr)):
			t.Errorf("Medicare(%q) = %v, want error containing %q", s.in, err, s.wantErr)
		}
	}
	if c := MedicareCheckDigit("39501234"); c != '0'+byte((3+27+35+0+1+6+21+36)%10) {
		t.Errorf("check digit of 39501234 = %c", c)
	}
}
