package secretbox

import (
	"strings"
	"testing"
)

func TestSealer(t *testing.T) {
	s, err := NewSealer(DeriveKey([]byte(strings.Repeat("k", 32)), "totp"))
	if err != nil {
		t.Fatal(err)
	}
	ct := s.Seal([]byte("JBSWY3DPEHPK3PXP"), []byte("user-1"))
	pt, err := s.Open(ct, []byte("user-1"))
	if err != nil || string(pt) != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("open: %q %v", pt, err)
	}
	if _, err := s.Open(ct, []byte("user-2")); err == nil {
		t.Fatal("ciphertext opened with another row's additional data")
	}
	ct[len(ct)-1] ^= 1
	if _, err := s.Open(ct, []byte("user-1")); err == nil {
		t.Fatal("tampered ciphertext opened")
	}
	if string(DeriveKey([]byte("m"), "a")) == string(DeriveKey([]byte("m"), "b")) {
		t.Fatal("purposes share a key")
	}
}
