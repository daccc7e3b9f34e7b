package wire_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/opensmd/portal/internal/smd/fault"
	"github.com/opensmd/portal/internal/smd/ns"
	"github.com/opensmd/portal/internal/smd/wire"
	"github.com/opensmd/portal/internal/smd/wire/wiretest"
)

// deliverDoc returns a parsed smd:deliver document built from the full
// fixture, for tests that corrupt it.
func deliverDoc(t *testing.T) *etree.Element {
	t.Helper()
	msg := wiretest.SealedMessage(wiretest.Rand(3))
	return reparse(t, compact(t, wire.SMDDeliver{Message: msg}.Element()))
}

func metadataOf(root *etree.Element) *etree.Element {
	return root.FindElement("./smd:message/smsg:metadata")
}

func TestParseSMDDeliver_Errors(t *testing.T) {
	tests := []struct {
		name    string
		corrupt func(root *etree.Element)
		code    fault.Code
		mention string
	}{
		{"MissingReceiver", func(r *etree.Element) {
			m := metadataOf(r)
			m.RemoveChild(m.SelectElement("smsg:receiverOrganisation"))
		}, fault.BadlyFormedMsg, "receiverOrganisation"},
		{"SwappedOrder", func(r *etree.Element) {
			m := metadataOf(r)
			inv := m.SelectElement("smsg:invocationId")
			m.RemoveChild(inv)
			m.InsertChildAt(0, inv)
		}, fault.BadlyFormedMsg, "creationTime"},
		{"UnknownElement", func(r *etree.Element) {
			metadataOf(r).CreateElement("smsg:surprise")
		}, fault.BadlyFormedMsg, "surprise"},
		{"WrongNamespace", func(r *etree.Element) {
			metadataOf(r).SelectElement("smsg:serviceCategory").Space = "els"
		}, fault.BadlyFormedMsg, "serviceCategory"},
		{"EmptyURI", func(r *etree.Element) {
			metadataOf(r).SelectElement("smsg:senderOrganisation").SetText("  ")
		}, fault.BadlyFormedMsg, "senderOrganisation"},
		{"NoZone", func(r *etree.Element) {
			metadataOf(r).SelectElement("smsg:creationTime").SetText("2025-01-01T10:00:00")
		}, fault.BadTimestamp, "creationTime"},
		{"BadDate", func(r *etree.Element) {
			metadataOf(r).SelectElement("smsg:expiryTime").SetText("tomorrow")
		}, fault.BadlyFormedMsg, "expiryTime"},
		{"BadBoolean", func(r *etree.Element) {
			r.FindElement(".//smsg:sendIntermediateResponses").SetText("yes")
		}, fault.BadlyFormedMsg, "sendIntermediateResponses"},
		{"IncompleteInteraction", func(r *etree.Element) {
			i := r.FindElement(".//smsg:interaction")
			i.RemoveChild(i.SelectElement("els:serviceProvider"))
		}, fault.BadlyFormedMsg, "serviceProvider"},
		{"CertRefWithoutQCR", func(r *etree.Element) {
			c := r.FindElement(".//els:certRef")
			c.RemoveChild(c.SelectElement("qcr:qualifiedCertRef"))
		}, fault.BadlyFormedMsg, "qualifiedCertRef"},
		{"MetadataValueWithElements", func(r *etree.Element) {
			r.FindElement(".//smsg:metadataValue").CreateElement("smsg:x")
		}, fault.BadlyFormedMsg, "metadataValue"},
		{"TextInComplexContent", func(r *etree.Element) {
			metadataOf(r).CreateText("stray")
		}, fault.BadlyFormedMsg, "character data"},
		{"NoPayload", func(r *etree.Element) {
			m := r.SelectElement("smd:message")
			m.RemoveChild(m.SelectElement("ep:encryptedPayload"))
		}, fault.BadlyFormedMsg, "encryptedPayload"},
		{"TwoMessages", func(r *etree.Element) {
			r.AddChild(r.SelectElement("smd:message").Copy())
		}, fault.BadlyFormedMsg, "message"},
		{"WrongRoot", func(r *etree.Element) {
			r.Tag = "deliverResponse"
		}, fault.BadlyFormedMsg, "deliver"},
		{"SIMDNamespace", func(r *etree.Element) {
			for i := range r.Attr {
				if r.Attr[i].Key == "smd" {
					r.Attr[i].Value = ns.SvcSIMD
				}
			}
		}, fault.BadlyFormedMsg, "deliver"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := deliverDoc(t)
			tt.corrupt(root)
			_, err := wire.ParseSMDDeliver(root)
			var fe *fault.Error
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want *fault.Error", err)
			}
			if fe.Code != tt.code {
				t.Errorf("code = %s, want %s (%v)", fe.Code, tt.code, err)
			}
			if !strings.Contains(fe.Message, tt.mention) {
				t.Errorf("message %q does not name %q", fe.Message, tt.mention)
			}
		})
	}
}

func TestParseSimpleValues(t *testing.T) {
	tests := []struct {
		name string
		xml  string
		ok   bool
	}{
		{"LimitNumeric", `<smr:list xmlns:smr="` + ns.SvcSMR + `"><smr:receiverOrganisation>urn:x</smr:receiverOrganisation><smr:allAvailable>1</smr:allAvailable><smr:limit>+20</smr:limit></smr:list>`, true},
		{"LimitOverflow", `<smr:list xmlns:smr="` + ns.SvcSMR + `"><smr:receiverOrganisation>urn:x</smr:receiverOrganisation><smr:allAvailable>0</smr:allAvailable><smr:limit>2147483648</smr:limit></smr:list>`, false},
		{"LimitText", `<smr:list xmlns:smr="` + ns.SvcSMR + `"><smr:receiverOrganisation>urn:x</smr:receiverOrganisation><smr:allAvailable>0</smr:allAvailable><smr:limit>ten</smr:limit></smr:list>`, false},
		{"DefaultNamespace", `<list xmlns="` + ns.SvcSMR + `"><receiverOrganisation> urn:x </receiverOrganisation><allAvailable>true</allAvailable><limit>5</limit></list>`, true},
		{"CommentsIgnored", `<smr:list xmlns:smr="` + ns.SvcSMR + `"><!--c--><smr:receiverOrganisation>urn:<!--c-->x</smr:receiverOrganisation><smr:allAvailable>true</smr:allAvailable><smr:limit>5</smr:limit></smr:list>`, true},
		{"BadStatusEnum", `<smd:deliverResponse xmlns:smd="` + ns.SvcSMD + `"><smd:status>OK</smd:status></smd:deliverResponse>`, false},
		{"TRDNoResponses", `<trd:deliver xmlns:trd="` + ns.SvcTRD + `"/>`, false},
		{"TRRRemoveNoIDs", `<trr:remove xmlns:trr="` + ns.SvcTRR + `"><trr:force>false</trr:force><trr:organisation>urn:x</trr:organisation></trr:remove>`, false},
		{"BadBase64", `<smd:deliverError xmlns:smd="` + ns.SvcSMD + `" xmlns:t="` + ns.TransportResponse + `"><smd:deliveryResponse><t:responseClass>Error</t:responseClass><t:responseCode>urn:c</t:responseCode><t:message>m</t:message><t:digestValue>!!</t:digestValue></smd:deliveryResponse></smd:deliverError>`, false},
		{"BadResponseClass", `<smd:deliverError xmlns:smd="` + ns.SvcSMD + `" xmlns:t="` + ns.TransportResponse + `"><smd:deliveryResponse><t:responseClass>Fatal</t:responseClass><t:responseCode>urn:c</t:responseCode><t:message>m</t:message></smd:deliveryResponse></smd:deliverError>`, false},
		{"UnknownStandardErrorCode", `<se:standardError xmlns:se="` + ns.StandardError + `"><se:errorCode>oops</se:errorCode><se:message>m</se:message></se:standardError>`, false},
		{"ELSRequestNoCategory", `<l:listInteractions xmlns:l="` + ns.SvcELS + `" xmlns:e="` + ns.ELS + `"><l:interactionRequest><e:target>urn:t</e:target></l:interactionRequest></l:listInteractions>`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := reparse(t, []byte(tt.xml))
			var err error
			switch root.Tag {
			case "list":
				_, err = wire.ParseSMRList(root)
			case "deliverResponse":
				_, err = wire.ParseSMDDeliverResponse(root)
			case "deliver":
				_, err = wire.ParseTRDDeliver(root)
			case "remove":
				_, err = wire.ParseTRRRemove(root)
			case "deliverError":
				_, err = wire.ParseDeliverError(root)
			case "standardError":
				_, err = wire.ParseStandardError(root)
			case "listInteractions":
				_, err = wire.ParseELSListInteractions(root)
			default:
				t.Fatalf("no parser for %s", root.Tag)
			}
			if tt.ok && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !tt.ok {
				if code, _ := fault.CodeOf(err); code != fault.BadlyFormedMsg {
					t.Fatalf("err = %v, want badlyFormedMsg", err)
				}
			}
		})
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		code fault.Code
	}{
		{"2025-01-01T10:00:00Z", time.Date(2025, 1, 1, 10, 0, 0, 0, time.UTC), ""},
		{"2025-01-01T20:30:00+10:30", time.Date(2025, 1, 1, 10, 0, 0, 0, time.UTC), ""},
		{" 2025-01-01T10:00:00.1234567Z ", time.Date(2025, 1, 1, 10, 0, 0, 123456700, time.UTC), ""},
		{"2025-01-01T10:00:00", time.Time{}, fault.BadTimestamp},
		{"2025-01-01T10:00:00.5", time.Time{}, fault.BadTimestamp},
		{"2025-01-01", time.Time{}, fault.BadlyFormedMsg},
		{"2025-13-01T10:00:00Z", time.Time{}, fault.BadlyFormedMsg},
	}
	for _, tt := range tests {
		got, err := wire.ParseTime(tt.in, "t")
		code, _ := fault.CodeOf(err)
		if code != tt.code || !got.Equal(tt.want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v, code %q", tt.in, got, err, tt.want, tt.code)
		}
		if err == nil && got.Location() != time.UTC {
			t.Errorf("ParseTime(%q) not in UTC", tt.in)
		}
	}
	// Emitted in UTC with Z whatever the input zone.
	syd := time.FixedZone("AEDT", 11*3600)
	if got := wire.FormatTime(time.Date(2025, 1, 1, 11, 0, 0, 0, syd)); got != "2025-01-01T00:00:00.000Z" {
		t.Errorf("FormatTime = %s", got)
	}
}

func TestNewInvocationID(t *testing.T) {
	a := wire.NewInvocationID(wiretest.Rand(1))
	b := wire.NewInvocationID(wiretest.Rand(1))
	c := wire.NewInvocationID(wiretest.Rand(2))
	if a != b || a == c {
		t.Errorf("determinism: %s %s %s", a, b, c)
	}
	const pat = "urn:uuid:xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx"
	if len(a) != len(pat) || a[23] != '4' || !strings.ContainsRune("89ab", rune(a[28])) {
		t.Errorf("not a v4 UUID URN: %s", a)
	}
	if d := wire.NewInvocationID(failingReader{}); len(d) != len(pat) {
		t.Errorf("fallback: %s", d)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("no entropy") }

func TestDetach(t *testing.T) {
	root := reparse(t, []byte(`<a xmlns="urn:default" xmlns:p="urn:p" xmlns:q="urn:q" xmlns:unused="urn:u">`+
		`<p:b q:attr="1"><c/><p:d xmlns:p="urn:inner"/></p:b></a>`))
	d := wire.Detach(root.SelectElement("p:b"))
	got, err := etree.NewDocumentWithRoot(d).WriteToString()
	if err != nil {
		t.Fatal(err)
	}
	want := `<p:b q:attr="1" xmlns="urn:default" xmlns:p="urn:p" xmlns:q="urn:q"><c/><p:d xmlns:p="urn:inner"/></p:b>`
	if got != want {
		t.Errorf("Detach:\n got %s\nwant %s", got, want)
	}
	if d.SelectElement("c").NamespaceURI() != "urn:default" {
		t.Error("default namespace lost")
	}
	if wire.Detach(nil) != nil {
		t.Error("Detach(nil) != nil")
	}
}

// TestXSD_HarnessRejects proves the xmllint harness can fail: a metadata
// block in the wrong order must not validate.
func TestXSD_HarnessRejects(t *testing.T) {
	root := deliverDoc(t)
	m := metadataOf(root)
	inv := m.SelectElement("smsg:invocationId")
	m.RemoveChild(inv)
	m.InsertChildAt(0, inv)
	if err := wiretest.SchemaErrors(t, schemaPath(t, wsdlSMD), compact(t, root)); err == nil {
		t.Fatal("misordered metadata validated")
	}
}
