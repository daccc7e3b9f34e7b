package soap_test

import (
	"path/filepath"
	"sort"
	"testing"

	"github.com/beevik/etree"
	"github.com/google/go-cmp/cmp"

	"github.com/opensmd/portal/internal/smd/soap"
	"github.com/opensmd/portal/internal/smd/wire/wiretest"
)

// wsdlActions reads every wsam:Action of every portType operation of the
// interface WSDLs, keyed "targetNamespace|portType|operation|kind", where
// kind is "in", "out" or "fault:<name>".
func wsdlActions(t *testing.T) map[string]string {
	t.Helper()
	files := []string{
		"smd-2010/wsdl/smd-SealedMessageDelivery-Interface-2010.wsdl",
		"smd-2010/wsdl/smd-SealedImmediateMessageDelivery-Interface-2010.wsdl",
		"smd-2010/wsdl/smd-SealedMessageRetrieval-Interface-2010.wsdl",
		"smd-2010/wsdl/smd-TransportResponseDelivery-Interface-2010.wsdl",
		"smd-2010/wsdl/smd-TransportResponseRetrieval-Interface-2010.wsdl",
		"els-2010/wsdl/els-LookupInterface-2010.wsdl",
	}
	out := map[string]string{}
	for _, f := range files {
		doc := etree.NewDocument()
		if err := doc.ReadFromFile(filepath.Join(wiretest.SpecDir(t), f)); err != nil {
			t.Fatal(err)
		}
		defs := doc.Root()
		tns := defs.SelectAttrValue("targetNamespace", "")
		for _, pt := range defs.SelectElements("wsdl:portType") {
			for _, op := range pt.SelectElements("wsdl:operation") {
				key := tns + "|" + pt.SelectAttrValue("name", "") + "|" + op.SelectAttrValue("name", "") + "|"
				out[key+"in"] = op.SelectElement("wsdl:input").SelectAttrValue("wsam:Action", "")
				out[key+"out"] = op.SelectElement("wsdl:output").SelectAttrValue("wsam:Action", "")
				for _, fl := range op.SelectElements("wsdl:fault") {
					out[key+"fault:"+fl.SelectAttrValue("name", "")] = fl.SelectAttrValue("wsam:Action", "")
				}
			}
		}
	}
	return out
}

// TestOperations_MatchWSDL proves the operation table is exactly the set
// of operations, faults and actions the WSDLs declare.
func TestOperations_MatchWSDL(t *testing.T) {
	want := wsdlActions(t)
	got := map[string]string{}
	for _, op := range soap.Operations() {
		key := op.Service + "|" + op.PortType + "|" + op.Name + "|"
		got[key+"in"] = op.RequestAction()
		got[key+"out"] = op.ResponseAction()
		for _, f := range op.Faults() {
			got[key+"fault:"+f] = op.FaultAction(f)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("operation table differs from the WSDLs (-wsdl +table):\n%s", diff)
	}
}

func TestLookupAction(t *testing.T) {
	seen := map[string]bool{}
	for _, op := range soap.Operations() {
		got, ok := soap.LookupAction(op.RequestAction())
		if !ok || got != op {
			t.Errorf("LookupAction(%s) = %v, %v", op.RequestAction(), got, ok)
		}
		if _, ok := soap.LookupAction(op.ResponseAction()); ok {
			t.Errorf("response action %s looked up as a request", op.ResponseAction())
		}
		seen[op.RequestAction()] = true
	}
	if len(seen) != len(soap.Operations()) {
		t.Error("request actions are not unique")
	}
	if _, ok := soap.LookupAction("urn:nope"); ok {
		t.Error("unknown action found")
	}
	names := []string{}
	for _, op := range soap.Operations() {
		names = append(names, op.String())
	}
	sort.Strings(names)
	if names[0] != "Lookup/listInteractions" {
		t.Errorf("String() = %v", names)
	}
}
