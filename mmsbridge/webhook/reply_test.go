package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

// A provider that is down (5xx, 429, unreachable) is retried by the
// outbox; a 4xx is final.
func TestReplierErrors(t *testing.T) {
	status := http.StatusServiceUnavailable
	var got map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v2/users/acc/messages" {
			http.NotFound(w, r)
			return
		}
		json.NewDecoder(r.Body).Decode(&got)
		w.WriteHeader(status)
	}))
	r := BandwidthReplier(srv.URL, "acc", "app", "u", "p")
	ctx := context.Background()
	if err := r.Send(ctx, "+12025550100", "+12025550143", "hi"); err == nil || errors.Is(err, ErrPermanent) {
		t.Fatalf("503: %v", err)
	}
	status = http.StatusBadRequest
	if err := r.Send(ctx, "+12025550100", "+12025550143", "hi"); !errors.Is(err, ErrPermanent) {
		t.Fatalf("400: %v", err)
	}
	status = http.StatusAccepted
	if err := r.Send(ctx, "+12025550100", "+12025550143", "hi"); err != nil {
		t.Fatal(err)
	}
	if got["applicationId"] != "app" || got["from"] != "+12025550100" || got["text"] != "hi" {
		t.Fatalf("body %v", got)
	}
	srv.Close()
	if err := r.Send(ctx, "+1", "+2", "x"); err == nil || errors.Is(err, ErrPermanent) {
		t.Fatalf("unreachable: %v", err)
	}
}
