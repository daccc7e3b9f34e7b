package auth

import (
	"strings"
	"testing"
	"time"
)

func TestPassword_HashAndCheck(t *testing.T) {
	h, err := HashPassword("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=1,p=4$") {
		t.Fatalf("unexpected hash format %q", h)
	}
	if err := CheckPassword(h, "correct horse battery staple"); err != nil {
		t.Fatalf("right password rejected: %v", err)
	}
	if err := CheckPassword(h, "correct horse battery stapler"); err != ErrPasswordMismatch {
		t.Fatalf("wrong password: got %v", err)
	}
	h2, _ := HashPassword("correct horse battery staple")
	if h == h2 {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
	if err := CheckPassword("$2a$10$bcrypt", "x"); err == nil {
		t.Fatal("foreign hash format accepted")
	}
}

func TestTOTP_StepAndReplayWindow(t *testing.T) {
	e, err := NewTOTP("gp@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(e.QRImage, "data:image/png;base64,") || !strings.HasPrefix(e.URL, "otpauth://totp/") {
		t.Fatalf("enrolment %+v", e)
	}
	now := time.Unix(1_800_000_000, 0)
	code, err := TOTPCode(e.Secret, now)
	if err != nil {
		t.Fatal(err)
	}
	step, ok := TOTPStep(e.Secret, code, now)
	if !ok || step != now.Unix()/30 {
		t.Fatalf("current code: ok=%v step=%d", ok, step)
	}
	if _, ok := TOTPStep(e.Secret, code, now.Add(30*time.Second)); !ok {
		t.Fatal("code from previous step rejected despite skew 1")
	}
	if _, ok := TOTPStep(e.Secret, code, now.Add(2*time.Minute)); ok {
		t.Fatal("stale code accepted")
	}
	again, err := EnrolmentFor(e.Secret, "gp@example.org")
	if err != nil || again.Secret != e.Secret {
		t.Fatalf("EnrolmentFor: %v %q", err, again.Secret)
	}
	if _, ok := TOTPStep(e.Secret, "12345", now); ok {
		t.Fatal("short code accepted")
	}
}

func TestRecoveryCodes(t *testing.T) {
	codes, hashes, err := NewRecoveryCodes(10)
	if err != nil || len(codes) != 10 || len(hashes) != 10 {
		t.Fatalf("codes=%d hashes=%d err=%v", len(codes), len(hashes), err)
	}
	if HashRecoveryCode(strings.ToUpper(codes[0])) != hashes[0] {
		t.Fatal("hash not case-insensitive")
	}
	if HashRecoveryCode(strings.ReplaceAll(codes[0], "-", "")) != hashes[0] {
		t.Fatal("hash not dash-insensitive")
	}
}
