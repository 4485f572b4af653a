package mm7

import (
	"bytes"
	"context"
	"encoding/xml"
	"image"
	_ "image/gif" // DecodeConfig in the fake avatar check
	_ "image/jpeg"
	_ "image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"mmsprofile/internal/testkit/mm7sample"
	"mmsprofile/mmsbridge"
)

// testConfig is the configuration fixtures/README.md says the expect
// files assume.
func testConfig() Config {
	return Config{
		Username:           "mmsc-relay",
		Password:           "Rel@y-2024",
		DefaultCountryCode: "1",
	}
}

// fakeReceiver records what reaches it. With avatarCheck it also stands
// in for the avatar step's first gate, so that the fixtures whose expected
// 2004 comes from image checking can be asserted end to end: an image that
// is empty, that DecodeConfig cannot read, or that declares more than 25
// megapixels or a side over 10000 is refused with ReasonContent. The real
// check lives in the avatar package; this is only its shape.
type fakeReceiver struct {
	avatarCheck bool
	err         error // returned for every message when set
	reportErr   error

	mu      sync.Mutex
	msgs    []*mmsbridge.Message
	reports []*Report
}

func (f *fakeReceiver) Receive(_ context.Context, msg *mmsbridge.Message) error {
	f.mu.Lock()
	f.msgs = append(f.msgs, msg)
	f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	if f.avatarCheck {
		for _, p := range msg.Images() {
			if len(p.Data) == 0 {
				return mmsbridge.Refuse(mmsbridge.ReasonContent, "%s part is empty", p.ContentType)
			}
			cfg, _, err := image.DecodeConfig(bytes.NewReader(p.Data))
			if err != nil {
				return mmsbridge.Refuse(mmsbridge.ReasonContent, "%s part cannot be decoded", p.ContentType)
			}
			if cfg.Width > 10000 || cfg.Height > 10000 || cfg.Width*cfg.Height > 25_000_000 {
				return mmsbridge.Refuse(mmsbridge.ReasonContent, "%s part declares %dx%d pixels (limit 25000000)", p.ContentType, cfg.Width, cfg.Height)
			}
		}
	}
	return nil
}

func (f *fakeReceiver) ReceiveReport(_ context.Context, rep *Report) error {
	f.mu.Lock()
	f.reports = append(f.reports, rep)
	f.mu.Unlock()
	return f.reportErr
}

// testLogger sends the handler's log to the test log.
func testLogger(t *testing.T) *slog.Logger {
	t.Helper()
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// readFixtureRequest reads NAME.headers + NAME.body as one HTTP request.
func readFixtureRequest(t *testing.T, base string) *http.Request {
	t.Helper()
	r, err := mm7sample.ReadCapture(base)
	if err != nil {
		t.Fatal(err)
	}
	r.RemoteAddr = "192.0.2.10:40000"
	return r
}

// serve runs one request through a handler and returns the recorder.
func serve(t *testing.T, cfg Config, rcv mmsbridge.Receiver, r *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	NewHandler(cfg, rcv, testLogger(t)).ServeHTTP(rec, r)
	return rec
}

// soapAnswer is what a test reads back from an answer.
type soapAnswer struct {
	txID           string
	mustUnderstand string
	txNamespace    string
	fault          bool
	faultCode      string
	element        string
	namespace      string
	version        string
	statusCode     string
	statusText     string
	details        string
}

// readAnswer parses an answer envelope by local names, the way an MMSC
// would, and fails the test if it is not well-formed XML.
func readAnswer(t *testing.T, body []byte) soapAnswer {
	t.Helper()
	var a soapAnswer
	d := xml.NewDecoder(bytes.NewReader(body))
	var path []string
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("answer is not well-formed XML: %v\n%s", err, body)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			path = append(path, el.Name.Local)
			switch {
			case el.Name.Local == "TransactionID":
				a.txNamespace = el.Name.Space
				for _, at := range el.Attr {
					if at.Name.Local == "mustUnderstand" {
						a.mustUnderstand = at.Value
					}
				}
			case el.Name.Local == "Fault":
				a.fault = true
			case len(path) == 3 && path[1] == "Body" && el.Name.Local != "Fault",
				len(path) == 5 && path[2] == "Fault" && path[3] == "detail":
				a.element, a.namespace = el.Name.Local, el.Name.Space
			}
		case xml.EndElement:
			path = path[:len(path)-1]
		case xml.CharData:
			if len(path) == 0 {
				continue
			}
			s := strings.TrimSpace(string(el))
			switch path[len(path)-1] {
			case "TransactionID":
				a.txID += s
			case "faultcode":
				a.faultCode += s
			case "MM7Version":
				a.version += s
			case "StatusCode":
				a.statusCode += s
			case "StatusText":
				a.statusText += s
			case "Details":
				a.details += s
			}
		}
	}
	return a
}

func mustPrefix(t *testing.T, s string) netip.Prefix {
	t.Helper()
	p, err := netip.ParsePrefix(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
