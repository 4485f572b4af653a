package webhook

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"mmsprofile/mmsbridge"
)

type fakeTwilio struct {
	api, storage *httptest.Server
	mediaHits    atomic.Int32
	media        []byte
	replies      chan url.Values
}

func newFakeTwilio(t *testing.T, media []byte) *fakeTwilio {
	f := &fakeTwilio{media: media, replies: make(chan url.Values, 4)}
	f.storage = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			http.Error(w, "credentials leaked", http.StatusBadRequest)
			return
		}
		w.Write(f.media)
	}))
	f.api = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "AC1" || p != "tok" {
			http.Error(w, "auth", http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/Messages.json") {
			r.ParseForm()
			f.replies <- r.PostForm
			w.WriteHeader(http.StatusCreated)
			return
		}
		f.mediaHits.Add(1)
		http.Redirect(w, r, f.storage.URL+"/blob", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(func() { f.api.Close(); f.storage.Close() })
	return f
}

func twilioHandler(f *fakeTwilio, rcv mmsbridge.Receiver, allowPrivate bool) *Twilio {
	return &Twilio{AccountSID: "AC1", AuthToken: "tok", URL: "https://mms.example.org/twilio", APIURL: f.api.URL,
		Common: Common{MaxBodyBytes: 1 << 20, MaxMedia: 10, FetchTimeout: 5 * time.Second,
			Fetcher: NewFetcher(64<<10, 5*time.Second, allowPrivate), Receiver: rcv, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}}
}

func post(t *testing.T, h http.Handler, form url.Values, sig string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/twilio", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", sig)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func TestTwilioWebhook(t *testing.T) {
	f := newFakeTwilio(t, pngMagic)
	var got []*mmsbridge.Message
	rcv := mmsbridge.ReceiverFunc(func(ctx context.Context, m *mmsbridge.Message) error { got = append(got, m); return nil })
	h := twilioHandler(f, rcv, true)
	form := url.Values{"MessageSid": {"MM1"}, "AccountSid": {"AC1"}, "From": {"+12025550143"}, "To": {"+12025550100"},
		"Body": {"hello"}, "NumMedia": {"1"}, "MediaUrl0": {f.api.URL + "/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"},
		"MediaContentType0": {"image/jpeg"}}

	w := post(t, h, form, TwilioSignature("tok", h.URL, form))
	if w.Code != 200 || !strings.Contains(w.Body.String(), "<Response>") {
		t.Fatalf("answer %d %q", w.Code, w.Body)
	}
	if len(got) != 1 {
		t.Fatalf("%d messages", len(got))
	}
	m := got[0]
	if m.Transport != mmsbridge.TransportTwilio || m.Key != "twilio:MM1" || m.Sender != "+12025550143" || m.LinkedID != "+12025550100" || m.Text() != "hello" {
		t.Fatalf("message %+v", m)
	}
	// The announced image/jpeg is not believed: the bytes are a PNG.
	if im := m.Images(); len(im) != 1 || im[0].ContentType != "image/png" || !bytes.Equal(im[0].Data, pngMagic) {
		t.Fatalf("images %+v", im)
	}

	t.Run("bad signature", func(t *testing.T) {
		var reasons []string
		h.Refused = func(p, r string) { reasons = append(reasons, p+"/"+r) }
		before := f.mediaHits.Load()
		w := post(t, h, form, TwilioSignature("other", h.URL, form))
		if w.Code != http.StatusForbidden || len(got) != 1 || f.mediaHits.Load() != before || len(reasons) != 1 || reasons[0] != "twilio/signature" {
			t.Fatalf("answer %d, %d messages, media hits %d→%d, reasons %v", w.Code, len(got), before, f.mediaHits.Load(), reasons)
		}
		h.Refused = nil
	})
	// missingPicture checks that the last message delivered went on with
	// its text and the picture marked missing for why.
	missingPicture := func(t *testing.T, w *httptest.ResponseRecorder, n int, why error) {
		t.Helper()
		if w.Code != 200 || len(got) != n {
			t.Fatalf("answer %d, %d messages, want 200 and %d", w.Code, len(got), n)
		}
		m := got[n-1]
		im := m.Images()
		if m.Text() != "hello" || len(im) != 1 || im[0].Missing != why || len(im[0].Data) != 0 || im[0].ContentType != "image/jpeg" {
			t.Fatalf("message %q, images %+v; want the text and the picture missing for %v", m.Text(), im, why)
		}
	}
	t.Run("oversized media", func(t *testing.T) {
		f.media = bytes.Repeat([]byte{1}, 65<<10)
		defer func() { f.media = pngMagic }()
		form.Set("MessageSid", "MM2")
		missingPicture(t, post(t, h, form, TwilioSignature("tok", h.URL, form)), 2, mmsbridge.ErrMediaTooLarge)
	})
	t.Run("ssrf", func(t *testing.T) {
		hs := twilioHandler(f, rcv, false)
		before := f.mediaHits.Load()
		form.Set("MessageSid", "MM3")
		w := post(t, hs, form, TwilioSignature("tok", hs.URL, form))
		if f.mediaHits.Load() != before {
			t.Fatalf("loopback media fetched: hits %d→%d", before, f.mediaHits.Load())
		}
		missingPicture(t, w, 3, mmsbridge.ErrMediaUnavailable)
	})
	t.Run("media host failing", func(t *testing.T) {
		// Twilio does not post again after a 503: the text must not be
		// lost to a picture that cannot be fetched just now.
		form.Set("MessageSid", "MM4")
		form.Set("MediaUrl0", f.storage.URL+"/gone")
		f.media = nil
		defer func() { f.media = pngMagic }()
		stop := f.storage.Config.Handler
		f.storage.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusBadGateway) })
		defer func() { f.storage.Config.Handler = stop }()
		missingPicture(t, post(t, h, form, TwilioSignature("tok", h.URL, form)), 4, mmsbridge.ErrMediaUnavailable)
	})
}

func TestTwilioReplier(t *testing.T) {
	f := newFakeTwilio(t, nil)
	r := TwilioReplier(f.api.URL, "AC1", "tok")
	if err := r.Send(context.Background(), "+12025550100", "+12025550143", "Send LINK"); err != nil {
		t.Fatal(err)
	}
	got := <-f.replies
	if got.Get("To") != "+12025550143" || got.Get("From") != "+12025550100" || got.Get("Body") != "Send LINK" {
		t.Fatalf("reply %v", got)
	}
	bad := TwilioReplier(f.api.URL, "AC1", "wrong")
	if err := bad.Send(context.Background(), "+1", "+2", "x"); err == nil {
		t.Fatal("refused reply reported as sent")
	}
}
