package mm7

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"mmsprofile/mmsbridge"
)

func postFixture(t *testing.T) *http.Request {
	t.Helper()
	return readFixtureRequest(t, "testdata/fixtures/01-rel6-related-smil-jpeg-text-base64")
}

func TestHandlerTransport(t *testing.T) {
	tests := []struct {
		name   string
		cfg    func(*Config)
		req    func(*http.Request)
		status int
	}{
		{"GET", nil, func(r *http.Request) { r.Method = http.MethodGet }, http.StatusMethodNotAllowed},
		{"no credentials", nil, func(r *http.Request) { r.Header.Del("Authorization") }, http.StatusUnauthorized},
		{"wrong password", nil, func(r *http.Request) { r.SetBasicAuth("mmsc-relay", "Rel@y-2025") }, http.StatusUnauthorized},
		{"wrong user", nil, func(r *http.Request) { r.SetBasicAuth("mmsc", "Rel@y-2024") }, http.StatusUnauthorized},
		{"client not allowed", func(c *Config) { c.AllowedNets = []netip.Prefix{mustPrefix(t, "198.51.100.0/24")} }, nil, http.StatusForbidden},
		{"client allowed", func(c *Config) { c.AllowedNets = []netip.Prefix{mustPrefix(t, "192.0.2.0/24")} }, nil, http.StatusOK},
		{"IPv4-mapped client allowed", func(c *Config) { c.AllowedNets = []netip.Prefix{mustPrefix(t, "192.0.2.0/24")} },
			func(r *http.Request) { r.RemoteAddr = "[::ffff:192.0.2.10]:40000" }, http.StatusOK},
		{"allowlist without credentials", func(c *Config) {
			c.Username, c.Password = "", ""
			c.AllowedNets = []netip.Prefix{mustPrefix(t, "192.0.2.0/24")}
		}, func(r *http.Request) { r.Header.Del("Authorization") }, http.StatusOK},
		{"no credentials configured fails closed", func(c *Config) { c.Username, c.Password = "", "" },
			func(r *http.Request) { r.Header.Del("Authorization") }, http.StatusUnauthorized},
		{"Content-Length over the limit", func(c *Config) { c.MaxBodyBytes = 1000 }, nil, http.StatusRequestEntityTooLarge},
		{"body over the limit without Content-Length", func(c *Config) { c.MaxBodyBytes = 1000 },
			func(r *http.Request) { r.ContentLength = -1 }, http.StatusRequestEntityTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			var refused []string
			cfg.Refused = func(reason string) { refused = append(refused, reason) }
			r := postFixture(t)
			if tc.req != nil {
				tc.req(r)
			}
			rcv := &fakeReceiver{}
			rec := serve(t, cfg, rcv, r)
			if rec.Code != tc.status {
				t.Fatalf("HTTP %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if tc.status == http.StatusUnauthorized && rec.Header().Get("WWW-Authenticate") != `Basic realm="mm7"` {
				t.Errorf("WWW-Authenticate = %q", rec.Header().Get("WWW-Authenticate"))
			}
			if tc.status != http.StatusOK && len(rcv.msgs) != 0 {
				t.Errorf("receiver called on a refused request")
			}
			// Only the refusals that say the MMSC's credentials or address
			// changed are reported; a bad body is counted elsewhere.
			var want []string
			switch tc.status {
			case http.StatusUnauthorized:
				want = []string{RefusedAuth}
			case http.StatusForbidden:
				want = []string{RefusedAddress}
			}
			if !slices.Equal(refused, want) {
				t.Errorf("Refused told %q, want %q", refused, want)
			}
		})
	}
}

// TestHandlerChunked sends a DeliverReq with chunked transfer encoding
// over a real connection.
func TestHandlerChunked(t *testing.T) {
	rcv := &fakeReceiver{}
	srv := httptest.NewServer(NewHandler(testConfig(), rcv, testLogger(t)))
	defer srv.Close()
	fx := postFixture(t)
	body, err := io.ReadAll(fx.Body)
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	go func() {
		for chunk := range bytes.SplitSeq(body, []byte("\n")) {
			_, _ = pw.Write(append(chunk, '\n'))
		}
		_ = pw.Close()
	}()
	r, err := http.NewRequest(http.MethodPost, srv.URL+"/mm7", io.MultiReader(pr))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", fx.Header.Get("Content-Type"))
	r.SetBasicAuth("mmsc-relay", "Rel@y-2024")
	resp, err := srv.Client().Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	out, _ := io.ReadAll(resp.Body)
	a := readAnswer(t, out)
	if resp.StatusCode != 200 || a.statusCode != "1000" || len(rcv.msgs) != 1 {
		t.Fatalf("HTTP %d %+v, %d messages", resp.StatusCode, a, len(rcv.msgs))
	}
	if got := rcv.msgs[0].Text(); got != "Hiking this weekend — call me after 6" {
		t.Errorf("text %q", got)
	}
}

// TestHandlerReceiverAnswers maps what the Receiver says onto DeliverRsp.
func TestHandlerReceiverAnswers(t *testing.T) {
	tests := []struct {
		name string
		err  error
		code string
		text string
	}{
		{"accepted", nil, "1000", "Success"},
		{"content", mmsbridge.Refuse(mmsbridge.ReasonContent, "image too small"), "2004", "Multimedia content refused"},
		{"unknown sender", mmsbridge.Refuse(mmsbridge.ReasonUnknownSender, "no account linked"), "2003", "Address Not Found"},
		{"bad sender", mmsbridge.Refuse(mmsbridge.ReasonBadSender, "sender is not a number"), "2002", "Address Error"},
		{"denied", mmsbridge.Refuse(mmsbridge.ReasonDenied, "rate limited"), "4007", "Service denied"},
		{"busy", mmsbridge.Refuse(mmsbridge.ReasonBusy, "try later"), "4006", "Service unavailable"},
		{"wrapped refusal", errors.Join(errors.New("profile"), mmsbridge.Refuse(mmsbridge.ReasonDenied, "policy")), "4007", "Service denied"},
		{"temporary failure", errors.New("database is locked"), "4006", "Service unavailable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := serve(t, testConfig(), &fakeReceiver{err: tc.err}, postFixture(t))
			a := readAnswer(t, rec.Body.Bytes())
			if rec.Code != 200 || a.fault || a.element != "DeliverRsp" || a.statusCode != tc.code || a.statusText != tc.text {
				t.Fatalf("HTTP %d %+v", rec.Code, a)
			}
			if a.txID != "MMSC-7F3A9C21-0001" || a.mustUnderstand != "1" || a.version != "6.8.0" {
				t.Errorf("echo %+v", a)
			}
			if ref, ok := mmsbridge.AsRefusal(tc.err); ok && a.details != ref.Text {
				t.Errorf("Details = %q, want %q", a.details, ref.Text)
			}
			if tc.name == "temporary failure" && strings.Contains(a.details, "database") {
				t.Errorf("internal error leaked to the MMSC: %q", a.details)
			}
		})
	}
}

func TestHandlerReports(t *testing.T) {
	// A Receiver that does not take reports: still acknowledged.
	r := readFixtureRequest(t, "testdata/fixtures/09-delivery-report-req")
	plain := mmsbridge.ReceiverFunc(func(context.Context, *mmsbridge.Message) error { return nil })
	rec := serve(t, testConfig(), plain, r)
	if a := readAnswer(t, rec.Body.Bytes()); rec.Code != 200 || a.element != "DeliveryReportRsp" || a.statusCode != "1000" || a.version != "5.3.0" {
		t.Fatalf("HTTP %d %+v", rec.Code, a)
	}
	// A ReportReceiver that fails: the MMSC is asked to retry.
	r = readFixtureRequest(t, "testdata/fixtures/10-read-reply-req")
	rec = serve(t, testConfig(), &fakeReceiver{reportErr: errors.New("disk full")}, r)
	if a := readAnswer(t, rec.Body.Bytes()); rec.Code != 200 || a.element != "ReadReplyRsp" || a.statusCode != "4006" {
		t.Fatalf("HTTP %d %+v", rec.Code, a)
	}
}

func TestHandlerUnsupportedOperation(t *testing.T) {
	ns := NSPrefix + "REL-5-MM7-1-3"
	body := envelope(ns, "sub-1", `<SubmitReq xmlns="`+ns+`"><MM7Version>5.3.0</MM7Version></SubmitReq>`)
	r := httptest.NewRequest(http.MethodPost, "/mm7", strings.NewReader(body))
	r.Header.Set("Content-Type", "text/xml")
	r.SetBasicAuth("mmsc-relay", "Rel@y-2024")
	rcv := &fakeReceiver{}
	rec := serve(t, testConfig(), rcv, r)
	a := readAnswer(t, rec.Body.Bytes())
	if rec.Code != 500 || !a.fault || a.faultCode != "env:Client" || a.element != "VASPErrorRsp" || a.statusCode != "4003" ||
		a.txID != "sub-1" || a.namespace != ns || a.version != "5.3.0" || len(rcv.msgs) != 0 {
		t.Fatalf("HTTP %d %+v\n%s", rec.Code, a, rec.Body)
	}
}

func TestHandlerFillsReceived(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/mm7", strings.NewReader(deliverXML(sender)))
	r.Header.Set("Content-Type", "text/xml")
	r.SetBasicAuth("mmsc-relay", "Rel@y-2024")
	rcv := &fakeReceiver{}
	before := time.Now()
	serve(t, testConfig(), rcv, r)
	if len(rcv.msgs) != 1 || rcv.msgs[0].Received.Before(before) {
		t.Fatalf("messages %+v", rcv.msgs)
	}
}
