package soap_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"testing"

	"github.com/opensmd/portal/internal/smd/soap"
	"github.com/opensmd/portal/internal/smd/wire"
	"github.com/opensmd/portal/internal/smd/wire/wiretest"
)

// BenchmarkParseDeliver parses an SMD deliver request whose encrypted
// payload carries n bytes of ciphertext, then reads the deliver body: the
// work the SMD endpoint does before it can answer.
func BenchmarkParseDeliver(b *testing.B) {
	for _, n := range []int{100 << 10, 1 << 20, 10 << 20} {
		sm := wiretest.SealedMessage(wiretest.Rand(1))
		cv := sm.EncryptedPayload.FindElement(".//CipherData/CipherValue")
		cv.SetText(base64.StdEncoding.EncodeToString(make([]byte, n)))
		env, err := soap.Build(&soap.Envelope{
			Header: soap.Header{To: "https://receiver.test/smd", Action: soap.SMDDeliver.RequestAction(), MessageID: "urn:uuid:6f0d1c2e-0000-4000-8000-000000000001"},
			Body:   wire.SMDDeliver{Message: sm}.Element(),
		})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%dKB", n>>10), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(env)))
			for b.Loop() {
				e, err := soap.Parse(bytes.NewReader(env), soap.Limits{})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := wire.ParseSMDDeliver(e.Body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
