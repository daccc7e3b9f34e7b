package wire_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/opensmd/portal/internal/smd/wire"
	"github.com/opensmd/portal/internal/smd/wire/wiretest"
)

// TestGolden pins the exact serialisation (namespaces, prefixes, element
// order, time format) of every structure.
func TestGolden(t *testing.T) {
	for _, c := range cases() {
		t.Run(c.name, func(t *testing.T) {
			golden(t, serialize(t, c.build()))
		})
	}
}

// TestXSD validates every emitted structure with xmllint against the
// official schemas: operation bodies and fault details against the schema
// embedded in their interface WSDL, se:standardError against
// wsp-StandardError-2010.xsd.
func TestXSD(t *testing.T) {
	wiretest.Xmllint(t)
	schemas := map[string]string{}
	for _, c := range cases() {
		if _, ok := schemas[c.schema]; !ok {
			schemas[c.schema] = schemaPath(t, c.schema)
		}
	}
	for _, c := range cases() {
		t.Run(c.name, func(t *testing.T) {
			wiretest.ValidateBytes(t, schemas[c.schema], serialize(t, c.build()))
		})
	}
}

// TestXSD_StandalonePieces validates the context-named types built
// detached with AppendTo(nil, ...), inside a wrapper of the schema.
func TestXSD_StandalonePieces(t *testing.T) {
	r := wiretest.Rand(9)
	msg := wiretest.SealedMessage(r)
	// A SealedMessage built on its own, then placed into smd:deliver, must
	// still be valid and keep its namespace bindings.
	el := msg.AppendTo(nil, "http://ns.electronichealth.net.au/smd/svc/SealedMessageDelivery/2010", "message")
	deliver := wire.SMDDeliver{}.Element()
	deliver.RemoveChildAt(0)
	deliver.AddChild(el)
	wiretest.ValidateBytes(t, schemaPath(t, wsdlSMD), compact(t, deliver))
	got, err := wire.ParseSMDDeliver(reparse(t, compact(t, deliver)))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(msg, got.Message, elementEq); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

// TestRoundTrip builds every structure, serialises it, parses it back and
// expects the same Go value.
func TestRoundTrip(t *testing.T) {
	for _, c := range cases() {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.parse(reparse(t, compact(t, c.build())))
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if diff := cmp.Diff(c.value, got, elementEq); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseServiceError dispatches every fault detail to its type.
func TestParseServiceError(t *testing.T) {
	for _, c := range cases() {
		want, ok := c.value.(wire.ServiceError)
		if !ok {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			got, err := wire.ParseServiceError(reparse(t, compact(t, want.Element())))
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if got.FaultName() == "" || got.Error() == "" {
				t.Error("empty FaultName or Error")
			}
		})
	}
	if _, err := wire.ParseServiceError(reparse(t, []byte(`<x xmlns="urn:x"/>`))); err == nil {
		t.Error("unknown detail element accepted")
	}
}
