package webhook

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"mmsprofile/mmsbridge"
)

// FuzzBandwidthCallback: any authenticated body gets an answer, never a
// panic; media URLs are never fetched from loopback.
func FuzzBandwidthCallback(f *testing.F) {
	f.Add(`[{"type":"message-received","to":"+1","message":{"id":"m","from":"+12025550143","media":["http://127.0.0.1/x"]}}]`)
	f.Add(`[{"type":"message-delivered"}]`)
	f.Add(`{}`)
	c := common(mmsbridge.ReceiverFunc(func(context.Context, *mmsbridge.Message) error { return nil }))
	c.Fetcher = NewFetcher(1<<10, 1e9, false)
	h := &Bandwidth{Username: "u", Password: "p", APIUsername: "a", APIPassword: "b", APIURL: "https://x", MediaURL: "https://x", Common: c}
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPost, "/bandwidth", strings.NewReader(body))
		req.SetBasicAuth("u", "p")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 && w.Code != 400 && w.Code != 503 && w.Code != 413 {
			t.Fatalf("status %d", w.Code)
		}
	})
}
