package xspp

import (
	"encoding/base64"
	"errors"
	"io"
	"strings"

	"github.com/google/uuid"
)

var errBase64 = errors.New("bad base64")

// EncodeBase64 returns the base64 of src, encoding through a stack buffer
// straight into the result string (one allocation).
func EncodeBase64(src []byte) string {
	var sb strings.Builder
	sb.Grow(base64.StdEncoding.EncodedLen(len(src)))
	var buf [4096]byte
	for len(src) > 0 {
		n := min(len(src), len(buf)/4*3)
		base64.StdEncoding.Encode(buf[:], src[:n])
		sb.Write(buf[:base64.StdEncoding.EncodedLen(n)])
		src = src[n:]
	}
	return sb.String()
}

// DecodeBase64 decodes s, ignoring XML whitespace (xmlsec and others wrap
// base64 text at 64 or 76 columns).
func DecodeBase64(s string) ([]byte, error) {
	out := make([]byte, 0, len(s)/4*3)
	err := b64Chunks(s, hasSpace(s), func(p []byte) error {
		out = append(out, p...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func hasSpace(s string) bool {
	return strings.IndexByte(s, '\n') >= 0 || strings.IndexByte(s, ' ') >= 0 ||
		strings.IndexByte(s, '\r') >= 0 || strings.IndexByte(s, '\t') >= 0
}

// b64Len returns the decoded length of s (whitespace ignored), or false if
// s cannot be padded base64.
func b64Len(s string, spaced bool) (int, bool) {
	n, pad := len(s), 0
	if spaced {
		n = 0
		for i := 0; i < len(s); i++ {
			if !isSpace(s[i]) {
				n++
			}
		}
		s = strings.TrimRight(s, " \t\r\n")
	}
	for i := len(s) - 1; i >= 0 && pad < 2 && s[i] == '='; i-- {
		pad++
	}
	if n%4 != 0 {
		return 0, false
	}
	return n/4*3 - pad, true
}

// b64Chunks decodes s through stack buffers, handing each decoded chunk to
// fn (which may modify it in place). Whitespace is skipped if spaced.
// Nothing may follow padding.
func b64Chunks(s string, spaced bool, fn func([]byte) error) error {
	var in [4096]byte
	var out [3072]byte
	padded := false
	for len(s) > 0 {
		var n int
		if spaced {
			n, s = gatherBase64(in[:], s)
		} else {
			n = copy(in[:], s)
			s = s[n:]
		}
		if n == 0 {
			break
		}
		if padded || n%4 != 0 {
			return errBase64
		}
		m, err := base64.StdEncoding.Decode(out[:], in[:n])
		if err != nil {
			return errBase64
		}
		padded = m < n/4*3
		if err := fn(out[:m]); err != nil {
			return err
		}
	}
	return nil
}

// gatherBase64 copies non-whitespace bytes of s into buf until it is full
// and returns how many it copied and the unread rest of s.
func gatherBase64(buf []byte, s string) (int, string) {
	n, i := 0, 0
	for ; i < len(s) && n < len(buf); i++ {
		if c := s[i]; !isSpace(c) {
			buf[n] = c
			n++
		}
	}
	return n, s[i:]
}

// newID returns an NCName id "_" + UUIDv4 drawn from r (SMD.md §1.4: Java
// uses "_" + UUID; an id starting with a digit breaks .NET).
func newID(r io.Reader) (string, error) {
	u, err := uuid.NewRandomFromReader(r)
	if err != nil {
		return "", err
	}
	return "_" + u.String(), nil
}
