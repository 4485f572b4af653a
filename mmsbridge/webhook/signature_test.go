package webhook

import (
	"crypto/ed25519"
	"encoding/base64"
	"net/url"
	"strconv"
	"testing"
	"time"
)

// The worked example of Twilio's webhook security documentation.
func TestTwilioSignatureDocumentedExample(t *testing.T) {
	params := url.Values{
		"CallSid": {"CA1234567890ABCDE"},
		"Caller":  {"+14158675309"},
		"Digits":  {"1234"},
		"From":    {"+14158675309"},
		"To":      {"+18005551212"},
	}
	const u, token, want = "https://mycompany.com/myapp.php?foo=1&bar=2", "12345", "RSOYDt4T1cUTdK1PDd93/VVr8B8="
	if got := TwilioSignature(token, u, params); got != want {
		t.Fatalf("signature %s, want %s", got, want)
	}
	if !VerifyTwilio(token, u, params, want) {
		t.Fatal("documented signature refused")
	}
	params.Set("Digits", "9999")
	if VerifyTwilio(token, u, params, want) {
		t.Fatal("tampered parameters accepted")
	}
	if VerifyTwilio(token, u, params, "") {
		t.Fatal("empty header accepted")
	}
}

func TestVerifyTelnyx(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	body := []byte(`{"data":{"event_type":"message.received"}}`)
	sign := func(ts int64, b []byte) (string, string) {
		s := strconv.FormatInt(ts, 10)
		return base64.StdEncoding.EncodeToString(ed25519.Sign(priv, append([]byte(s+"|"), b...))), s
	}
	sig, ts := sign(now.Unix(), body)
	if err := VerifyTelnyx(pub, sig, ts, body, now, 5*time.Minute); err != nil {
		t.Fatalf("good signature: %v", err)
	}
	if err := VerifyTelnyx(pub, sig, ts, append(body, ' '), now, 5*time.Minute); err != errSignature {
		t.Fatalf("altered body: %v", err)
	}
	sig, ts = sign(now.Add(-6*time.Minute).Unix(), body)
	if err := VerifyTelnyx(pub, sig, ts, body, now, 5*time.Minute); err != errStale {
		t.Fatalf("old timestamp: %v", err)
	}
	if err := VerifyTelnyx(pub, "!!", ts, body, now, 5*time.Minute); err != errSignature {
		t.Fatalf("garbage: %v", err)
	}
}
