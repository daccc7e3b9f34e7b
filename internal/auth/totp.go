package auth

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"image/png"
	"net/url"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// totpPeriod and totpSkew follow RFC 6238 defaults: 30 s steps, one step of
// clock drift either way.
const (
	totpPeriod = 30
	totpSkew   = 1
)

// TOTPEnrolment is a freshly generated TOTP secret shown once to the user.
type TOTPEnrolment struct {
	Secret  string // base32, for manual entry
	URL     string // otpauth:// URI
	QRImage string // data: URL of a PNG QR code of URL
}

// issuerName labels the account in authenticator apps.
const issuerName = "OpenSMD"

// NewTOTP generates a secret for account.
func NewTOTP(account string) (TOTPEnrolment, error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: issuerName, AccountName: account, Period: totpPeriod, SecretSize: 20})
	if err != nil {
		return TOTPEnrolment{}, fmt.Errorf("generate totp: %w", err)
	}
	return enrolmentOf(key)
}

func enrolmentOf(key *otp.Key) (TOTPEnrolment, error) {
	img, err := key.Image(240, 240)
	if err != nil {
		return TOTPEnrolment{}, fmt.Errorf("totp qr: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return TOTPEnrolment{}, fmt.Errorf("totp qr png: %w", err)
	}
	return TOTPEnrolment{
		Secret:  key.Secret(),
		URL:     key.URL(),
		QRImage: "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()),
	}, nil
}

// TOTPStep checks code against secret at now and returns the time step it
// matched, so the caller can refuse a replay of the same or an older step.
func TOTPStep(secret, code string, now time.Time) (int64, bool) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != 6 {
		return 0, false
	}
	step := now.Unix() / totpPeriod
	for d := int64(-totpSkew); d <= totpSkew; d++ {
		t := time.Unix((step+d)*totpPeriod, 0)
		want, err := totp.GenerateCodeCustom(secret, t, totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err == nil && want == code {
			return step + d, true
		}
	}
	return 0, false
}

// TOTPCode returns the current code for secret (used by tests and the demo).
func TOTPCode(secret string, now time.Time) (string, error) {
	return totp.GenerateCodeCustom(secret, now, totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
}

// NewRecoveryCodes returns n human-friendly one-time codes (xxxx-xxxx-xxxx)
// and their hashes for storage.
func NewRecoveryCodes(n int) (codes, hashes []string, err error) {
	for range n {
		b := make([]byte, 6)
		if _, err := rand.Read(b); err != nil {
			return nil, nil, err
		}
		h := hex.EncodeToString(b)
		c := h[0:4] + "-" + h[4:8] + "-" + h[8:12]
		codes = append(codes, c)
		hashes = append(hashes, HashRecoveryCode(c))
	}
	return codes, hashes, nil
}

// HashRecoveryCode normalises and hashes a recovery code. Codes carry 48 bits
// of entropy and are throttled like passwords, so a fast hash suffices.
func HashRecoveryCode(code string) string {
	c := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(code), "-", ""))
	sum := sha256.Sum256([]byte("recovery:" + c))
	return hex.EncodeToString(sum[:])
}

// EnrolmentFor rebuilds the enrolment view (QR code) of an existing secret.
func EnrolmentFor(secret, account string) (TOTPEnrolment, error) {
	key, err := otp.NewKeyFromURL((&url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + issuerName + ":" + account,
		RawQuery: url.Values{"secret": {secret}, "issuer": {issuerName}, "period": {"30"}, "digits": {"6"}, "algorithm": {"SHA1"}}.Encode()}).String())
	if err != nil {
		return TOTPEnrolment{}, err
	}
	return enrolmentOf(key)
}
