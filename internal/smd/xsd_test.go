package smd_test

import (
	"path/filepath"
	"testing"

	"github.com/opensmd/portal/internal/smd"
	"github.com/opensmd/portal/internal/smd/wire"
	"github.com/opensmd/portal/internal/smd/wire/wiretest"
	"github.com/opensmd/portal/internal/smd/xspp"
)

// TestXSD_RealSealedMessage validates what Seal really emits (not a
// hand-built skeleton) against the official ATS 5822 / XSPP schemas: the
// SMD deliver body around it, the encrypted container, the decrypted signed
// container and the binary-payload wrapper.
func TestXSD_RealSealedMessage(t *testing.T) {
	f := newFixture(t)
	payload := smd.WrapBytes([]byte("MSH|^~\\&|GP|GPFAC|PHYSIO|PHYFAC|20261124||REF^I12|1|P|2.4\r"))
	sm := f.seal(t, payload, f.physio.cert, f.gp.cert)
	xsd := filepath.Join(wiretest.SpecDir(t), "smd-2010", "xsd")

	wiretest.Validate(t, wiretest.WSDLSchema(t, "smd-2010/wsdl/smd-SealedMessageDelivery-Interface-2010.wsdl"), wire.SMDDeliver{Message: sm}.Element())
	wiretest.Validate(t, filepath.Join(xsd, "xsp-EncryptedPayload-2010.xsd"), sm.EncryptedPayload)
	wiretest.Validate(t, filepath.Join(xsd, "smd-Message-2010.xsd"), payload)

	signed, err := xspp.Decrypt(reparse(t, sm).EncryptedPayload, []xspp.KeyPair{{Cert: f.physio.cert, Key: f.physio.key}})
	if err != nil {
		t.Fatal(err)
	}
	wiretest.Validate(t, filepath.Join(xsd, "xsp-SignedPayload-2010.xsd"), signed)
}
