package soap_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/opensmd/portal/internal/smd/fault"
	"github.com/opensmd/portal/internal/smd/ns"
	"github.com/opensmd/portal/internal/smd/soap"
)

var (
	okAction = soap.SMRList.RequestAction()
	okBody   = `<smr:list xmlns:smr="` + ns.SvcSMR + `"><smr:receiverOrganisation>urn:x</smr:receiverOrganisation>` +
		`<smr:allAvailable>false</smr:allAvailable><smr:limit>1</smr:limit></smr:list>`
)

// envelopeXML assembles a SOAP 1.2 envelope from raw header and body XML.
func envelopeXML(header, body string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>` +
		`<env:Envelope xmlns:env="` + ns.SOAP12 + `" xmlns:wsa="` + ns.WSA + `">` +
		`<env:Header>` + header + `</env:Header><env:Body>` + body + `</env:Body></env:Envelope>`
}

func wsa(action, msgID string) string {
	h := ""
	if action != "" {
		h += `<wsa:Action env:mustUnderstand="true">` + action + `</wsa:Action>`
	}
	if msgID != "" {
		h += `<wsa:MessageID>` + msgID + `</wsa:MessageID>`
	}
	return h + `<wsa:To env:mustUnderstand="1">https://x.example/smd</wsa:To>`
}

const billionLaughs = `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>`

// hardeningCases are hostile or invalid requests and the StandardError
// code each must produce. The same inputs seed FuzzParseEnvelope.
func hardeningCases() []struct {
	name, xml string
	code      fault.Code
	sentinel  error
} {
	good := wsa(okAction, "urn:uuid:0b5e4c1e-6d2a-4f55-8b3b-2a1b9a5f0c11")
	deep := strings.Repeat("<a>", 300) + strings.Repeat("</a>", 300)
	return []struct {
		name, xml string
		code      fault.Code
		sentinel  error
	}{
		{"DTD", `<!DOCTYPE x [<!ELEMENT x ANY>]>` + envelopeXML(good, okBody), fault.BadlyFormedMsg, nil},
		{"BillionLaughs", billionLaughs + envelopeXML(good, `<x>&lol9;</x>`), fault.BadlyFormedMsg, nil},
		{"BillionLaughsDTDOnly", billionLaughs + envelopeXML(good, okBody), fault.BadlyFormedMsg, nil},
		{"ExternalEntity", `<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>` +
			envelopeXML(good, `<x>&xxe;</x>`), fault.BadlyFormedMsg, nil},
		{"UndeclaredEntity", envelopeXML(good, `<x>&xxe;</x>`), fault.BadlyFormedMsg, nil},
		{"DeepNesting", envelopeXML(good, deep), fault.BadlyFormedMsg, nil},
		{"ProcessingInstruction", envelopeXML(good, `<?evil do?>`+okBody), fault.BadlyFormedMsg, nil},
		{"TrailingPI", envelopeXML(good, okBody) + `<?x y?>`, fault.BadlyFormedMsg, nil},
		{"LateXMLDeclaration", "<!-- c -->" + envelopeXML(good, okBody), fault.BadlyFormedMsg, nil},
		{"NonUTF8Encoding", `<?xml version="1.0" encoding="ISO-8859-1"?>` + envelopeXML(good, okBody)[38:], fault.BadlyFormedMsg, nil},
		{"NotXML", `hello`, fault.BadlyFormedMsg, nil},
		{"Truncated", envelopeXML(good, okBody)[:120], fault.BadlyFormedMsg, nil},
		{"TwoRoots", envelopeXML(good, okBody) + `<again/>`, fault.BadlyFormedMsg, nil},
		{"UndeclaredPrefix", envelopeXML(good, `<smr:list/>`), fault.BadlyFormedMsg, nil},
		{"TwoBodyChildren", envelopeXML(good, okBody+okBody), fault.BadlyFormedMsg, nil},
		{"EmptyBody", envelopeXML(good, ``), fault.BadlyFormedMsg, nil},
		{"TextInBody", envelopeXML(good, `text`+okBody), fault.BadlyFormedMsg, nil},
		{"NoBody", `<env:Envelope xmlns:env="` + ns.SOAP12 + `"><env:Header/></env:Envelope>`, fault.BadlyFormedMsg, nil},
		{"ElementAfterBody", strings.Replace(envelopeXML(good, okBody), `</env:Body>`, `</env:Body><env:Body/>`, 1),
			fault.BadlyFormedMsg, nil},
		{"SOAP11", `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>` + okBody + `</s:Body></s:Envelope>`,
			fault.BadlyFormedMsg, soap.ErrVersionMismatch},
		{"NotEnvelope", okBody, fault.BadlyFormedMsg, nil},
		{"MustUnderstandUnknown", envelopeXML(good+`<sec:Security xmlns:sec="urn:sec" env:mustUnderstand="true"/>`, okBody),
			fault.BadlyFormedMsg, soap.ErrMustUnderstand},
		{"MissingAction", envelopeXML(wsa("", "urn:uuid:1"), okBody), fault.BadWsaAction, nil},
		{"UnknownAction", envelopeXML(wsa("urn:not-an-smd-action", "urn:uuid:1"), okBody), fault.BadWsaAction, nil},
		{"DuplicateAction", envelopeXML(good+`<wsa:Action>`+okAction+`</wsa:Action>`, okBody), fault.BadWsaAction, nil},
		{"MissingMessageID", envelopeXML(wsa(okAction, ""), okBody), fault.BadWsaMessageID, nil},
		{"RelativeMessageID", envelopeXML(wsa(okAction, "not a uri"), okBody), fault.BadWsaMessageID, nil},
		{"MessageIDNoScheme", envelopeXML(wsa(okAction, "1234"), okBody), fault.BadWsaMessageID, nil},
		{"DuplicateTo", envelopeXML(good+`<wsa:To>https://y.example</wsa:To>`, okBody), fault.BadWsaTo, nil},
	}
}

func TestParse_Hardening(t *testing.T) {
	for _, tt := range hardeningCases() {
		t.Run(tt.name, func(t *testing.T) {
			env, err := soap.Parse(strings.NewReader(tt.xml), soap.Limits{})
			if err == nil {
				t.Fatalf("accepted: %+v", env.Header)
			}
			if env != nil {
				t.Error("Parse returned an envelope with an error")
			}
			var fe *fault.Error
			if !errors.As(err, &fe) || fe.Code != tt.code {
				t.Fatalf("err = %v, want code %s", err, tt.code)
			}
			if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
				t.Errorf("err = %v does not wrap %v", err, tt.sentinel)
			}
			// The reply parser skips only the request addressing rules.
			_, rerr := soap.ParseReply(strings.NewReader(tt.xml), soap.Limits{})
			if tt.code == fault.BadlyFormedMsg && rerr == nil {
				t.Error("ParseReply accepted it")
			}
		})
	}
}

func TestParse_Limits(t *testing.T) {
	good := envelopeXML(wsa(okAction, "urn:uuid:1"), okBody)
	if _, err := soap.Parse(strings.NewReader(good), soap.Limits{MaxBytes: int64(len(good))}); err != nil {
		t.Fatalf("message of exactly MaxBytes rejected: %v", err)
	}
	_, err := soap.Parse(strings.NewReader(good), soap.Limits{MaxBytes: int64(len(good) - 1)})
	if code, _ := fault.CodeOf(err); code != fault.BadlyFormedMsg || !errors.Is(err, soap.ErrTooLarge) {
		t.Fatalf("oversized: %v", err)
	}
	// Default limit: 50 MB + 1 is refused without reading further.
	big := &repeatReader{remaining: soap.DefaultMaxBytes + 1024}
	if _, err := soap.Parse(big, soap.Limits{}); !errors.Is(err, soap.ErrTooLarge) {
		t.Fatalf("default limit: %v", err)
	}
	if big.read > soap.DefaultMaxBytes+1 {
		t.Errorf("read %d bytes, more than the limit + 1", big.read)
	}
	nested := envelopeXML(wsa(okAction, "urn:uuid:1"), strings.Repeat("<a>", 5)+strings.Repeat("</a>", 5))
	if _, err := soap.Parse(strings.NewReader(nested), soap.Limits{MaxDepth: 6}); err == nil {
		t.Error("depth limit not applied")
	}
	if _, err := soap.Parse(strings.NewReader(nested), soap.Limits{MaxDepth: 8}); err != nil {
		t.Errorf("depth 8: %v", err)
	}
}

// repeatReader yields remaining bytes of '<' and counts what was read.
type repeatReader struct{ remaining, read int }

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.remaining == 0 {
		return 0, errors.New("EOF")
	}
	n := min(len(p), r.remaining)
	for i := range p[:n] {
		p[i] = ' '
	}
	r.remaining -= n
	r.read += n
	return n, nil
}

func TestParse_Accepts(t *testing.T) {
	tests := []struct{ name, xml string }{
		{"NoDeclaration", envelopeXML(wsa(okAction, "urn:uuid:1"), okBody)[38:]},
		{"CommentsAndWhitespace", "\n<!-- c -->\n" + envelopeXML(wsa(okAction, "urn:uuid:1"), "\n "+okBody+"\n ")[38:] + "\n<!-- d -->"},
		{"OtherPrefixes", `<S:Envelope xmlns:S="` + ns.SOAP12 + `"><S:Header><a:Action xmlns:a="` + ns.WSA + `">` + okAction +
			`</a:Action><a:MessageID xmlns:a="` + ns.WSA + `">urn:uuid:2</a:MessageID></S:Header><S:Body>` + okBody + `</S:Body></S:Envelope>`},
		{"HTTPMessageID", envelopeXML(wsa(okAction, "http://x.example/id/1"), okBody)},
		{"IgnoredHeader", envelopeXML(wsa(okAction, "urn:uuid:1")+`<x:Trace xmlns:x="urn:x">t</x:Trace>`+
			`<x:Other xmlns:x="urn:x" env:mustUnderstand="true" env:role="`+ns.SOAP12+`/role/none"/>`, okBody)},
		{"ReplyToAnonymous", envelopeXML(wsa(okAction, "urn:uuid:1")+`<wsa:ReplyTo><wsa:Address>`+ns.WSA+
			`/anonymous</wsa:Address></wsa:ReplyTo>`, okBody)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := soap.Parse(strings.NewReader(tt.xml), soap.Limits{})
			if err != nil {
				t.Fatalf("rejected: %v", err)
			}
			if env.Header.Action != okAction || env.Body.Tag != "list" {
				t.Errorf("header %+v body %s", env.Header, env.Body.Tag)
			}
		})
	}
}
