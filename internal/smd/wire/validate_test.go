package wire_test

import (
	"testing"
	"time"

	"github.com/opensmd/portal/internal/smd/fault"
	"github.com/opensmd/portal/internal/smd/ns"
	"github.com/opensmd/portal/internal/smd/wire"
	"github.com/opensmd/portal/internal/smd/wire/wiretest"
)

func TestMessageMetadata_ValidateForSMD(t *testing.T) {
	tests := []struct {
		name   string
		modify func(m *wire.MessageMetadata)
		ok     bool
	}{
		{"Valid", func(*wire.MessageMetadata) {}, true},
		{"NoRouteRecord", func(m *wire.MessageMetadata) { m.RouteRecord = nil }, true},
		{"WrongInterface", func(m *wire.MessageMetadata) { m.ServiceInterface = ns.IntfSIMD }, false},
		{"NoInvocationID", func(m *wire.MessageMetadata) { m.InvocationID = "" }, false},
		{"NoReceiver", func(m *wire.MessageMetadata) { m.ReceiverOrganisation = "" }, false},
		{"NoCreationTime", func(m *wire.MessageMetadata) { m.CreationTime = time.Time{} }, false},
		{"ExpiryBeforeCreation", func(m *wire.MessageMetadata) { m.ExpiryTime = m.CreationTime.Add(-time.Second) }, false},
		{"RouteNotTRD", func(m *wire.MessageMetadata) { m.RouteRecord[0].Interaction.ServiceInterface = ns.IntfSMD }, false},
		{"RouteNoEndpoint", func(m *wire.MessageMetadata) { m.RouteRecord[0].Interaction.ServiceEndpoint = "" }, false},
		{"RouteNoProvider", func(m *wire.MessageMetadata) { m.RouteRecord[0].Interaction.ServiceProvider = "" }, false},
		{"CertRefIncomplete", func(m *wire.MessageMetadata) { m.RouteRecord[0].Interaction.CertRefs[0].Value = "" }, false},
		{"OtherMetadataNoType", func(m *wire.MessageMetadata) { m.OtherTransportMetadata[0].MetadataType = "" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := wiretest.Metadata(wiretest.Rand(5))
			tt.modify(&m)
			checkValidation(t, m.ValidateForSMD(), tt.ok)
		})
	}
}

func TestMessageMetadata_ValidateForSIMD(t *testing.T) {
	base := func() wire.MessageMetadata {
		m := wiretest.Metadata(wiretest.Rand(6))
		m.ServiceInterface = ns.IntfSIMD
		m.RouteRecord = nil
		return m
	}
	tests := []struct {
		name   string
		modify func(m *wire.MessageMetadata)
		ok     bool
	}{
		{"Valid", func(*wire.MessageMetadata) {}, true},
		{"WithRouteRecord", func(m *wire.MessageMetadata) {
			m.RouteRecord = []wire.RouteRecordEntry{{Interaction: wiretest.RouteInteraction()}}
		}, false},
		{"SMDInterface", func(m *wire.MessageMetadata) { m.ServiceInterface = ns.IntfSMD }, false},
		{"NoSender", func(m *wire.MessageMetadata) { m.SenderOrganisation = "" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := base()
			tt.modify(&m)
			checkValidation(t, m.ValidateForSIMD(), tt.ok)
		})
	}
}

func checkValidation(t *testing.T, err error, ok bool) {
	t.Helper()
	if ok {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if code, _ := fault.CodeOf(err); code != fault.BadParam {
		t.Fatalf("err = %v, want badParam", err)
	}
}

func TestNewTransportResponse(t *testing.T) {
	m := wiretest.Metadata(wiretest.Rand(7))
	syd := time.FixedZone("AEST", 10*3600)
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, syd)
	tr := wire.NewTransportResponse(m, wiretest.ProviderHPIO, wire.ClassInformation, wire.ResponseCodeAccepted,
		"accepted", nil, false, now, "urn:uuid:r")
	md := tr.Metadata
	if md.InvocationID != m.InvocationID || md.ReceiverOrganisation != m.ReceiverOrganisation ||
		md.SenderOrganisation != m.SenderOrganisation || md.ServiceCategory != m.ServiceCategory {
		t.Errorf("metadata not copied: %+v", md)
	}
	if md.SourceOrganisation != wiretest.ProviderHPIO || md.ResponseID != "urn:uuid:r" || tr.Final {
		t.Errorf("fields: %+v final=%v", md, tr.Final)
	}
	if !md.TransportResponseTime.Equal(now) || md.TransportResponseTime.Location() != time.UTC {
		t.Errorf("time = %v", md.TransportResponseTime)
	}
	if tr.DeliveryResponse.ResponseClass != wire.ClassInformation || tr.DeliveryResponse.ResponseCode != wire.ResponseCodeAccepted {
		t.Errorf("delivery response = %+v", tr.DeliveryResponse)
	}
}
