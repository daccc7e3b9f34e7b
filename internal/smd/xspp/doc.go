// Package xspp implements the XML Secured Payload Profiles of ATS 5821-2010
// (XSPP) as SMD uses them: the signed container sp:signedPayload
// (xsp-SignedPayload-2010.xsd) and the encrypted container
// ep:encryptedPayload (xsp-EncryptedPayload-2010.xsd). SMD.md §1.4 and §1.5
// give the algorithms, §4.1 the Go notes; DEPENDENCIES.md §1a and §2.6 the
// library choices and the safe receive pattern followed here.
//
// A sender calls Sign then Encrypt (sign-then-encrypt is mandatory, hence
// the badSigEncOrder code); a receiver calls Decrypt then Verify and then
// checks Verified.Signers with package pki. Only Verified.Data and
// Verified.Payload (re-parsed from Data) may be trusted afterwards.
//
// # Algorithms
//
// Sent: exc-c14n (SignedInfo and the one Reference transform), RSA-SHA1 with
// SHA-1 digests by default (what the ADHA Java/.NET libraries send) or
// RSA-SHA256 with SHA-256, KeyInfo/X509Data/X509Certificate; AES-256-CBC
// with a fresh key and IV per message, rsa-1_5 key transport per recipient
// with KeyInfo/X509Data/X509SKI and a DataReference.
//
// Accepted: the above plus rsa-sha256 under either URI, aes128/192-cbc,
// aes128/192/256-gcm (XML Encryption 1.1) and rsa-oaep-mgf1p (MGF1-SHA1,
// SHA-1 or SHA-256 OAEP digest). Anything else is refused with the matching
// badAlgorithm* code.
//
// # Signing
//
// goxmldsig (SigningContext.ConstructSignature) builds and signs each
// ds:Signature; its Canonicalizer is safexml's exclusive C14N (excC14N in
// sign.go). Verification is ours: goxmldsig's Validate only handles
// signatures enveloped in the element they sign, which SMD's are not.
//
// # Parsing and canonicalization
//
// Parsing and exclusive C14N come from package safexml, not from etree's
// reader (encoding/xml, about 50 MB/s here) or goxmldsig's canonicalizer
// (about 160 MB/s; its NSDetatch also refuses subtrees of more than 1000
// elements): together they would exceed the 20 ms budget for sealing and
// opening a 1 MB payload. goxmldsig differs from libxml2 in one case (it
// renders xmlns="" on an element whose inherited default namespace was
// never rendered), which would break digests against xmlsec1/libxml2-based
// peers; safexml follows libxml2. Signatures made with goxmldsig still
// verify here (goxmldsig_test.go).
//
// # Faults
//
// Receive-side failures are *fault.Error (internal/smd/fault):
//
//	safexml.Parse: not well-formed, DTD/entity, too deep     badlyFormedMsg
//	Decrypt: not an ep:encryptedPayload                      badlyFormedMsg
//	Decrypt: container structure, bad X509SKI/KeyInfo        badEncryption
//	Decrypt: data / key transport algorithm                  badAlgorithmDataEncryption / badAlgorithmKeyEncryption
//	Decrypt: no EncryptedKey for our SKI(s)                  badEncryption "no key for this recipient"
//	Decrypt: any failure once our key is found               badEncryption "payload cannot be decrypted" (always identical)
//	Decrypt: plaintext is not one sp:signedPayload           badSigEncOrder
//	Verify: not an sp:signedPayload                          badlyFormedMsg
//	Verify: c14n / transform, signature, digest algorithm    badAlgorithmC14N / badAlgorithmSignature / badAlgorithmDigest
//	Verify: KeyInfo not exactly one X509Data with exactly
//	        one X509Certificate, unparsable or non-RSA cert  badCertificateTransmitted
//	Verify: structure, wrapping (duplicate or foreign id,
//	        second signedPayloadData), bad signature/digest  badSignature
//
// On the sender side, Encrypt returns certificateSkiMissing for a recipient
// certificate without SubjectKeyId; other sender errors are plain errors.
//
// # Decryption oracle
//
// After the SKI match every failure (base64, RSA unwrap, length, padding,
// GCM tag, XML parse) yields the same fault value with no wrapped detail.
// rsa-1_5 is unwrapped with rsa.DecryptPKCS1v15SessionKey into a random
// key (an OAEP failure also falls back to a random key), so a bad key only
// shows up later as the same generic fault. Ciphertext length is checked
// (≥ 2 blocks, whole blocks) before any block is decrypted, and only the
// last padding byte is inspected, as XML Encryption §5.2 defines. Timing is
// not fully uniform (a padding failure is cheaper than a parse failure);
// mutual TLS limits who can probe.
package xspp
