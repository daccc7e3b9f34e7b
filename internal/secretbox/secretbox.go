// Package secretbox derives purpose-specific keys from the portal's master
// secret and seals small secrets at rest (TOTP secrets, organisation private
// keys) with AES-256-GCM bound to the row they belong to.
package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// DeriveKey derives a 32-byte purpose-specific key from the master secret
// (HKDF-SHA256), so one configured secret yields independent keys for
// cookies, TOTP secrets and private keys.
func DeriveKey(master []byte, purpose string) []byte {
	k, err := hkdf.Key(sha256.New, master, nil, "opensmd portal "+purpose, 32)
	if err != nil {
		panic(err) // only on an invalid length, which is a constant here
	}
	return k
}

// Sealer encrypts small secrets at rest with AES-256-GCM. The additional
// data binds a ciphertext to its row so it cannot be swapped to another.
type Sealer struct{ aead cipher.AEAD }

// NewSealer returns a Sealer keyed by a 32-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("sealer: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("sealer: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plaintext bound to ad.
func (s *Sealer) Seal(plaintext, ad []byte) []byte {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plaintext)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return s.aead.Seal(nonce, nonce, plaintext, ad)
}

// Open decrypts a value made by Seal with the same ad.
func (s *Sealer) Open(sealed, ad []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return nil, errors.New("sealer: ciphertext too short")
	}
	pt, err := s.aead.Open(nil, sealed[:n], sealed[n:], ad)
	if err != nil {
		return nil, errors.New("sealer: cannot decrypt (wrong key or tampered value)")
	}
	return pt, nil
}
