package app

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"mmsprofile/avatar"
	"mmsprofile/config"
	"mmsprofile/metrics"
	"mmsprofile/storage"
)

const renditionID = "0123456789abcdef0123456789abcdef01234567"

// renditionMux serves renditions from a fake database holding one, as the
// ops listener does; reads counts the database reads, fail makes them fail.
func renditionMux(t *testing.T, fail error) (http.Handler, *atomic.Int32, *bytes.Buffer) {
	t.Helper()
	var reads atomic.Int32
	data := []byte("\xff\xd8\xff not really a jpeg \xff\xd9")
	read := func(ctx context.Context, id string) (storage.Rendition, error) {
		reads.Add(1)
		if fail != nil {
			return storage.Rendition{}, fail
		}
		if id != renditionID {
			return storage.Rendition{}, storage.ErrNotFound
		}
		return storage.Rendition{ID: id, Type: "image/jpeg", Width: 512, Height: 512, Bytes: len(data), Data: data}, nil
	}
	m := metrics.New(metrics.Options{})
	var logs bytes.Buffer
	mux := http.NewServeMux()
	mux.Handle(renditionPattern, renditionHandler{read: read, metrics: m, log: slog.New(slog.NewTextHandler(&logs, nil))})
	mux.Handle("/metrics", m.Handler())
	return mux, &reads, &logs
}

func serve(h http.Handler, method, path string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestRenditionServed(t *testing.T) {
	h, reads, _ := renditionMux(t, nil)
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		rec := serve(h, method, "/avatar/"+renditionID+".jpg")
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", method, rec.Code, rec.Body)
		}
		want := map[string]string{
			"Content-Type":           "image/jpeg",
			"Content-Length":         "24",
			"Cache-Control":          "public, max-age=31536000, immutable",
			"Etag":                   `"` + renditionID + `"`,
			"X-Content-Type-Options": "nosniff",
		}
		for k, v := range want {
			if got := rec.Header().Get(k); got != v {
				t.Errorf("%s: %s = %q, want %q", method, k, got, v)
			}
		}
		body, _ := io.ReadAll(rec.Body)
		if method == http.MethodGet && string(body) != "\xff\xd8\xff not really a jpeg \xff\xd9" {
			t.Errorf("GET body %q", body)
		}
		if method == http.MethodHead && len(body) != 0 {
			t.Errorf("HEAD body %q", body)
		}
	}
	if n := reads.Load(); n != 2 {
		t.Errorf("%d reads, want 2", n)
	}
	if scrape := serve(h, http.MethodGet, "/metrics").Body.String(); !strings.Contains(scrape, `mmsprofile_rendition_requests_total{result="served"} 2`) {
		t.Errorf("metrics lack 2 served renditions:\n%s", scrape)
	}
}

func TestRenditionNotModified(t *testing.T) {
	h, _, _ := renditionMux(t, nil)
	for _, inm := range []string{
		`"` + renditionID + `"`,
		`W/"` + renditionID + `"`,
		`"other", "` + renditionID + `"`,
		`*`,
	} {
		rec := serve(h, http.MethodGet, "/avatar/"+renditionID+".jpg", "If-None-Match", inm)
		if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
			t.Errorf("If-None-Match %s: %d, %d bytes; want 304 without a body", inm, rec.Code, rec.Body.Len())
		}
		if rec.Header().Get("Etag") != `"`+renditionID+`"` || rec.Header().Get("Cache-Control") == "" {
			t.Errorf("If-None-Match %s: 304 without ETag or Cache-Control: %v", inm, rec.Header())
		}
	}
	if rec := serve(h, http.MethodGet, "/avatar/"+renditionID+".jpg", "If-None-Match", `"other"`); rec.Code != http.StatusOK {
		t.Errorf("If-None-Match of another tag: %d, want 200", rec.Code)
	}
}

// Names that are no rendition's get 404 without a database read; other
// methods 405.
func TestRenditionRefused(t *testing.T) {
	h, reads, _ := renditionMux(t, nil)
	for _, path := range []string{
		"/avatar/" + strings.ToUpper(renditionID) + ".jpg",
		"/avatar/" + renditionID[:39] + ".jpg",
		"/avatar/" + renditionID + "0.jpg",
		"/avatar/" + renditionID + ".png",
		"/avatar/" + renditionID,
		"/avatar/" + renditionID + ".jpg.jpg",
		"/avatar/x/" + renditionID + ".jpg",
		"/avatar/",
		"/avatar/%2e%2e",
	} {
		if rec := serve(h, http.MethodGet, path); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, rec.Code)
		}
	}
	if n := reads.Load(); n != 0 {
		t.Errorf("%d database reads for names no rendition has", n)
	}
	if rec := serve(h, http.MethodGet, "/avatar/ffffffffffffffffffffffffffffffffffffffff.jpg"); rec.Code != http.StatusNotFound {
		t.Errorf("unknown rendition: %d, want 404", rec.Code)
	}
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		rec := serve(h, method, "/avatar/"+renditionID+".jpg")
		if rec.Code != http.StatusMethodNotAllowed || !strings.Contains(rec.Header().Get("Allow"), "GET") {
			t.Errorf("%s: %d (Allow %q), want 405 allowing GET", method, rec.Code, rec.Header().Get("Allow"))
		}
	}
}

// A database that does not answer gives 503, a line in the log, and
// nothing of the error to the client.
func TestRenditionDatabaseDown(t *testing.T) {
	h, _, logs := renditionMux(t, errors.New("postgres: dial tcp 10.0.0.5:5432: secret-host unreachable"))
	rec := serve(h, http.MethodGet, "/avatar/"+renditionID+".jpg")
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("%d (Retry-After %q), want 503 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
	}
	if strings.Contains(rec.Body.String(), "secret-host") || strings.Contains(rec.Body.String(), "postgres") {
		t.Errorf("the client is told the internals: %q", rec.Body)
	}
	if rec.Header().Get("Cache-Control") != "" {
		t.Errorf("a failure is cacheable: %v", rec.Header())
	}
	if !strings.Contains(logs.String(), "secret-host") || !strings.Contains(logs.String(), renditionID) {
		t.Errorf("log %q lacks the error", logs)
	}
}

// Renditions are asked of the imager only while public_url says where
// they are served.
func TestAvatarStandardRenditions(t *testing.T) {
	cfg := config.Default()
	std, err := AvatarStandard(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if std.Renditions != nil {
		t.Errorf("without public_url: renditions %v, want none", std.Renditions)
	}
	cfg.HTTP.PublicURL = "https://xmpp.example.org/mms"
	cfg.Avatar.Renditions, cfg.Avatar.RenditionQuality = []int{512, 1024}, 70
	if std, err = AvatarStandard(cfg); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(std.Renditions, []int{512, 1024}) || std.RenditionQuality != 70 {
		t.Errorf("with public_url: renditions %v quality %d, want [512 1024] 70", std.Renditions, std.RenditionQuality)
	}
}

// config validates avatar.renditions without importing avatar (it stays a
// leaf); both must bound the sides alike, or a config that passes
// check-config would fail at start.
func TestRenditionSideBoundAgrees(t *testing.T) {
	if config.MaxRenditionSide != avatar.MaxRenditionSide {
		t.Errorf("config allows renditions up to %d, avatar up to %d", config.MaxRenditionSide, avatar.MaxRenditionSide)
	}
	cfg := config.Default()
	cfg.HTTP.PublicURL = "https://xmpp.example.org/mms"
	cfg.Avatar.Renditions = []int{config.MaxRenditionSide}
	if _, err := AvatarStandard(cfg); err != nil {
		t.Errorf("the largest side config allows: %v", err)
	}
}
