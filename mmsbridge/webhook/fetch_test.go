package webhook

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

var pngMagic = []byte("\x89PNG\r\n\x1a\n0000000000000000")

func TestFetchRefusesLoopback(t *testing.T) {
	hit := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hit = true }))
	defer srv.Close()
	f := NewFetcher(1<<20, 5*time.Second, false)
	_, err := f.Fetch(context.Background(), srv.URL+"/m", nil)
	if !errors.Is(err, errForbiddenAddr) || hit {
		t.Fatalf("loopback fetch: err %v, reached %v", err, hit)
	}
	for _, a := range []string{"169.254.169.254", "10.0.0.1", "::1", "fe80::1", "0.0.0.0", "224.0.0.1", "100.64.1.1"} {
		if PublicAddr(netip.MustParseAddr(a)) {
			t.Errorf("%s counted as public", a)
		}
	}
	if !PublicAddr(netip.MustParseAddr("93.184.216.34")) {
		t.Error("a public address refused")
	}
}

func TestFetchCredentialsStayHome(t *testing.T) {
	var storageAuth string
	storage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		storageAuth = r.Header.Get("Authorization")
		w.Write(pngMagic)
	}))
	defer storage.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "AC1" || p != "tok" {
			http.Error(w, "auth", http.StatusUnauthorized)
			return
		}
		http.Redirect(w, r, storage.URL+"/blob", http.StatusTemporaryRedirect)
	}))
	defer api.Close()
	f := NewFetcher(1<<20, 5*time.Second, true)
	creds := &Credentials{Hosts: []string{api.Listener.Addr().String()}, Username: "AC1", Password: "tok"}
	m, err := f.Fetch(context.Background(), api.URL+"/media", creds)
	if err != nil {
		t.Fatal(err)
	}
	if m.ContentType != "image/png" || !bytes.Equal(m.Data, pngMagic) {
		t.Fatalf("media %q %d bytes", m.ContentType, len(m.Data))
	}
	if storageAuth != "" {
		t.Fatalf("credentials carried to the storage host: %q", storageAuth)
	}
}

func TestFetchCapsWhileReading(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// No Content-Length: chunked, so only counting catches it.
		for i := 0; i < 64; i++ {
			w.Write(bytes.Repeat([]byte{0xff}, 1024))
			w.(http.Flusher).Flush()
		}
	}))
	defer srv.Close()
	f := NewFetcher(16<<10, 5*time.Second, true)
	if _, err := f.Fetch(context.Background(), srv.URL, nil); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized: %v", err)
	}
	if _, err := f.Fetch(context.Background(), "file:///etc/passwd", nil); err == nil {
		t.Fatal("file URL fetched")
	}
}

func TestFetchRedirectLimit(t *testing.T) {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, srv.URL+r.URL.Path+"x", http.StatusFound)
	}))
	defer srv.Close()
	f := NewFetcher(1<<20, 5*time.Second, true)
	if _, err := f.Fetch(context.Background(), srv.URL+"/a", nil); err == nil {
		t.Fatal("endless redirects followed")
	}
}
