package mm7

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// realEntry is the part of testdata/real/INDEX.json the tests assert.
type realEntry struct {
	MessageType   string   `json:"message_type"`
	HTTPHead      []string `json:"http_head"`
	Boundary      string   `json:"boundary"`
	Namespace     string   `json:"namespace"`
	MM7Version    string   `json:"mm7_version"`
	TransactionID string   `json:"transaction_id"`
	RelayServerID *string  `json:"relay_server_id"`
	LinkedID      *string  `json:"linked_id"`
	Subject       *string  `json:"subject"`
	Priority      *string  `json:"priority"`
	Timestamp     *string  `json:"timestamp"`
	VASPID        *string  `json:"vasp_id"`
	VASID         *string  `json:"vas_id"`
	Sender        *struct {
		AsWritten string  `json:"as_written"`
		E164      *string `json:"e164"`
		Element   string  `json:"element"`
	} `json:"sender"`
	Recipients []struct {
		AsWritten string `json:"as_written"`
		Element   string `json:"element"`
		Kind      string `json:"kind"`
		Value     string `json:"value"`
	} `json:"recipients"`
	ContentDetail []struct {
		Container   bool   `json:"container"`
		ContentType string `json:"content_type"`
		ContentID   string `json:"content_id"`
		Bytes       int    `json:"bytes"`
		SHA256      string `json:"sha256"`
		Text        string `json:"text"`
	} `json:"content_detail"`
	JavaTest *struct {
		ContentTypeGiven string `json:"content_type_given"`
	} `json:"java_test"`
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// realRequest returns the Content-Type and body of a capture. Most have no
// HTTP head; then the type the capture's own project gave its test is used,
// else one built from the boundary on the first delimiter line, as the
// index says a harness must (Parse itself never guesses a boundary).
func realRequest(t *testing.T, name string, e realEntry) (string, []byte) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata/real", name))
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case e.HTTPHead != nil:
		r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(data)))
		if err != nil {
			t.Fatalf("read request: %v", err)
		}
		var body bytes.Buffer
		if _, err := body.ReadFrom(r.Body); err != nil {
			t.Fatal(err)
		}
		return r.Header.Get("Content-Type"), body.Bytes()
	case e.JavaTest != nil && e.JavaTest.ContentTypeGiven != "":
		return e.JavaTest.ContentTypeGiven, data
	case e.Boundary != "":
		line, _, _ := strings.Cut(strings.TrimLeft(string(data), "\r\n"), "\n")
		boundary := strings.TrimSpace(strings.TrimPrefix(line, "--"))
		if boundary != e.Boundary {
			t.Fatalf("first delimiter %q, index says %q", boundary, e.Boundary)
		}
		return `multipart/related; type="text/xml"; boundary="` + boundary + `"`, data
	}
	return "text/xml; charset=utf-8", data
}

// TestRealCaptures parses every capture in testdata/real (copied from the
// shared fixtures: instantcom-mm7 test data, CDDL, see LICENSE.txt there)
// and checks it against INDEX.json; DeliverReqs also go through the
// handler and must be answered 1000.
func TestRealCaptures(t *testing.T) {
	raw, err := os.ReadFile("testdata/real/INDEX.json")
	if err != nil {
		t.Fatal(err)
	}
	var index map[string]realEntry
	if err := json.Unmarshal(raw, &index); err != nil {
		t.Fatal(err)
	}
	var names []string
	for n := range index {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) != 9 {
		t.Fatalf("index lists %d captures, want 9", len(names))
	}
	for _, name := range names {
		e := index[name]
		t.Run(name, func(t *testing.T) {
			ct, body := realRequest(t, name, e)
			req, err := Parse(ct, bytes.NewReader(body), Limits{DefaultCountryCode: ""})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if req.TransactionID != e.TransactionID {
				t.Errorf("TransactionID = %q, want %q", req.TransactionID, e.TransactionID)
			}
			if req.Namespace != e.Namespace {
				t.Errorf("Namespace = %q, want %q", req.Namespace, e.Namespace)
			}
			if req.Element != e.MessageType {
				t.Errorf("Element = %q, want %q", req.Element, e.MessageType)
			}
			if e.MessageType != "DeliverReq" {
				if req.Kind != KindOther {
					t.Errorf("Kind = %v, want other", req.Kind)
				}
				return
			}
			if req.Kind != KindDeliverReq || req.Message == nil {
				t.Fatalf("Kind = %v, Message = %v", req.Kind, req.Message)
			}
			checkReal(t, e, req)

			rcv := &fakeReceiver{}
			r := httptest.NewRequest(http.MethodPost, "/mm7", bytes.NewReader(body))
			r.Header.Set("Content-Type", ct)
			r.SetBasicAuth("mmsc-relay", "Rel@y-2024")
			rec := serve(t, testConfig(), rcv, r)
			a := readAnswer(t, rec.Body.Bytes())
			if rec.Code != 200 || a.element != "DeliverRsp" || a.statusCode != "1000" || a.txID != e.TransactionID || a.namespace != e.Namespace || a.version != e.MM7Version {
				t.Errorf("answer HTTP %d %+v\n%s", rec.Code, a, rec.Body)
			}
		})
	}
}

func checkReal(t *testing.T, e realEntry, req *Request) {
	t.Helper()
	msg := req.Message
	if req.MM7Version != e.MM7Version {
		t.Errorf("MM7Version = %q, want %q", req.MM7Version, e.MM7Version)
	}
	for _, c := range []struct{ field, got, want string }{
		{"RelayServerID", msg.RelayServerID, str(e.RelayServerID)},
		{"LinkedID", msg.LinkedID, str(e.LinkedID)},
		{"Subject", msg.Subject, str(e.Subject)},
		{"Priority", req.Priority, str(e.Priority)},
		{"VASPID", req.VASPID, str(e.VASPID)},
		{"VASID", req.VASID, str(e.VASID)},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.field, c.got, c.want)
		}
	}
	if ts := str(e.Timestamp); ts != "" {
		want, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			t.Fatal(err)
		}
		if !msg.Received.Equal(want) {
			t.Errorf("Received = %v, want %v", msg.Received, want)
		}
	} else if !msg.Received.IsZero() {
		t.Errorf("Received = %v, want zero", msg.Received)
	}
	switch {
	case e.Sender == nil:
		if msg.Sender != "" || msg.SenderRaw != "" {
			t.Errorf("Sender = %q/%q, want none", msg.Sender, msg.SenderRaw)
		}
	default:
		want := e.Sender.AsWritten
		if e.Sender.E164 != nil {
			want = *e.Sender.E164
		}
		if msg.Sender != want || msg.SenderRaw != e.Sender.AsWritten || req.SenderType != e.Sender.Element {
			t.Errorf("Sender = %q raw %q type %q, want %q raw %q type %q", msg.Sender, msg.SenderRaw, req.SenderType, want, e.Sender.AsWritten, e.Sender.Element)
		}
	}
	if len(msg.Recipients) != len(e.Recipients) {
		t.Errorf("recipients %+v, want %+v", msg.Recipients, e.Recipients)
	} else {
		for i, r := range e.Recipients {
			if got := msg.Recipients[i]; got.Kind != r.Kind || got.Value != r.Value {
				t.Errorf("recipient %d = %+v, want %s %s", i, got, r.Kind, r.Value)
			}
		}
	}
	var leaves []int
	for i, c := range e.ContentDetail {
		if !c.Container && c.ContentType != "application/smil" {
			leaves = append(leaves, i)
		}
	}
	if len(msg.Parts) != len(leaves) {
		t.Fatalf("%d parts, want %d", len(msg.Parts), len(leaves))
	}
	for k, i := range leaves {
		c, p := e.ContentDetail[i], msg.Parts[k]
		if p.ContentType != c.ContentType || len(p.Data) != c.Bytes || sha(p.Data) != c.SHA256 {
			t.Errorf("part %d = %s %d bytes %s, want %s %d bytes %s", k, p.ContentType, len(p.Data), sha(p.Data), c.ContentType, c.Bytes, c.SHA256)
		}
		if c.ContentID != "" && p.ContentID != cleanID(c.ContentID) {
			t.Errorf("part %d ContentID = %q, want %q", k, p.ContentID, cleanID(c.ContentID))
		}
		if c.Text != "" && string(p.Data) != c.Text {
			t.Errorf("part %d text = %q, want %q", k, p.Data, c.Text)
		}
	}
}
