package provider

import (
	"slices"
	"strings"
)

// Payload type (service category) URIs the portal can send and open
// (SMD.md §3.1): what a hosted organisation accepts when its profile names
// none.
const (
	CategoryReferral         = "http://ns.hl7.org.au/hl7v2/profiles/HL7AU-OO-REF-SIMPLIFIED-201706"
	CategoryReferralResponse = "http://ns.hl7.org.au/hl7v2/profiles/HL7AU-OO-REF-SIMPLIFIED-201706/RRI"
	CategoryReport           = "http://ns.hl7.org.au/hl7v2/profiles/HL7AU-OO-ORU-201701"
	CategoryACK              = "http://ns.hl7.org.au/hl7v2/profiles/HL7AU-OO-ACK-201701"
	CategoryReadACK          = "http://ns.hl7.org.au/hl7v2/profiles/HL7AU-OO-ACK-READ-202001"
	CategoryEReferralMDM     = "http://ns.electronichealth.net.au/er/sc/deliver/hl7Mdm/2012"
	CategorySpecialistMDM    = "http://ns.electronichealth.net.au/sl/sc/deliver/hl7Mdm/2012"
	CategoryDischargeMDM     = "http://ns.electronichealth.net.au/ds/sc/deliver/hl7Mdm/2012"
)

// SupportedCategories is the portal's own set, in display order.
var SupportedCategories = []string{
	CategoryReferral, CategoryReport, CategoryEReferralMDM, CategorySpecialistMDM, CategoryDischargeMDM,
	CategoryACK, CategoryReadACK, CategoryReferralResponse,
}

// documentTypes names payload type URIs for people choosing a recipient.
var documentTypes = map[string]string{
	CategoryReferral:         "Referral",
	CategoryReferral + "-L1": "Referral",
	CategoryReferralResponse: "Referral response",
	CategoryReport:           "Pathology/Radiology report",
	CategoryACK:              "Acknowledgement",
	CategoryReadACK:          "Read acknowledgement",
	"http://ns.hl7.org.au/hl7v2/profiles/HL7AU-OO-ORM-201701": "Order",
	"http://ns.hl7.org.au/hl7v2/profiles/HL7AU-OO-ORR-201701": "Order response",
	"http://ns.hl7.org.au/hl7v2/profiles/HL7AU-OO-OSQ-202001": "Order status query",
	"http://ns.hl7.org.au/hl7v2/profiles/HL7AU-OO-OSR-202001": "Order status response",
	CategoryDischargeMDM: "Discharge summary (CDA package)",
	CategoryEReferralMDM: "eReferral (CDA package)",
	"http://ns.electronichealth.net.au/es/sc/deliver/hl7Mdm/2012":  "Event summary (CDA package)",
	"http://ns.electronichealth.net.au/shs/sc/deliver/hl7Mdm/2012": "Shared health summary (CDA package)",
	CategorySpecialistMDM: "Specialist letter (CDA package)",
	"http://ns.electronichealth.net.au/ack/sc/deliver/hl7Ack/2012":        "Acknowledgement",
	"http://ns.electronichealth.net.au/etp/sc/prescriptionrequesting/1.1": "Prescription request",
}

// DocumentType is the human name of a payload type URI; an unknown URI is
// shown by its last path segment so it can still be told apart.
func DocumentType(uri string) string {
	if n, ok := documentTypes[uri]; ok {
		return n
	}
	s := strings.TrimRight(uri, "/")
	if i := strings.LastIndex(s, "/"); i >= 0 && i < len(s)-1 {
		return "Other (" + s[i+1:] + ")"
	}
	return "Other (" + uri + ")"
}

// DocumentTypes names uris, each name once, in order.
func DocumentTypes(uris []string) []string {
	var out []string
	for _, u := range uris {
		if n := DocumentType(u); !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}
