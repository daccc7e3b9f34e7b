package wire

import (
	"fmt"

	"github.com/opensmd/portal/internal/smd/fault"
	"github.com/opensmd/portal/internal/smd/ns"
)

// ValidateForSMD checks m before it is sent with Sealed Message Delivery, as
// the ADHA SMD client does (smd-b2b-client-dotnet
// SealedMessageDeliveryClient.ValidateMetadata; SMD.md §1.3): the required
// fields are set, serviceInterface is the SMD TLS interface URI, every
// routeRecord interaction is fully populated with serviceInterface equal to
// the TRD TLS interface URI, and every certRef is complete. Errors are
// *fault.Error with code fault.BadParam.
func (m MessageMetadata) ValidateForSMD() error {
	if err := m.validateCommon(ns.IntfSMD); err != nil {
		return err
	}
	for i, r := range m.RouteRecord {
		if err := validateRouteInteraction(r.Interaction); err != nil {
			return fault.New(fault.BadParam, fmt.Sprintf("metadata: routeRecord[%d]: %s", i, err.Message))
		}
	}
	return nil
}

// ValidateForSIMD checks m before it is sent with Sealed Immediate Message
// Delivery (SealedImmediateMessageDeliveryClient; SMD.md §1.3): the
// required fields are set, serviceInterface is the SIMD TLS interface URI
// and there is no routeRecord, because the response is synchronous.
func (m MessageMetadata) ValidateForSIMD() error {
	if err := m.validateCommon(ns.IntfSIMD); err != nil {
		return err
	}
	if len(m.RouteRecord) > 0 {
		return fault.New(fault.BadParam, "metadata: routeRecord must be absent for SIMD")
	}
	return nil
}

func (m MessageMetadata) validateCommon(intf string) *fault.Error {
	required := []struct{ name, v string }{
		{"invocationId", m.InvocationID},
		{"receiverOrganisation", m.ReceiverOrganisation},
		{"senderOrganisation", m.SenderOrganisation},
		{"serviceCategory", m.ServiceCategory},
		{"serviceInterface", m.ServiceInterface},
	}
	for _, f := range required {
		if f.v == "" {
			return fault.New(fault.BadParam, "metadata: "+f.name+" is required")
		}
	}
	if m.CreationTime.IsZero() {
		return fault.New(fault.BadParam, "metadata: creationTime is required")
	}
	if !m.ExpiryTime.IsZero() && !m.ExpiryTime.After(m.CreationTime) {
		return fault.New(fault.BadParam, "metadata: expiryTime must be after creationTime")
	}
	if m.ServiceInterface != intf {
		return fault.New(fault.BadParam, "metadata: serviceInterface must be "+intf)
	}
	for i, o := range m.OtherTransportMetadata {
		if o.MetadataType == "" {
			return fault.New(fault.BadParam, fmt.Sprintf("metadata: otherTransportMetadata[%d]: metadataType is required", i))
		}
	}
	return nil
}

func validateRouteInteraction(in Interaction) *fault.Error {
	fields := []struct{ name, v string }{
		{"target", in.Target},
		{"serviceCategory", in.ServiceCategory},
		{"serviceInterface", in.ServiceInterface},
		{"serviceEndpoint", in.ServiceEndpoint},
		{"serviceProvider", in.ServiceProvider},
	}
	for _, f := range fields {
		if f.v == "" {
			return fault.New(fault.BadParam, "interaction "+f.name+" is required")
		}
	}
	if in.ServiceInterface != ns.IntfTRD {
		return fault.New(fault.BadParam, "interaction serviceInterface must be "+ns.IntfTRD)
	}
	for i, c := range in.CertRefs {
		if c.UseQualifier == "" || c.Type == "" || c.Value == "" {
			return fault.New(fault.BadParam, fmt.Sprintf("interaction certRef[%d] is incomplete", i))
		}
	}
	return nil
}
