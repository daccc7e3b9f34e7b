package soap

import (
	"github.com/opensmd/portal/internal/smd/ns"
)

// Operation identifies one WSDL operation: service namespace, portType and
// operation name. Actions derive from it (SMD.md §1.7).
type Operation struct {
	Service  string
	PortType string
	Name     string
}

// The operations of every interface (portType names from the WSDLs).
var (
	SMDDeliver  = Operation{ns.SvcSMD, "SealedMessageDelivery", "deliver"}
	SIMDDeliver = Operation{ns.SvcSIMD, "SealedImmediateMessageDelivery", "deliver"}
	SMRList     = Operation{ns.SvcSMR, "SealedMessageRetrieval", "list"}
	SMRRetrieve = Operation{ns.SvcSMR, "SealedMessageRetrieval", "retrieve"}
	TRDDeliver  = Operation{ns.SvcTRD, "TransportResponseDelivery", "deliver"}
	TRRRetrieve = Operation{ns.SvcTRR, "TransportResponseRetrieval", "retrieve"}
	TRRRemove   = Operation{ns.SvcTRR, "TransportResponseRetrieval", "remove"}

	ELSListInteractions    = Operation{ns.SvcELS, "Lookup", "listInteractions"}
	ELSValidateInteraction = Operation{ns.SvcELS, "Lookup", "validateInteraction"}
)

// WS-Addressing 1.0 generic fault actions, used when a fault cannot be
// attributed to an operation (for example an unknown or missing action).
const (
	ActionSOAPFault = "http://www.w3.org/2005/08/addressing/soap/fault"
	ActionWSAFault  = "http://www.w3.org/2005/08/addressing/fault"
)

// Operations returns every operation of every interface.
func Operations() []Operation {
	return []Operation{
		SMDDeliver, SIMDDeliver, SMRList, SMRRetrieve, TRDDeliver, TRRRetrieve, TRRRemove,
		ELSListInteractions, ELSValidateInteraction,
	}
}

// String returns "PortType/name".
func (o Operation) String() string { return o.PortType + "/" + o.Name }

// IsZero reports whether o is the zero Operation.
func (o Operation) IsZero() bool { return o == Operation{} }

// RequestAction is the wsam:Action of the operation's input message.
func (o Operation) RequestAction() string { return ns.Action(o.Service, o.PortType, o.Name+"Request") }

// ResponseAction is the wsam:Action of the operation's output message.
func (o Operation) ResponseAction() string {
	return ns.Action(o.Service, o.PortType, o.Name+"Response")
}

// FaultAction is the wsam:Action of the named wsdl:fault of the operation.
func (o Operation) FaultAction(faultName string) string {
	return ns.Action(o.Service, o.PortType, o.Name+"/Fault/"+faultName)
}

// Faults returns the wsdl:fault names the operation declares.
func (o Operation) Faults() []string {
	switch o {
	case SMDDeliver, TRDDeliver:
		return []string{"deliverError", "standardError"}
	case SIMDDeliver:
		return []string{"deliverError", "timeoutError", "standardError"}
	case SMRList:
		return []string{"listError", "standardError"}
	case SMRRetrieve, TRRRetrieve:
		return []string{"retrieveError", "standardError"}
	case TRRRemove:
		return []string{"removeError", "standardError"}
	case ELSListInteractions, ELSValidateInteraction:
		return []string{"standardError", "lookupError"}
	}
	return nil
}

// HasFault reports whether the operation declares the named fault.
func (o Operation) HasFault(faultName string) bool {
	for _, f := range o.Faults() {
		if f == faultName {
			return true
		}
	}
	return false
}

// LookupAction returns the operation whose request action is action.
func LookupAction(action string) (Operation, bool) {
	for _, o := range Operations() {
		if o.RequestAction() == action {
			return o, true
		}
	}
	return Operation{}, false
}

// knownAction reports whether action is any input, output or fault action
// of the table, or a generic WS-Addressing fault action.
func knownAction(action string) bool {
	if action == ActionSOAPFault || action == ActionWSAFault {
		return true
	}
	for _, o := range Operations() {
		if action == o.RequestAction() || action == o.ResponseAction() {
			return true
		}
		for _, f := range o.Faults() {
			if action == o.FaultAction(f) {
				return true
			}
		}
	}
	return false
}
