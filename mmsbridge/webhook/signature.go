package webhook

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/url"
	"sort"
	"strconv"
	"time"
)

// TwilioSignature is X-Twilio-Signature for a form POST: base64 of
// HMAC-SHA1, keyed by the auth token, over the public URL followed by
// every parameter's name and value, sorted by name.
func TwilioSignature(authToken, publicURL string, params url.Values) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(publicURL))
	for _, k := range keys {
		vs := append([]string(nil), params[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			mac.Write([]byte(k))
			mac.Write([]byte(v))
		}
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// VerifyTwilio compares the header with the expected signature in
// constant time.
func VerifyTwilio(authToken, publicURL string, params url.Values, header string) bool {
	want := TwilioSignature(authToken, publicURL, params)
	return header != "" && subtle.ConstantTimeCompare([]byte(want), []byte(header)) == 1
}

// Reasons a webhook is refused, as metric labels.
var (
	errSignature = errors.New("bad signature")
	errStale     = errors.New("stale timestamp")
)

// VerifyTelnyx checks telnyx-signature-ed25519 (base64) over
// "timestamp|body" with the public key, and that telnyx-timestamp (Unix
// seconds) is no older than maxAge.
func VerifyTelnyx(pub ed25519.PublicKey, sigHeader, tsHeader string, body []byte, now time.Time, maxAge time.Duration) error {
	ts, err := strconv.ParseInt(tsHeader, 10, 64)
	if err != nil {
		return errSignature
	}
	sig, err := base64.StdEncoding.DecodeString(sigHeader)
	if err != nil || len(sig) != ed25519.SignatureSize || len(pub) != ed25519.PublicKeySize {
		return errSignature
	}
	msg := make([]byte, 0, len(tsHeader)+1+len(body))
	msg = append(append(append(msg, tsHeader...), '|'), body...)
	if !ed25519.Verify(pub, msg, sig) {
		return errSignature
	}
	// Checked after the signature so a forged old timestamp counts as a
	// forgery, and a genuine replay as stale.
	if d := now.Sub(time.Unix(ts, 0)); d > maxAge || d < -maxAge {
		return errStale
	}
	return nil
}

// BasicAuthOK compares Basic credentials in constant time.
func BasicAuthOK(gotUser, gotPass string, ok bool, user, pass string) bool {
	u := subtle.ConstantTimeCompare([]byte(gotUser), []byte(user))
	p := subtle.ConstantTimeCompare([]byte(gotPass), []byte(pass))
	return ok && u&p == 1
}
