// Package pki is the certificate layer of the SMD protocol library: a test
// PKI shaped like the NASH organisation PKI, PEM helpers, and the receive
// side certificate checks of ATS 5822-2010 / AS 5552-2013 (PKI section) and
// the HL7 AU Provider Directory security rules (SMD.md §1.13).
//
// # Test PKI
//
// NewCA and CA.Issue create RSA-2048 certificates with the organisation's
// HPI-O (or SMD target) URI as a URI subjectAltName, a SubjectKeyIdentifier
// (needed for xenc X509SKI, SMD.md §1.5) and key usages per Usage. Every
// subject carries "TEST" in O and CN; these certificates must never be
// mistaken for NASH ones. Since Go 1.26 crypto/rsa ignores the Rand given
// to key generation unless GODEBUG=cryptocustomrand=1 is set; Options.Rand
// always drives serial numbers.
//
// # Receipt checks and fault mapping
//
// Verifier.CheckSigner and Verifier.CheckEncryptionCert return
// *fault.Error values (wsp-StandardError-2010 codes, SMD.md §1.9):
//
//	no trust anchors, chain not ending at Roots   badCertificateTransmitted
//	certificate (or chain) expired / not yet valid
//	  at the message creationTime or now          badCertificateTransmitted
//	certificate or chain member revoked           badCertificateTransmitted
//	signing cert without digitalSignature or
//	  contentCommitment (nonRepudiation)          certificateKeyUsage
//	encryption cert without keyEncipherment       certificateKeyUsage
//	encryption cert without SubjectKeyIdentifier  certificateSkiMissing
//	senderOrganisation not among SAN URIs (SEC10) notAuthorised
//
// badCertificateTransmitted is used for trust, validity and revocation
// because the schema has no narrower code for them (certificateUnidentified
// exists only in the ELS copy of the schema). A certificate without a
// keyUsage extension is rejected: NASH certificates always carry one.
package pki
