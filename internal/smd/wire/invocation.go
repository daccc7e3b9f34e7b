package wire

import (
	crand "crypto/rand"
	"fmt"
	"io"
)

// NewInvocationID returns "urn:uuid:" followed by a random (version 4)
// UUID read from r, the form the ADHA clients use for invocationId,
// responseId and wsa:MessageID. If r fails, crypto/rand is used instead, so
// the result is always unique; pass a deterministic reader only in tests.
func NewInvocationID(r io.Reader) string {
	var b [16]byte
	if r == nil {
		r = crand.Reader
	}
	if _, err := io.ReadFull(r, b[:]); err != nil {
		_, _ = crand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+).
	}
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
