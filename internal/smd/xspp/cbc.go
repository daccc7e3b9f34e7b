package xspp

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"io"
	"strings"

	"github.com/beevik/etree"
	"github.com/opensmd/portal/internal/smd/safexml"
)

// AES-CBC streaming, so that neither the plaintext nor the raw ciphertext
// of a large payload is ever held as a separate buffer: Encrypt goes
// c14n → CBC → base64 → CipherValue string, Decrypt goes CipherValue →
// base64 → CBC → plaintext string (which the parser then slices).

// chunk is a multiple of both the AES block size and 3 (base64 groups).
const chunk = 3072

// cbcSealer is an io.Writer that CBC-encrypts what it is given and
// base64-encodes IV || ciphertext into sb.
type cbcSealer struct {
	mode  cipher.BlockMode
	sb    strings.Builder
	buf   [chunk + aes.BlockSize]byte
	n     int
	skipN int // leading bytes of buf not to encrypt (the IV)
}

// sealCBC returns base64(IV || AES-CBC(c14n(el) || padding)).
func sealCBC(el *etree.Element, block cipher.Block, rnd io.Reader) (string, error) {
	c := &cbcSealer{n: aes.BlockSize, skipN: aes.BlockSize}
	if _, err := io.ReadFull(rnd, c.buf[:aes.BlockSize]); err != nil {
		return "", err
	}
	c.mode = cipher.NewCBCEncrypter(block, c.buf[:aes.BlockSize])
	c.sb.Grow(base64.StdEncoding.EncodedLen(safexml.SizeHint(el, 0) + 2*aes.BlockSize))
	if err := safexml.WriteCanonical(c, el); err != nil {
		return "", err
	}
	c.close()
	return c.sb.String(), nil
}

func (c *cbcSealer) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 {
		k := copy(c.buf[c.n:chunk], p)
		c.n += k
		p = p[k:]
		if c.n == chunk {
			c.flush()
		}
	}
	return total, nil
}

// flush encrypts and encodes buf[:n]; n is a multiple of the block size.
func (c *cbcSealer) flush() {
	c.mode.CryptBlocks(c.buf[c.skipN:c.n], c.buf[c.skipN:c.n])
	var out [(chunk + aes.BlockSize + 2) / 3 * 4]byte
	base64.StdEncoding.Encode(out[:], c.buf[:c.n])
	c.sb.Write(out[:base64.StdEncoding.EncodedLen(c.n)])
	c.n, c.skipN = 0, 0
}

// close adds PKCS#7-style padding (XML Encryption §5.2 only requires the
// last byte to give the length) and flushes.
func (c *cbcSealer) close() {
	pad := aes.BlockSize - (c.n-c.skipN)%aes.BlockSize
	for range pad {
		c.buf[c.n] = byte(pad)
		c.n++
	}
	c.flush()
}

// openCBC decrypts base64(IV || AES-CBC ciphertext) into a string and
// strips the padding. ok is false on any failure; callers must not
// distinguish failures.
func openCBC(block cipher.Block, cv string) (string, bool) {
	bs := aes.BlockSize
	spaced := hasSpace(cv)
	// Length checks first: at least IV + one block, whole blocks only.
	total, ok := b64Len(cv, spaced)
	if !ok || total < 2*bs || total%bs != 0 {
		return "", false
	}
	var sb strings.Builder
	sb.Grow(total - bs)
	var iv, pend [aes.BlockSize]byte
	ivN, pendN := 0, 0
	var mode cipher.BlockMode
	err := b64Chunks(cv, spaced, func(p []byte) error {
		if ivN < bs {
			k := copy(iv[ivN:], p)
			ivN, p = ivN+k, p[k:]
			if ivN < bs {
				return nil
			}
			mode = cipher.NewCBCDecrypter(block, iv[:])
		}
		if pendN > 0 {
			k := copy(pend[pendN:], p)
			pendN, p = pendN+k, p[k:]
			if pendN < bs {
				return nil
			}
			mode.CryptBlocks(pend[:], pend[:])
			sb.Write(pend[:])
			pendN = 0
		}
		full := len(p) &^ (bs - 1)
		mode.CryptBlocks(p[:full], p[:full])
		sb.Write(p[:full])
		pendN = copy(pend[:], p[full:])
		return nil
	})
	if err != nil || pendN != 0 || sb.Len() != total-bs {
		return "", false
	}
	s := sb.String()
	// XML Encryption §5.2: only the last byte (the pad length) is defined.
	pad := int(s[len(s)-1])
	if pad == 0 || pad > bs {
		return "", false
	}
	return s[:len(s)-pad], true
}
