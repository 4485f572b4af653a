package app_test

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"image/jpeg"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"mmsprofile/internal/testkit/mm7sample"
)

// publicProxy stands for the operator's reverse proxy: public URLs under
// /pics/avatar/ reach the service's /avatar/, and nothing else is
// forwarded. target is set once the service has bound its listener.
func publicProxy(t *testing.T) (*httptest.Server, *atomic.Pointer[url.URL]) {
	t.Helper()
	var target atomic.Pointer[url.URL]
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		u := target.Load()
		pr.Out.URL.Scheme, pr.Out.URL.Host = u.Scheme, u.Host
		pr.Out.URL.Path = strings.TrimPrefix(pr.In.URL.Path, "/pics")
		pr.Out.URL.RawPath = ""
		pr.Out.Host = ""
	}}
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/pics/avatar/") || target.Load() == nil {
			http.NotFound(w, r)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	return proxy, &target
}

func fetch(t *testing.T, method, u string, header ...string) (*http.Response, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// With [http] public_url set, a photo by MMS becomes an avatar whose
// metadata a contact receives with two infos: the inline PNG first, then
// the 512-pixel JPEG by URL, which works as soon as the event arrives and
// is cached by its ETag.
func TestRenditionReachesContactByURL(t *testing.T) {
	proxy, target := publicProxy(t)
	publicURL := proxy.URL + "/pics"
	e := startWith(t, envOptions{extra: "[http]\nlisten = \"127.0.0.1:0\"\npublic_url = \"" + publicURL + "\"\n"})
	target.Store(&url.URL{Scheme: "http", Host: e.srv.HTTPAddr().String()})

	e.accept("photo", mm7sample.Deliver{TransactionID: "tr-1", MessageID: "mr-1", Sender: aliceNumber, Image: mm7sample.Photo(1280, 960, 21)})
	ev := e.nextAvatar()
	if len(ev.Infos) != 2 {
		t.Fatalf("metadata infos %+v, want the PNG and one rendition", ev.Infos)
	}
	png, jpg := ev.Infos[0], ev.Infos[1]
	if png.ID != ev.ItemID || png.Type != "image/png" || png.Width != 128 || png.Height != 128 || png.URL != "" {
		t.Fatalf("first info %+v (item %s), want the inline 128 px PNG", png, ev.ItemID)
	}
	if jpg.Type != "image/jpeg" || jpg.Width != 512 || jpg.Height != 512 || jpg.Bytes <= 0 || jpg.URL != publicURL+"/avatar/"+jpg.ID+".jpg" {
		t.Fatalf("second info %+v, want the 512 px JPEG at %s/avatar/ID.jpg", jpg, publicURL)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if data := checkAvatar(ctx, t, e.bob, e.alice, ev.ItemID); len(data) != png.Bytes {
		t.Fatalf("PNG %d bytes; metadata says %d", len(data), png.Bytes)
	}

	resp, body := fetch(t, http.MethodGet, jpg.URL)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %q", jpg.URL, resp.Status, body)
	}
	for k, v := range map[string]string{
		"Content-Type":           "image/jpeg",
		"Content-Length":         strconv.Itoa(jpg.Bytes),
		"Cache-Control":          "public, max-age=31536000, immutable",
		"ETag":                   `"` + jpg.ID + `"`,
		"X-Content-Type-Options": "nosniff",
	} {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	sum := sha1.Sum(body)
	if hex.EncodeToString(sum[:]) != jpg.ID || len(body) != jpg.Bytes {
		t.Fatalf("body SHA-1 %x (%d bytes), metadata says %s (%d bytes)", sum, len(body), jpg.ID, jpg.Bytes)
	}
	img, err := jpeg.Decode(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("rendition is no JPEG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 512 || b.Dy() != 512 {
		t.Fatalf("rendition is %dx%d, want 512x512", b.Dx(), b.Dy())
	}

	// The client's cached copy is current.
	resp, body = fetch(t, http.MethodGet, jpg.URL, "If-None-Match", `"`+jpg.ID+`"`)
	if resp.StatusCode != http.StatusNotModified || len(body) != 0 {
		t.Fatalf("GET with If-None-Match: %s, %d bytes; want 304 and none", resp.Status, len(body))
	}
	// An id nobody published, and what the proxy does not forward.
	if resp, _ := fetch(t, http.MethodGet, publicURL+"/avatar/"+strings.Repeat("0", 40)+".jpg"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown rendition: %s, want 404", resp.Status)
	}
	if resp, _ := fetch(t, http.MethodGet, proxy.URL+"/metrics"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("/metrics through the proxy: %s, want 404", resp.Status)
	}

	_, metrics := get(t, "http://"+e.srv.HTTPAddr().String()+"/metrics")
	for _, w := range []string{
		`mmsprofile_rendition_requests_total{result="served"} 1`,
		`mmsprofile_rendition_requests_total{result="not_modified"} 1`,
		`mmsprofile_rendition_requests_total{result="not_found"} 1`,
	} {
		if !strings.Contains(metrics, w) {
			t.Errorf("metrics lack %s", w)
		}
	}
}
