package wire

import (
	"github.com/beevik/etree"

	"github.com/opensmd/portal/internal/smd/ns"
)

// CertRef is an els:ElsCertRefType: a certificate reference qualified by its
// use (TR 5823-2010, els-DataTypes-2010.xsd), with the nested
// qcr:qualifiedCertRef (qcr-QualifiedCertRef-2010.xsd; SMD.md §1.3).
type CertRef struct {
	// UseQualifier says what the certificate is for, e.g.
	// ns.CertUsePayloadKeyEnc.
	UseQualifier string
	// Type is the qcr:type URI, e.g. ns.CertRefTypePEM.
	Type string
	// Value is the qcr:value string, e.g. the PEM text.
	Value string
}

// AppendTo appends c to parent as element space:local (els:certRef in an
// InteractionType) and returns the new element.
func (c CertRef) AppendTo(parent *etree.Element, space, local string) *etree.Element {
	return declareUsed(c.build(parent, space, local))
}

func (c CertRef) build(parent *etree.Element, space, local string) *etree.Element {
	e := add(parent, space, local)
	addText(e, ns.ELS, "useQualifier", c.UseQualifier)
	q := add(e, ns.QualifiedCertRef, "qualifiedCertRef")
	addText(q, ns.QualifiedCertRef, "type", c.Type)
	addText(q, ns.QualifiedCertRef, "value", c.Value)
	return e
}

// ParseCertRef parses an ElsCertRefType element (its own name is not
// checked).
func ParseCertRef(el *etree.Element) (CertRef, error) {
	var c CertRef
	s := newSeq(el, "els:certRef")
	c.UseQualifier = s.uri(ns.ELS, "useQualifier")
	if q := s.one(ns.QualifiedCertRef, "qualifiedCertRef"); q != nil {
		qs := newSeq(q, "qcr:qualifiedCertRef")
		c.Type = qs.uri(ns.QualifiedCertRef, "type")
		c.Value = qs.str(ns.QualifiedCertRef, "value")
		s.fail(qs.done())
	}
	return c, s.done()
}

// Interaction is an els:InteractionType (TR 5823-2010 2010 schema): where and
// how a target receives one service category over one service interface.
// It appears in ELS lookup results and in SealedMessage routeRecord entries
// (SMD.md §1.3, §2.1).
type Interaction struct {
	Target           string
	ServiceCategory  string
	ServiceInterface string
	ServiceEndpoint  string
	ServiceProvider  string
	CertRefs         []CertRef
}

// AppendTo appends i to parent as element space:local and returns it.
func (i Interaction) AppendTo(parent *etree.Element, space, local string) *etree.Element {
	return declareUsed(i.build(parent, space, local))
}

func (i Interaction) build(parent *etree.Element, space, local string) *etree.Element {
	e := add(parent, space, local)
	addText(e, ns.ELS, "target", i.Target)
	addText(e, ns.ELS, "serviceCategory", i.ServiceCategory)
	addText(e, ns.ELS, "serviceInterface", i.ServiceInterface)
	addText(e, ns.ELS, "serviceEndpoint", i.ServiceEndpoint)
	addText(e, ns.ELS, "serviceProvider", i.ServiceProvider)
	for _, c := range i.CertRefs {
		c.build(e, ns.ELS, "certRef")
	}
	return e
}

// ParseInteraction parses an InteractionType element (its own name is not
// checked).
func ParseInteraction(el *etree.Element) (Interaction, error) {
	var i Interaction
	s := newSeq(el, "interaction")
	i.Target = s.uri(ns.ELS, "target")
	i.ServiceCategory = s.uri(ns.ELS, "serviceCategory")
	i.ServiceInterface = s.uri(ns.ELS, "serviceInterface")
	i.ServiceEndpoint = s.uri(ns.ELS, "serviceEndpoint")
	i.ServiceProvider = s.uri(ns.ELS, "serviceProvider")
	for _, ce := range s.many(ns.ELS, "certRef") {
		c, err := ParseCertRef(ce)
		s.fail(err)
		i.CertRefs = append(i.CertRefs, c)
	}
	return i, s.done()
}

// InteractionRequest is an els:InteractionRequestType: the query of an ELS
// listInteractions call (SMD.md §2.1). ServiceCategories must not be empty.
type InteractionRequest struct {
	Target            string
	ServiceCategories []string
	ServiceInterfaces []string
}

// AppendTo appends r to parent as element space:local and returns it.
func (r InteractionRequest) AppendTo(parent *etree.Element, space, local string) *etree.Element {
	return declareUsed(r.build(parent, space, local))
}

func (r InteractionRequest) build(parent *etree.Element, space, local string) *etree.Element {
	e := add(parent, space, local)
	addText(e, ns.ELS, "target", r.Target)
	for _, c := range r.ServiceCategories {
		addText(e, ns.ELS, "serviceCategory", c)
	}
	for _, i := range r.ServiceInterfaces {
		addText(e, ns.ELS, "serviceInterface", i)
	}
	return e
}

// ParseInteractionRequest parses an InteractionRequestType element (its own
// name is not checked).
func ParseInteractionRequest(el *etree.Element) (InteractionRequest, error) {
	var r InteractionRequest
	s := newSeq(el, "interactionRequest")
	r.Target = s.uri(ns.ELS, "target")
	r.ServiceCategories = s.uris(ns.ELS, "serviceCategory", 1)
	r.ServiceInterfaces = s.uris(ns.ELS, "serviceInterface", 0)
	return r, s.done()
}
