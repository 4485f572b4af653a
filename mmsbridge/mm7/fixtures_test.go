package mm7

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"mmsprofile/mmsbridge"
)

// expectFile is the part of a fixture's .expect.json the tests assert.
type expectFile struct {
	Message          string `json:"message"`
	Namespace        string `json:"namespace"`
	MM7Version       string `json:"mm7_version"`
	TransactionID    string `json:"transaction_id"`
	MMSRelayServerID string `json:"mms_relay_server_id"`
	LinkedID         string `json:"linked_id"`
	MessageID        string `json:"message_id"`
	MMStatus         string `json:"mm_status"`
	Sender           *struct {
		Type       string `json:"type"`
		Value      string `json:"value"`
		Normalized string `json:"normalized"`
	} `json:"sender"`
	Recipients []struct {
		Field       string `json:"field"`
		Type        string `json:"type"`
		Value       string `json:"value"`
		Normalized  string `json:"normalized"`
		DisplayOnly bool   `json:"display_only"`
	} `json:"recipients"`
	Subject     *string  `json:"subject"`
	Priority    string   `json:"priority"`
	Timestamp   string   `json:"timestamp"`
	Text        []string `json:"text"`
	Attachments []struct {
		Role         string `json:"role"`
		ContentType  string `json:"content_type"`
		Filename     string `json:"filename"`
		ContentID    string `json:"content_id"`
		Charset      string `json:"charset"`
		DecodedBytes int    `json:"decoded_bytes"`
		SHA256       string `json:"sha256"`
	} `json:"attachments"`
	ExpectedResponse expectResponse   `json:"expected_response"`
	AlsoAcceptable   []expectResponse `json:"also_acceptable"`
}

type expectResponse struct {
	HTTPStatus        int      `json:"http_status"`
	Element           string   `json:"element"`
	SOAPFault         bool     `json:"soap_fault"`
	FaultCode         string   `json:"fault_code"`
	StatusCode        int      `json:"status_code"`
	StatusText        string   `json:"status_text"`
	EchoTransactionID string   `json:"echo_transaction_id"`
	Namespace         string   `json:"namespace"`
	Headers           []string `json:"headers"`
}

// TestFixtures runs every MM7 fixture (testdata/fixtures, testdata/bad,
// copied from the shared fixture set) through the handler and checks the
// answer against expected_response, or failing that one of
// also_acceptable, and the message that reached the receiver against the
// rest of the expect file.
func TestFixtures(t *testing.T) {
	var bases []string
	for _, dir := range []string{"testdata/fixtures", "testdata/bad"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.expect.json"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			bases = append(bases, strings.TrimSuffix(f, ".expect.json"))
		}
	}
	if len(bases) != 20 {
		t.Fatalf("found %d fixtures, want 20", len(bases))
	}
	for _, base := range bases {
		t.Run(filepath.Base(base), func(t *testing.T) {
			raw, err := os.ReadFile(base + ".expect.json")
			if err != nil {
				t.Fatal(err)
			}
			var exp expectFile
			if err := json.Unmarshal(raw, &exp); err != nil {
				t.Fatal(err)
			}
			rcv := &fakeReceiver{avatarCheck: true}
			rec := serve(t, testConfig(), rcv, readFixtureRequest(t, base))
			got := readAnswer(t, rec.Body.Bytes())

			var mismatches []string
			matched := -1
			for i, want := range append([]expectResponse{exp.ExpectedResponse}, exp.AlsoAcceptable...) {
				diff := compareResponse(rec.Code, rec.Header().Get("Content-Type"), got, want)
				if diff == "" {
					matched = i
					break
				}
				mismatches = append(mismatches, diff)
			}
			switch {
			case matched < 0:
				t.Fatalf("answer matches no expectation:\n%s\nanswer (HTTP %d):\n%s", strings.Join(mismatches, "\n"), rec.Code, rec.Body)
			case matched > 0:
				t.Logf("answer matches also_acceptable[%d], not expected_response (%s)", matched-1, mismatches[0])
			}

			if got.txID != "" && got.mustUnderstand != "1" {
				t.Errorf("TransactionID echoed without mustUnderstand=\"1\"")
			}
			switch exp.Message {
			case "DeliverReq":
				if len(rcv.msgs) != 1 {
					t.Fatalf("receiver got %d messages, want 1", len(rcv.msgs))
				}
				checkMessage(t, &exp, rcv.msgs[0])
			case "DeliveryReportReq", "ReadReplyReq":
				if len(rcv.reports) != 1 {
					t.Fatalf("receiver got %d reports, want 1", len(rcv.reports))
				}
				checkReport(t, &exp, rcv.reports[0])
			default:
				// A bad request: nothing may reach the receiver unless the
				// expected refusal comes from it (content checks).
				if got.statusCode != "2004" && len(rcv.msgs) != 0 {
					t.Errorf("receiver got %d messages from a refused request", len(rcv.msgs))
				}
			}
		})
	}
}

// compareResponse says how an answer differs from one expectation, or "".
func compareResponse(code int, contentType string, got soapAnswer, want expectResponse) string {
	var d []string
	if code != want.HTTPStatus {
		d = append(d, fmt.Sprintf("HTTP %d, want %d", code, want.HTTPStatus))
	}
	if want.Element == "" {
		// A transport-level alternative (e.g. plain 400): status only.
		return strings.Join(d, "; ")
	}
	if got.element != want.Element {
		d = append(d, fmt.Sprintf("element %q, want %q", got.element, want.Element))
	}
	if got.fault != want.SOAPFault {
		d = append(d, fmt.Sprintf("fault %v, want %v", got.fault, want.SOAPFault))
	}
	if want.FaultCode != "" && got.faultCode != want.FaultCode && !strings.HasSuffix(got.faultCode, ":"+want.FaultCode) {
		d = append(d, fmt.Sprintf("faultcode %q, want %q", got.faultCode, want.FaultCode))
	}
	if got.statusCode != strconv.Itoa(want.StatusCode) {
		d = append(d, fmt.Sprintf("StatusCode %s, want %d", got.statusCode, want.StatusCode))
	}
	if want.StatusText != "" && got.statusText != want.StatusText {
		d = append(d, fmt.Sprintf("StatusText %q, want %q", got.statusText, want.StatusText))
	}
	if got.txID != want.EchoTransactionID {
		d = append(d, fmt.Sprintf("TransactionID %q, want %q", got.txID, want.EchoTransactionID))
	}
	if want.Namespace != "" && got.namespace != want.Namespace {
		d = append(d, fmt.Sprintf("namespace %q, want %q", got.namespace, want.Namespace))
	}
	if got.txID != "" && got.txNamespace != got.namespace {
		d = append(d, fmt.Sprintf("TransactionID namespace %q differs from %q", got.txNamespace, got.namespace))
	}
	for _, h := range want.Headers {
		k, v, _ := strings.Cut(h, ":")
		if k == "Content-Type" && contentType != strings.TrimSpace(v) {
			d = append(d, fmt.Sprintf("Content-Type %q, want %q", contentType, strings.TrimSpace(v)))
		}
	}
	return strings.Join(d, "; ")
}

func normText(s string) string {
	return strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n"))
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// checkMessage compares a received Message with the expect file.
func checkMessage(t *testing.T, exp *expectFile, msg *mmsbridge.Message) {
	t.Helper()
	if msg.Transport != mmsbridge.TransportMM7 {
		t.Errorf("Transport = %q", msg.Transport)
	}
	if msg.TransactionID != exp.TransactionID {
		t.Errorf("TransactionID = %q, want %q", msg.TransactionID, exp.TransactionID)
	}
	if want := "tx/" + exp.TransactionID; msg.Key != want {
		t.Errorf("Key = %q, want %q", msg.Key, want)
	}
	if msg.RelayServerID != exp.MMSRelayServerID {
		t.Errorf("RelayServerID = %q, want %q", msg.RelayServerID, exp.MMSRelayServerID)
	}
	if msg.LinkedID != exp.LinkedID {
		t.Errorf("LinkedID = %q, want %q", msg.LinkedID, exp.LinkedID)
	}
	if exp.Sender != nil {
		if msg.Sender != exp.Sender.Normalized || msg.SenderRaw != exp.Sender.Value {
			t.Errorf("Sender = %q (raw %q), want %q (raw %q)", msg.Sender, msg.SenderRaw, exp.Sender.Normalized, exp.Sender.Value)
		}
	}
	if len(msg.Recipients) != len(exp.Recipients) {
		t.Errorf("%d recipients, want %d: %+v", len(msg.Recipients), len(exp.Recipients), msg.Recipients)
	} else {
		for i, r := range exp.Recipients {
			got := msg.Recipients[i]
			if got.Kind != r.Field || got.Value != r.Normalized || got.DisplayOnly != r.DisplayOnly {
				t.Errorf("recipient %d = %+v, want %s %s displayOnly=%v", i, got, r.Field, r.Normalized, r.DisplayOnly)
			}
		}
	}
	wantSubject := ""
	if exp.Subject != nil {
		wantSubject = *exp.Subject
	}
	if msg.Subject != wantSubject {
		t.Errorf("Subject = %q, want %q", msg.Subject, wantSubject)
	}
	if exp.Timestamp != "" {
		ts, err := time.Parse(time.RFC3339Nano, exp.Timestamp)
		if err != nil {
			t.Fatal(err)
		}
		if !msg.Received.Equal(ts) {
			t.Errorf("Received = %v, want %v", msg.Received, ts)
		}
	}
	var wantText []string
	for _, s := range exp.Text {
		wantText = append(wantText, normText(s))
	}
	if got := normText(msg.Text()); got != strings.Join(wantText, "\n") {
		t.Errorf("Text = %q, want %q", got, strings.Join(wantText, "\n"))
	}

	// Every attachment but SMIL must be there, in order, byte for byte.
	var want []int
	for i, a := range exp.Attachments {
		if a.Role != "smil" {
			want = append(want, i)
		}
	}
	if len(msg.Parts) != len(want) {
		for _, p := range msg.Parts {
			t.Logf("part %s %d bytes", p.ContentType, len(p.Data))
		}
		t.Fatalf("%d parts, want %d (SMIL dropped)", len(msg.Parts), len(want))
	}
	for k, i := range want {
		a, p := exp.Attachments[i], msg.Parts[k]
		if p.ContentType != a.ContentType {
			t.Errorf("part %d ContentType = %q, want %q", k, p.ContentType, a.ContentType)
		}
		if sha(p.Data) != a.SHA256 || len(p.Data) != a.DecodedBytes {
			t.Errorf("part %d (%s): %d bytes sha256 %s, want %d bytes %s", k, p.ContentType, len(p.Data), sha(p.Data), a.DecodedBytes, a.SHA256)
		}
		if a.Filename != "" && p.Filename != a.Filename {
			t.Errorf("part %d Filename = %q, want %q", k, p.Filename, a.Filename)
		}
		if a.ContentID != "" && p.ContentID != a.ContentID {
			t.Errorf("part %d ContentID = %q, want %q", k, p.ContentID, a.ContentID)
		}
		if a.Charset != "" && !strings.EqualFold(p.Charset, a.Charset) {
			t.Errorf("part %d Charset = %q, want %q", k, p.Charset, a.Charset)
		}
		switch a.Role {
		case "image":
			if !p.IsImage() {
				t.Errorf("part %d is not an image", k)
			}
		case "text":
			if !p.IsText() {
				t.Errorf("part %d is not text", k)
			}
		case "vcard":
			if !p.IsVCard() {
				t.Errorf("part %d is not a vCard", k)
			}
		}
	}
}

// checkReport compares a received Report with the expect file.
func checkReport(t *testing.T, exp *expectFile, rep *Report) {
	t.Helper()
	if rep.TransactionID != exp.TransactionID || rep.MessageID != exp.MessageID || rep.MMStatus != exp.MMStatus || rep.RelayServerID != exp.MMSRelayServerID {
		t.Errorf("report = %+v, want tx %q message %q status %q relay %q", rep, exp.TransactionID, exp.MessageID, exp.MMStatus, exp.MMSRelayServerID)
	}
	if exp.Sender != nil && rep.Sender != exp.Sender.Normalized {
		t.Errorf("report Sender = %q, want %q", rep.Sender, exp.Sender.Normalized)
	}
	if len(exp.Recipients) == 1 && rep.Recipient != exp.Recipients[0].Normalized {
		t.Errorf("report Recipient = %q, want %q", rep.Recipient, exp.Recipients[0].Normalized)
	}
	if ts, err := time.Parse(time.RFC3339, exp.Timestamp); err == nil && !rep.Date.Equal(ts) {
		t.Errorf("report Date = %v, want %v", rep.Date, ts)
	}
}
