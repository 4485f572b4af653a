package webhook

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"mmsprofile/mmsbridge"
)

func common(rcv mmsbridge.Receiver) Common {
	return twilioHandler(&fakeTwilio{api: httptest.NewUnstartedServer(nil)}, rcv, true).Common
}

func TestTelnyxWebhook(t *testing.T) {
	media := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			http.Error(w, "leaked", http.StatusBadRequest)
			return
		}
		w.Write(pngMagic)
	}))
	defer media.Close()
	pub, priv, _ := ed25519.GenerateKey(nil)
	var got []*mmsbridge.Message
	h := &Telnyx{PublicKey: pub, MaxAge: 5 * time.Minute, APIURL: "https://api.telnyx.com",
		Common: common(mmsbridge.ReceiverFunc(func(ctx context.Context, m *mmsbridge.Message) error { got = append(got, m); return nil }))}
	body := fmt.Sprintf(`{"data":{"event_type":"message.received","payload":{"id":"b301","from":{"phone_number":"+12025550143"},"to":[{"phone_number":"+12025550100"}],"text":"hi","media":[{"url":"%s/x.jpg","content_type":"image/jpeg"}]}}}`, media.URL)
	send := func(body string, ts time.Time, key ed25519.PrivateKey) int {
		s := strconv.FormatInt(ts.Unix(), 10)
		req := httptest.NewRequest(http.MethodPost, "/telnyx", strings.NewReader(body))
		req.Header.Set("telnyx-timestamp", s)
		req.Header.Set("telnyx-signature-ed25519", base64.StdEncoding.EncodeToString(ed25519.Sign(key, []byte(s+"|"+body))))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code
	}
	if c := send(body, time.Now(), priv); c != 200 || len(got) != 1 || got[0].Key != "telnyx:b301" || len(got[0].Images()) != 1 || got[0].LinkedID != "+12025550100" {
		t.Fatalf("good webhook: %d, %+v", c, got)
	}
	_, other, _ := ed25519.GenerateKey(nil)
	if c := send(body, time.Now(), other); c != 403 || len(got) != 1 {
		t.Fatalf("forged: %d", c)
	}
	if c := send(body, time.Now().Add(-10*time.Minute), priv); c != 403 || len(got) != 1 {
		t.Fatalf("stale: %d", c)
	}
	if c := send(`{"data":{"event_type":"message.finalized","payload":{"id":"x"}}}`, time.Now(), priv); c != 200 || len(got) != 1 {
		t.Fatalf("delivery report: %d", c)
	}
	if c := send(`{"data":`, time.Now(), priv); c != 400 {
		t.Fatalf("malformed: %d", c)
	}
}

func TestBandwidthCallback(t *testing.T) {
	var mediaAuth string
	media := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _, _ := r.BasicAuth()
		mediaAuth = u
		w.Write(pngMagic)
	}))
	defer media.Close()
	var got []*mmsbridge.Message
	h := &Bandwidth{Username: "cb", Password: "cbpass", APIUsername: "api", APIPassword: "apipass",
		APIURL: "https://messaging.bandwidth.com", MediaURL: media.URL,
		Common: common(mmsbridge.ReceiverFunc(func(ctx context.Context, m *mmsbridge.Message) error { got = append(got, m); return nil }))}
	body := fmt.Sprintf(`[{"type":"message-delivered","message":{"id":"o1"}},{"type":"message-received","to":"+12025550100","message":{"id":"m1","from":"+12025550143","to":["+12025550100"],"text":"hey","media":["%s/api/v2/users/1/media/a.jpg"]}}]`, media.URL)
	send := func(user, pass, body string) int {
		req := httptest.NewRequest(http.MethodPost, "/bandwidth", strings.NewReader(body))
		req.SetBasicAuth(user, pass)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code
	}
	if c := send("cb", "cbpass", body); c != 200 || len(got) != 1 || got[0].Key != "bandwidth:m1" || len(got[0].Images()) != 1 || mediaAuth != "api" {
		t.Fatalf("good callback: %d %+v media auth %q", c, got, mediaAuth)
	}
	if c := send("cb", "wrong", body); c != 401 || len(got) != 1 {
		t.Fatalf("bad auth: %d", c)
	}
	if c := send("cb", "cbpass", `{"type":`); c != 400 {
		t.Fatalf("malformed: %d", c)
	}
}

// TestTelnyxSlowMedia checks Telnyx's 2 s: media that does not come within
// the fetch budget gets a 503 (Telnyx posts again, nothing committed), and
// on Telnyx's last attempt the MMS goes on without the picture.
func TestTelnyxSlowMedia(t *testing.T) {
	media := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // never answers
	}))
	defer media.Close()
	pub, priv, _ := ed25519.GenerateKey(nil)
	var got []*mmsbridge.Message
	h := &Telnyx{PublicKey: pub, MaxAge: 5 * time.Minute, APIURL: "https://api.telnyx.com",
		Common: common(mmsbridge.ReceiverFunc(func(ctx context.Context, m *mmsbridge.Message) error { got = append(got, m); return nil }))}
	send := func(attempt int) int {
		body := fmt.Sprintf(`{"data":{"event_type":"message.received","payload":{"id":"s1","from":{"phone_number":"+12025550143"},"to":[{"phone_number":"+12025550100"}],"text":"hi","media":[{"url":"%s/x.jpg","content_type":"image/jpeg"}]}},"meta":{"attempt":%d}}`, media.URL, attempt)
		s := strconv.FormatInt(time.Now().Unix(), 10)
		req := httptest.NewRequest(http.MethodPost, "/telnyx", strings.NewReader(body))
		req.Header.Set("telnyx-timestamp", s)
		req.Header.Set("telnyx-signature-ed25519", base64.StdEncoding.EncodeToString(ed25519.Sign(priv, []byte(s+"|"+body))))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code
	}
	if c := send(1); c != http.StatusServiceUnavailable || len(got) != 0 {
		t.Fatalf("first attempt: answer %d, %d messages; want 503 and none", c, len(got))
	}
	if c := send(telnyxAttempts); c != 200 || len(got) != 1 {
		t.Fatalf("last attempt: answer %d, %d messages; want 200 and one", c, len(got))
	}
	if im := got[0].Images(); got[0].Text() != "hi" || len(im) != 1 || im[0].Missing != mmsbridge.ErrMediaUnavailable {
		t.Fatalf("last attempt delivered %q, images %+v", got[0].Text(), im)
	}
}
