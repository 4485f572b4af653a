package app

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"mmsprofile/config"
	"mmsprofile/metrics"
	"mmsprofile/mmsbridge"
)

// A wrong MMSC password never reaches the rules, so only this counter
// shows it; the alert on credential failures reads it.
func TestMM7RefusalsAreCounted(t *testing.T) {
	var cfg config.Config
	cfg.MM7.Username, cfg.MM7.Password = "mmsc-relay", "right"
	m := metrics.New(metrics.Options{})
	s := &Server{cfg: cfg, metrics: m, log: slog.New(slog.DiscardHandler)}
	h, err := s.mm7Handler(mmsbridge.ReceiverFunc(func(context.Context, *mmsbridge.Message) error {
		t.Error("a refused request reached the rules")
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "/mm7", strings.NewReader("<soap/>"))
	r.SetBasicAuth("mmsc-relay", "wrong")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("HTTP %d, want 401", rec.Code)
	}
	rec = httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if want := `mmsprofile_mm7_refused_total{reason="auth"} 1`; !strings.Contains(rec.Body.String(), want) {
		t.Errorf("metrics lack %s", want)
	}
}
