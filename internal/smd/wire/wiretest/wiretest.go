// Package wiretest provides deterministic SMD fixtures and XSD validation
// with xmllint for the tests of the SMD wire and SOAP packages. It is meant
// for tests only.
package wiretest

import (
	"encoding/base64"
	"io"
	"math/rand/v2"
	"time"

	"github.com/beevik/etree"

	"github.com/opensmd/portal/internal/smd/ns"
	"github.com/opensmd/portal/internal/smd/wire"
)

// Clock is the fixed instant used by fixtures and golden files.
var Clock = time.Date(2025, 3, 14, 1, 2, 3, 456_000_000, time.UTC)

// Rand returns a deterministic byte stream for seed.
func Rand(seed uint64) io.Reader {
	var s [32]byte
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	return rand.NewChaCha8(s)
}

// Identifiers used by the fixtures.
const (
	SenderHPIO   = ns.QualifierHPIO + "8003620000000004"
	ReceiverHPIO = ns.QualifierHPIO + "8003620833333789"
	ProviderHPIO = ns.QualifierHPIO + "8003629900000011"
	ReceiverHPII = ns.QualifierHPII + "8003610000000001"
	ServiceCat   = "http://ns.hl7.org.au/hl7v2/profiles/HL7AU-OO-REF-SIMPLIFIED-201706"
	TRDEndpoint  = "https://sender.example/smd/trd"
)

// CertPEM is a placeholder PEM body for certRef values.
const CertPEM = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"

// Metadata returns SMD metadata with every optional element set, one
// routeRecord with a certRef, and one otherTransportMetadata entry.
func Metadata(r io.Reader) wire.MessageMetadata {
	return wire.MessageMetadata{
		CreationTime:         Clock,
		ExpiryTime:           Clock.Add(72 * time.Hour),
		InvocationID:         wire.NewInvocationID(r),
		ReceiverIndividual:   ReceiverHPII,
		ReceiverOrganisation: ReceiverHPIO,
		SenderIndividual:     ns.QualifierHPII + "8003610000000002",
		SenderOrganisation:   SenderHPIO,
		ServiceCategory:      ServiceCat,
		ServiceInterface:     ns.IntfSMD,
		RouteRecord: []wire.RouteRecordEntry{{
			SendIntermediateResponses: true,
			Interaction:               RouteInteraction(),
		}},
		OtherTransportMetadata: []wire.OtherTransportMetadataEntry{
			{MetadataType: "urn:opensmd:test:metadata", MetadataValue: "value & <text>"},
		},
	}
}

// RouteInteraction returns the sender's TRD interaction with a PEM certRef.
func RouteInteraction() wire.Interaction {
	return wire.Interaction{
		Target:           SenderHPIO,
		ServiceCategory:  ns.ServiceCategoryTRD,
		ServiceInterface: ns.IntfTRD,
		ServiceEndpoint:  TRDEndpoint,
		ServiceProvider:  ProviderHPIO,
		CertRefs: []wire.CertRef{{
			UseQualifier: ns.CertUsePayloadKeyEnc,
			Type:         ns.CertRefTypePEM,
			Value:        CertPEM,
		}},
	}
}

// EncryptedPayload returns a schema-valid ep:encryptedPayload skeleton
// (xsp-EncryptedPayload-2010.xsd with xenc:EncryptedKey and
// xenc:EncryptedData) filled with random bytes from r. It is not a real
// ciphertext.
func EncryptedPayload(r io.Reader) *etree.Element {
	b64 := func(n int) string {
		buf := make([]byte, n)
		_, _ = io.ReadFull(r, buf)
		return base64.StdEncoding.EncodeToString(buf)
	}
	id := "_" + wire.NewInvocationID(r)[len("urn:uuid:"):]
	ep := etree.NewElement("ep:encryptedPayload")
	ep.CreateAttr("xmlns:ep", ns.EncryptedPayload)
	ep.CreateAttr("xmlns:xenc", ns.XEnc)
	ep.CreateAttr("xmlns:ds", ns.DSig)
	ek := ep.CreateElement("ep:keys").CreateElement("xenc:EncryptedKey")
	ek.CreateElement("xenc:EncryptionMethod").CreateAttr("Algorithm", ns.XEnc+"rsa-1_5")
	ek.CreateElement("ds:KeyInfo").CreateElement("ds:X509Data").CreateElement("ds:X509SKI").SetText(b64(20))
	ek.CreateElement("xenc:CipherData").CreateElement("xenc:CipherValue").SetText(b64(256))
	ek.CreateElement("xenc:ReferenceList").CreateElement("xenc:DataReference").CreateAttr("URI", "#"+id)
	ed := ep.CreateElement("ep:encryptedPayloadData").CreateElement("xenc:EncryptedData")
	ed.CreateAttr("Id", id)
	ed.CreateAttr("Type", ns.XEnc+"Element")
	ed.CreateElement("xenc:EncryptionMethod").CreateAttr("Algorithm", ns.XEnc+"aes256-cbc")
	ed.CreateElement("xenc:CipherData").CreateElement("xenc:CipherValue").SetText(b64(64))
	return ep
}

// SealedMessage returns a sealed message with Metadata and EncryptedPayload.
func SealedMessage(r io.Reader) wire.SealedMessage {
	return wire.SealedMessage{Metadata: Metadata(r), EncryptedPayload: EncryptedPayload(r)}
}

// TransportResponse returns a final Success transport response about m.
func TransportResponse(r io.Reader, m wire.MessageMetadata) wire.TransportResponse {
	tr := wire.NewTransportResponse(m, ReceiverHPIO, wire.ClassSuccess, wire.ResponseCodeSuccess,
		"Message delivered", []byte("0123456789abcdefghij"), true, Clock.Add(time.Minute), wire.NewInvocationID(r))
	tr.Metadata.OtherTransportMetadata = []wire.OtherTransportMetadataEntry{
		{MetadataType: "urn:opensmd:test:tr", MetadataValue: "x"},
	}
	return tr
}
