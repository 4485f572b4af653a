package doctor

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"mmsprofile/config"
	"mmsprofile/publisher"
)

func TestPublicURL(t *testing.T) {
	serveLike := func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/pics"+publisher.RenditionPath):
			http.Error(w, publisher.RenditionNotFound, http.StatusNotFound)
		case r.URL.Path == "/pics/metrics":
			w.Write([]byte("# HELP mmsprofile_accepted_total\nmmsprofile_accepted_total 3\n"))
		default:
			http.NotFound(w, r)
		}
	}
	onlyAvatars := func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/pics/metrics" {
			http.NotFound(w, r)
			return
		}
		serveLike(w, r)
	}
	badGateway := func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "502 Bad Gateway", http.StatusBadGateway)
	}
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()

	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		url     string // instead of a test server
		failed  bool
		want    string
	}{
		{name: "off", url: "-", want: "note  http.public_url is empty"},
		{name: "reaches serve", handler: onlyAvatars, want: "ok    http.public_url:"},
		{name: "metrics exposed", handler: serveLike, failed: true, want: "/pics/metrics is public"},
		{name: "proxy without serve", handler: badGateway, want: "answered 502, not serve's own 404"},
		{name: "nothing answers", url: downURL + "/pics", want: "warn  http.public_url: " + downURL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.HTTP.Listen = "127.0.0.1:8080"
			switch {
			case tc.url == "-":
				cfg.HTTP.PublicURL = ""
			case tc.url != "":
				cfg.HTTP.PublicURL = tc.url
			default:
				srv := httptest.NewServer(tc.handler)
				defer srv.Close()
				cfg.HTTP.PublicURL = srv.URL + "/pics/"
			}
			var b strings.Builder
			r := &report{w: &b}
			checkPublicURL(t.Context(), cfg, r, Options{Timeout: 2 * time.Second})
			t.Logf("output:\n%s", b.String())
			if r.failed != tc.failed {
				t.Errorf("failed = %v, want %v", r.failed, tc.failed)
			}
			if !strings.Contains(b.String(), tc.want) {
				t.Errorf("output lacks %q", tc.want)
			}
		})
	}
}
