package xspp

import (
	"encoding/base64"
	"fmt"
	"testing"

	"github.com/beevik/etree"
	"github.com/opensmd/portal/internal/smd/safexml"
)

// benchSizes are the payload sizes (bytes of base64 text in msg:data).
var benchSizes = []int{10 << 10, 100 << 10, 1 << 20, 10 << 20}

func sizeName(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%dMB", n>>20)
	}
	return fmt.Sprintf("%dKB", n>>10)
}

// benchPayload is <msg:message><msg:data>BASE64</msg:data></msg:message>
// whose base64 text is n bytes long.
func benchPayload(n int) string {
	raw := make([]byte, base64.StdEncoding.DecodedLen(n))
	detRand(9).Read(raw)
	return base64.StdEncoding.EncodeToString(raw)[:n]
}

// benchSeal is Sign + Encrypt of a prepared payload element.
func benchSeal(b *testing.B, f *fixtures, payload *etree.Element) *etree.Element {
	sp, err := Sign(payload, []Signer{f.Sender.signer()}, SignOptions{})
	if err != nil {
		b.Fatal(err)
	}
	ep, err := Encrypt(sp, f.Recipient.certs(), EncryptOptions{})
	if err != nil {
		b.Fatal(err)
	}
	return ep
}

// benchOpen is Decrypt + Verify of a received ep:encryptedPayload element.
func benchOpen(b *testing.B, f *fixtures, ep *etree.Element) {
	sp, err := Decrypt(ep, f.Recipient.pair())
	if err != nil {
		b.Fatal(err)
	}
	if _, err := Verify(sp); err != nil {
		b.Fatal(err)
	}
}

// toWire and fromWire add what the SOAP layer does around the API calls.
func toWire(b *testing.B, ep *etree.Element) []byte {
	out, err := safexml.Canonicalize(ep)
	if err != nil {
		b.Fatal(err)
	}
	return out
}

func fromWire(b *testing.B, in []byte) *etree.Element {
	doc, err := safexml.Parse(in)
	if err != nil {
		b.Fatal(err)
	}
	return doc.Root()
}

func BenchmarkSignEncrypt(b *testing.B) {
	f := loadFixtures(b)
	for _, n := range benchSizes {
		payload := message(benchPayload(n))
		b.Run(sizeName(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				benchSeal(b, f, payload)
			}
		})
	}
}

func BenchmarkDecryptVerify(b *testing.B) {
	f := loadFixtures(b)
	for _, n := range benchSizes {
		ep := benchSeal(b, f, message(benchPayload(n)))
		b.Run(sizeName(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				benchOpen(b, f, ep)
			}
		})
	}
}

// BenchmarkSealOpen is Sign+Encrypt+Decrypt+Verify (the API calls only).
func BenchmarkSealOpen(b *testing.B) {
	f := loadFixtures(b)
	for _, n := range benchSizes {
		payload := message(benchPayload(n))
		b.Run(sizeName(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				benchOpen(b, f, benchSeal(b, f, payload))
			}
		})
	}
}

// BenchmarkSealOpenWire adds serializing the encrypted container to bytes
// and parsing it back with safexml.Parse (what the SOAP layer adds).
func BenchmarkSealOpenWire(b *testing.B) {
	f := loadFixtures(b)
	for _, n := range benchSizes {
		payload := message(benchPayload(n))
		b.Run(sizeName(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				benchOpen(b, f, fromWire(b, toWire(b, benchSeal(b, f, payload))))
			}
		})
	}
}
