package soap

import (
	"errors"
	"io"
	"net/url"
	"strings"

	"github.com/beevik/etree"

	"github.com/opensmd/portal/internal/smd/fault"
	"github.com/opensmd/portal/internal/smd/ns"
	"github.com/opensmd/portal/internal/smd/wire"
)

// SOAP11 is the SOAP 1.1 envelope namespace, recognised only to answer
// env:VersionMismatch.
const SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"

// Header holds the WS-Addressing 1.0 message addressing properties.
type Header struct {
	// To is the destination endpoint URL (wsa:To).
	To string
	// Action is the WSDL action URI of the message (wsa:Action).
	Action string
	// MessageID is a unique absolute URI, "urn:uuid:…" (wsa:MessageID).
	MessageID string
	// RelatesTo is the MessageID of the request a reply answers.
	RelatesTo string
	// From is the sender's endpoint address (wsa:From/wsa:Address),
	// optional.
	From string
}

// Envelope is a SOAP 1.2 message with its addressing header and the single
// child of env:Body (an operation body element or env:Fault).
type Envelope struct {
	Header Header
	Body   *etree.Element
}

// IsFault reports whether the body is an env:Fault.
func (e *Envelope) IsFault() bool {
	return e.Body != nil && e.Body.Tag == "Fault" && e.Body.NamespaceURI() == ns.SOAP12
}

// Build serialises env as a SOAP 1.2 envelope with WS-Addressing headers
// (SMD.md §1.12). Action and Body are required; empty header fields are
// omitted. The body is copied with the namespace declarations it inherits.
func Build(env *Envelope) ([]byte, error) {
	if env == nil || env.Body == nil {
		return nil, errors.New("soap: build envelope: no body")
	}
	if env.Header.Action == "" {
		return nil, errors.New("soap: build envelope: no action")
	}
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="utf-8"`)
	root := doc.CreateElement("env:Envelope")
	root.CreateAttr("xmlns:env", ns.SOAP12)
	root.CreateAttr("xmlns:wsa", ns.WSA)
	h := root.CreateElement("env:Header")
	addHeader(h, "wsa:Action", env.Header.Action)
	addHeader(h, "wsa:MessageID", env.Header.MessageID)
	addHeader(h, "wsa:RelatesTo", env.Header.RelatesTo)
	addHeader(h, "wsa:To", env.Header.To)
	if env.Header.From != "" {
		h.CreateElement("wsa:From").CreateElement("wsa:Address").SetText(env.Header.From)
	}
	root.CreateElement("env:Body").AddChild(wire.Detach(env.Body))
	b, err := doc.WriteToBytes()
	if err != nil {
		return nil, errors.Join(errors.New("soap: build envelope"), err)
	}
	return b, nil
}

func addHeader(h *etree.Element, tag, value string) {
	if value != "" {
		h.CreateElement(tag).SetText(value)
	}
}

// Parse reads a SOAP 1.2 request envelope from r under the limits lim and
// checks it (SOAP 1.2 Part 1; WS-Addressing 1.0):
//   - size, depth, DTD, entity, processing-instruction and namespace
//     hardening (fault.BadlyFormedMsg);
//   - root env:Envelope in the SOAP 1.2 namespace (a SOAP 1.1 envelope
//     wraps ErrVersionMismatch), an optional env:Header, then env:Body with
//     exactly one child element;
//   - header blocks marked env:mustUnderstand that this layer does not
//     process wrap ErrMustUnderstand;
//   - wsa:Action present and one of the actions of the operation table
//     (fault.BadWsaAction); wsa:MessageID present and an absolute URI
//     (fault.BadWsaMessageID); each at most once.
//
// wsa:To is read but not required here; a server that checks it against its
// own URL reports fault.BadWsaTo (see Handler.To).
func Parse(r io.Reader, lim Limits) (*Envelope, error) {
	env, err := parse(r, lim, modeRequest)
	if err != nil {
		return nil, err
	}
	return env, nil
}

// ParseReply reads a reply envelope with the same hardening and structure
// checks as Parse, but without the request addressing rules: wsa:Action and
// wsa:MessageID may be absent or unknown (some stacks send faults with a
// generic action). Client.Call uses it and checks RelatesTo and Action
// itself.
func ParseReply(r io.Reader, lim Limits) (*Envelope, error) {
	env, err := parse(r, lim, modeReply)
	if err != nil {
		return nil, err
	}
	return env, nil
}

// parseMode selects the WS-Addressing rules: a request needs a known
// Action and a MessageID; a reply needs neither (clients check what they
// expect themselves).
type parseMode int

const (
	modeRequest parseMode = iota
	modeReply
)

// parse is Parse that, on an addressing or body error, still returns the
// envelope with the header fields it read, so a server can address its
// fault (RelatesTo) to the request.
func parse(r io.Reader, lim Limits, mode parseMode) (*Envelope, error) {
	lim = lim.withDefaults()
	b, err := readLimited(r, lim.MaxBytes)
	if err != nil {
		return nil, err
	}
	doc, err := parseXML(b, lim.MaxDepth)
	if err != nil {
		return nil, err
	}
	root := doc.Root()
	if root.Tag != "Envelope" || root.NamespaceURI() != ns.SOAP12 {
		if root.Tag == "Envelope" && root.NamespaceURI() == SOAP11 {
			return nil, fault.Wrap(fault.BadlyFormedMsg, "SOAP 1.1 envelope; SOAP 1.2 is required", ErrVersionMismatch)
		}
		return nil, fault.New(fault.BadlyFormedMsg, "root element is not a SOAP 1.2 env:Envelope")
	}
	hdr, body, err := envelopeParts(root)
	if err != nil {
		return nil, err
	}
	env := &Envelope{}
	if hdr != nil {
		if err := readHeader(hdr, &env.Header); err != nil {
			return env, err
		}
	}
	if mode == modeRequest {
		if err := checkRequestAddressing(env.Header); err != nil {
			return env, err
		}
	}
	env.Body, err = bodyChild(body)
	if err != nil {
		return env, err
	}
	return env, nil
}

// envelopeParts returns env:Header (optional) and env:Body, rejecting
// anything else in env:Envelope.
func envelopeParts(root *etree.Element) (hdr, body *etree.Element, err error) {
	if hasText(root) {
		return nil, nil, fault.New(fault.BadlyFormedMsg, "text in env:Envelope")
	}
	kids := root.ChildElements()
	i := 0
	if i < len(kids) && isSOAP(kids[i], "Header") {
		hdr = kids[i]
		i++
	}
	if i >= len(kids) || !isSOAP(kids[i], "Body") {
		return nil, nil, fault.New(fault.BadlyFormedMsg, "env:Envelope must contain env:Body")
	}
	body = kids[i]
	if i+1 != len(kids) {
		return nil, nil, fault.New(fault.BadlyFormedMsg, "unexpected element after env:Body")
	}
	return hdr, body, nil
}

// bodyChild returns the single child element of env:Body.
func bodyChild(body *etree.Element) (*etree.Element, error) {
	kids := body.ChildElements()
	if len(kids) != 1 || hasText(body) {
		return nil, fault.New(fault.BadlyFormedMsg, "env:Body must contain exactly one element")
	}
	return kids[0], nil
}

func isSOAP(e *etree.Element, local string) bool {
	return e.Tag == local && e.NamespaceURI() == ns.SOAP12
}

func hasText(e *etree.Element) bool {
	for _, t := range e.Child {
		if cd, ok := t.(*etree.CharData); ok && strings.TrimSpace(cd.Data) != "" {
			return true
		}
	}
	return false
}

// readHeader reads the WS-Addressing properties and enforces
// mustUnderstand on the other header blocks.
func readHeader(hdr *etree.Element, h *Header) error {
	seen := map[string]bool{}
	for _, blk := range hdr.ChildElements() {
		if blk.NamespaceURI() != ns.WSA {
			if mustUnderstand(blk) {
				return fault.Wrap(fault.BadlyFormedMsg, "header block "+blk.Tag+" must be understood but is not supported",
					ErrMustUnderstand)
			}
			continue
		}
		if seen[blk.Tag] {
			return duplicateHeader(blk.Tag)
		}
		seen[blk.Tag] = true
		if err := readWSA(blk, h); err != nil {
			return err
		}
	}
	return nil
}

// readWSA stores one wsa: header block.
func readWSA(blk *etree.Element, h *Header) error {
	switch blk.Tag {
	case "Action":
		h.Action = strings.TrimSpace(blk.Text())
	case "MessageID":
		h.MessageID = strings.TrimSpace(blk.Text())
	case "To":
		h.To = strings.TrimSpace(blk.Text())
	case "RelatesTo":
		if rt := blk.SelectAttrValue("RelationshipType", ""); rt != "" && rt != ns.WSA+"/reply" {
			return fault.New(fault.BadlyFormedMsg, "unsupported wsa:RelatesTo RelationshipType")
		}
		h.RelatesTo = strings.TrimSpace(blk.Text())
	case "ReplyTo", "FaultTo":
		// Replies always go back on the HTTP response (anonymous); the
		// WSDLs define no asynchronous binding.
	case "From":
		if a := blk.SelectElement("Address"); a != nil && a.NamespaceURI() == ns.WSA {
			h.From = strings.TrimSpace(a.Text())
		}
	default:
		if mustUnderstand(blk) {
			return fault.Wrap(fault.BadlyFormedMsg, "header block wsa:"+blk.Tag+" is not supported", ErrMustUnderstand)
		}
	}
	return nil
}

func duplicateHeader(tag string) error {
	code := fault.BadlyFormedMsg
	switch tag {
	case "Action":
		code = fault.BadWsaAction
	case "MessageID":
		code = fault.BadWsaMessageID
	case "To":
		code = fault.BadWsaTo
	}
	return fault.New(code, "duplicate wsa:"+tag+" header")
}

// mustUnderstand reports whether blk is targeted at this node (no role, or
// the next or ultimateReceiver role) and marked env:mustUnderstand.
func mustUnderstand(blk *etree.Element) bool {
	mu, role := "", ""
	for _, a := range blk.Attr {
		if a.Space == "" || a.NamespaceURI() != ns.SOAP12 {
			continue
		}
		switch a.Key {
		case "mustUnderstand":
			mu = strings.TrimSpace(a.Value)
		case "role":
			role = strings.TrimSpace(a.Value)
		}
	}
	if mu != "true" && mu != "1" {
		return false
	}
	return role == "" || role == ns.SOAP12+"/role/next" || role == ns.SOAP12+"/role/ultimateReceiver"
}

// checkRequestAddressing applies the request rules for wsa:Action and
// wsa:MessageID.
func checkRequestAddressing(h Header) error {
	if h.Action == "" {
		return fault.New(fault.BadWsaAction, "wsa:Action header is missing")
	}
	if !knownAction(h.Action) {
		return fault.New(fault.BadWsaAction, "wsa:Action is not an action of any supported interface")
	}
	if h.MessageID == "" {
		return fault.New(fault.BadWsaMessageID, "wsa:MessageID header is missing")
	}
	if !isAbsoluteURI(h.MessageID) {
		return fault.New(fault.BadWsaMessageID, "wsa:MessageID is not an absolute URI")
	}
	return nil
}

// isAbsoluteURI reports whether s parses as a URI with a scheme and has no
// whitespace.
func isAbsoluteURI(s string) bool {
	if strings.ContainsAny(s, " \t\r\n") {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && u.Scheme != "" && (u.Opaque != "" || u.Host != "" || u.Path != "")
}
