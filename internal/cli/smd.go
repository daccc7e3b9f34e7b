package cli

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/beevik/etree"

	"github.com/opensmd/portal/internal/smd"
	"github.com/opensmd/portal/internal/smd/fault"
	"github.com/opensmd/portal/internal/smd/ns"
	"github.com/opensmd/portal/internal/smd/pki"
	"github.com/opensmd/portal/internal/smd/safexml"
	"github.com/opensmd/portal/internal/smd/soap"
	"github.com/opensmd/portal/internal/smd/wire"
	"github.com/opensmd/portal/internal/smd/xspp"
)

// runSMD implements `portal smd seal|open|envelope`, the integrator's
// debugging tools. Their flags are a stable interface.
func runSMD(_ context.Context, env Env, args []string) error {
	if len(args) == 0 {
		return usageError{"usage: portal smd seal|open|envelope [flags]"}
	}
	switch args[0] {
	case "seal":
		return smdSeal(env, args[1:])
	case "open":
		return smdOpen(env, args[1:])
	case "envelope":
		return smdEnvelope(env, args[1:])
	}
	return usageError{fmt.Sprintf("unknown smd command %q (seal, open, envelope)", args[0])}
}

func smdSeal(env Env, args []string) error {
	fs := newFlagSet("smd seal", env)
	senderCert := fs.String("sender-cert", "", "sender organisation's signing certificate (PEM)")
	senderKey := fs.String("sender-key", "", "sender organisation's private key (PEM)")
	recipientCert := fs.String("recipient-cert", "", "receiver's encryption certificate (PEM)")
	senderOrg := fs.String("sender-org", "", "senderOrganisation URI")
	receiverOrg := fs.String("receiver-org", "", "receiverOrganisation URI")
	category := fs.String("category", "", "serviceCategory URI (payload type)")
	in := fs.String("in", "-", "payload file (- for stdin)")
	out := fs.String("out", "-", "output file (- for stdout)")
	wrap := fs.Bool("wrap", false, "always wrap the payload as msg:message (default: wrap unless it is one XML element)")
	sha256 := fs.Bool("sha256", false, "sign with RSA-SHA256/SHA-256 instead of RSA-SHA1/SHA-1")
	expiry := fs.Duration("expiry", 48*time.Hour, "time until expiryTime (0: none)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *senderCert == "" || *senderKey == "" || *recipientCert == "" || *senderOrg == "" || *receiverOrg == "" || *category == "" {
		return usageError{"--sender-cert, --sender-key, --recipient-cert, --sender-org, --receiver-org and --category are required"}
	}
	signer, err := loadSigner(*senderCert, *senderKey, *sha256)
	if err != nil {
		return err
	}
	recipient, err := loadLeaf(*recipientCert)
	if err != nil {
		return err
	}
	data, err := readInput(*in)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	meta := wire.MessageMetadata{
		CreationTime: now, InvocationID: wire.NewInvocationID(nil),
		ReceiverOrganisation: *receiverOrg, SenderOrganisation: *senderOrg,
		ServiceCategory: *category, ServiceInterface: ns.IntfSMD,
	}
	if *expiry > 0 {
		meta.ExpiryTime = now.Add(*expiry)
	}
	sm, err := smd.Seal(meta, payloadElement(data, *wrap), smd.SealOptions{Signers: []xspp.Signer{signer}, Recipients: []*x509.Certificate{recipient}})
	if err != nil {
		return err
	}
	b, err := smd.Marshal(sm)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "invocationId %s\n", meta.InvocationID)
	return writeOutput(*out, env.Stdout, b)
}

// payloadElement puts a single XML element in directly and wraps anything
// else (HL7 v2, PDF, ZIP) in msg:message (SMD.md §1.6).
func payloadElement(data []byte, forceWrap bool) *etree.Element {
	if !forceWrap {
		if doc, err := safexml.Parse(data); err == nil && doc.Root() != nil {
			return doc.Root()
		}
	}
	return smd.WrapBytes(data)
}

func loadSigner(certFile, keyFile string, sha256 bool) (xspp.Signer, error) {
	cert, err := loadLeaf(certFile)
	if err != nil {
		return xspp.Signer{}, err
	}
	key, err := pki.LoadKeyFile(keyFile)
	if err != nil {
		return xspp.Signer{}, err
	}
	s := xspp.Signer{Key: key, Cert: cert}
	if sha256 {
		s.Hash = crypto.SHA256
	}
	return s, nil
}

func smdOpen(env Env, args []string) error {
	fs := newFlagSet("smd open", env)
	certFile := fs.String("cert", "", "receiver's encryption certificate (PEM)")
	keyFile := fs.String("key", "", "receiver's private key (PEM)")
	trust := fs.String("trust", "", "trusted CA certificate(s) (PEM)")
	in := fs.String("in", "-", "SealedMessage file (- for stdin)")
	out := fs.String("out", "-", "payload output file (- for stdout)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *certFile == "" || *keyFile == "" || *trust == "" {
		return usageError{"--cert, --key and --trust are required"}
	}
	cert, err := loadLeaf(*certFile)
	if err != nil {
		return err
	}
	key, err := pki.LoadKeyFile(*keyFile)
	if err != nil {
		return err
	}
	roots, err := loadPool(*trust)
	if err != nil {
		return err
	}
	data, err := readInput(*in)
	if err != nil {
		return err
	}
	opened, err := openSealed(data, smd.OpenOptions{Keys: []xspp.KeyPair{{Cert: cert, Key: key}}, Trust: &pki.Verifier{Roots: roots}})
	if err != nil {
		if code, ok := fault.CodeOf(err); ok {
			var fe *fault.Error
			errors.As(err, &fe)
			return fmt.Errorf("%s: %s", code, fe.Message)
		}
		return err
	}
	fmt.Fprintf(env.Stderr, "verified: signed by %s for %s, invocationId %s\n",
		opened.Signers[0].Subject.CommonName, opened.Metadata.SenderOrganisation, opened.Metadata.InvocationID)
	return writeOutput(*out, env.Stdout, opened.Payload)
}

func openSealed(data []byte, o smd.OpenOptions) (*smd.Opened, error) {
	sm, err := smd.Unmarshal(data)
	if err != nil {
		return nil, err
	}
	return smd.Open(sm, o)
}

func loadPool(file string) (*x509.CertPool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	certs, err := pki.ParseCertsPEM(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}

func readInput(name string) ([]byte, error) {
	if name == "-" || name == "" {
		return io.ReadAll(io.LimitReader(os.Stdin, maxInput))
	}
	return os.ReadFile(name)
}

// maxInput bounds what the debugging tools read from stdin (the SMD
// endpoint's default body limit).
const maxInput = 50 << 20

func writeOutput(name string, stdout io.Writer, b []byte) error {
	if name == "-" || name == "" {
		_, err := stdout.Write(b)
		return err
	}
	return os.WriteFile(name, b, 0o600)
}

// smdEnvelope wraps a SealedMessage (as written by `smd seal`) in the SOAP
// 1.2 SMD deliver request that would be POSTed to --to.
func smdEnvelope(env Env, args []string) error {
	fs := newFlagSet("smd envelope", env)
	to := fs.String("to", "", "receiver's SMD endpoint URL (wsa:To)")
	in := fs.String("in", "-", "SealedMessage file (- for stdin)")
	out := fs.String("out", "-", "output file (- for stdout)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *to == "" {
		return usageError{"--to URL is required"}
	}
	data, err := readInput(*in)
	if err != nil {
		return err
	}
	sm, err := smd.Unmarshal(data)
	if err != nil {
		return err
	}
	b, err := soap.Build(&soap.Envelope{
		Header: soap.Header{To: *to, Action: soap.SMDDeliver.RequestAction(), MessageID: wire.NewInvocationID(nil)},
		Body:   wire.SMDDeliver{Message: sm}.Element(),
	})
	if err != nil {
		return err
	}
	return writeOutput(*out, env.Stdout, b)
}
