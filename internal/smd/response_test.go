package smd_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/opensmd/portal/internal/smd"
	"github.com/opensmd/portal/internal/smd/fault"
	"github.com/opensmd/portal/internal/smd/wire"
	"github.com/opensmd/portal/internal/smd/xspp"
)

func TestTransportResponses(t *testing.T) {
	f := newFixture(t)
	sm := reparse(t, f.seal(t, smd.WrapBytes([]byte("x")), f.physio.cert))
	o, err := smd.Open(sm, smd.OpenOptions{Keys: []xspp.KeyPair{{Cert: f.physio.cert, Key: f.physio.key}}, Trust: f.verifier})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ok := smd.SuccessResponse(o, physioURI, now, "urn:uuid:1")
	if ok.DeliveryResponse.ResponseClass != wire.ClassSuccess || !ok.Final || !bytes.Equal(ok.DeliveryResponse.DigestValue, o.DigestValue) ||
		ok.Metadata.InvocationID != sm.Metadata.InvocationID || ok.Metadata.SenderOrganisation != gpURI {
		t.Fatalf("success response: %+v", ok)
	}
	acc := smd.AcceptedResponse(sm.Metadata, physioURI, now, "urn:uuid:2")
	if acc.Final || acc.DeliveryResponse.ResponseClass != wire.ClassInformation {
		t.Fatalf("accepted response: %+v", acc)
	}
	cases := map[string]struct {
		err  error
		code string
	}{
		"decrypt":  {fault.Wrap(fault.BadEncryption, "x", errors.New("secret detail")), wire.ResponseCodeDecryptionFailed},
		"sig":      {fault.New(fault.BadSignature, "x"), wire.ResponseCodeSignatureInvalid},
		"cert":     {fault.New(fault.NotAuthorised, "x"), wire.ResponseCodeCertificateRejected},
		"expired":  {fault.New(fault.BadTimestamp, "x"), wire.ResponseCodeExpired},
		"internal": {errors.New("database on fire"), wire.ResponseCodeUndeliverable},
	}
	for name, c := range cases {
		r := smd.ErrorResponse(sm.Metadata, physioURI, c.err, now, "urn:uuid:3")
		if r.DeliveryResponse.ResponseCode != c.code || r.DeliveryResponse.ResponseClass != wire.ClassError || !r.Final || r.DeliveryResponse.DigestValue != nil {
			t.Errorf("%s: %+v", name, r.DeliveryResponse)
		}
		if bytes.Contains([]byte(r.DeliveryResponse.Message), []byte("detail")) || bytes.Contains([]byte(r.DeliveryResponse.Message), []byte("fire")) {
			t.Errorf("%s: internal detail leaked: %q", name, r.DeliveryResponse.Message)
		}
	}
}
