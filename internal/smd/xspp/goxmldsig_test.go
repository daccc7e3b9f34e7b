package xspp

import (
	"crypto"
	"testing"

	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"
)

// TestVerifyGoxmldsigSigned: a signature built with goxmldsig's
// SigningContext the way DEPENDENCIES.md §2.1 describes (exc-c14n,
// IdAttribute "id", NSDetatch of the data element) verifies with Verify.
func TestVerifyGoxmldsigSigned(t *testing.T) {
	f := loadFixtures(t)
	for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256} {
		t.Run(h.String(), func(t *testing.T) {
			// Start from our container and replace its signature.
			sp, err := Sign(message(benchPayload(500)), []Signer{f.Sender.signer()}, SignOptions{})
			if err != nil {
				t.Fatal(err)
			}
			sigs := sp.SelectElement("signatures")
			sigs.RemoveChildAt(0)
			data := sp.SelectElement("signedPayloadData")

			ctx, err := dsig.NewSigningContext(f.Sender.Key, [][]byte{f.Sender.Cert.Raw})
			if err != nil {
				t.Fatal(err)
			}
			ctx.Hash = h
			ctx.IdAttribute = "id"
			ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
			nsCtx, err := etreeutils.NSBuildParentContext(data)
			if err != nil {
				t.Fatal(err)
			}
			detached, err := etreeutils.NSDetatch(nsCtx, data)
			if err != nil {
				t.Fatal(err)
			}
			sig, err := ctx.ConstructSignature(detached, false)
			if err != nil {
				t.Fatal(err)
			}
			sigs.AddChild(sig)
			v, err := Verify(mustParse(t, string(wire(t, sp))))
			if err != nil {
				t.Fatalf("Verify: %v\n%s", err, wire(t, sp))
			}
			if !v.Signers[0].Equal(f.Sender.Cert) {
				t.Fatal("wrong signer")
			}
		})
	}
}
