package mm7

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"mmsprofile/internal/testkit/hostiletest"
)

// hostileXML are SOAP envelopes built to cost the reader more than their
// bytes: each must be refused with 4004 (a SOAP Fault) without reaching
// the Receiver. scripts/hostile.sh runs them one per process to measure
// peak memory and time to refusal.
func hostileXML() map[string]func() string {
	head := `<?xml version="1.0" encoding="UTF-8"?>` + "\n"
	env := func(attrs, body string) string {
		return head + `<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"` + attrs + `>` +
			`<env:Header><mm7:TransactionID xmlns:mm7="` + ns14 + `">tx-h</mm7:TransactionID></env:Header>` +
			`<env:Body>` + body + `</env:Body></env:Envelope>`
	}
	deliver := func(inner string) string {
		return `<DeliverReq xmlns="` + ns14 + `"><MM7Version>6.8.0</MM7Version>` + sender + inner + `</DeliverReq>`
	}
	return map[string]func() string{
		"xxe": func() string {
			return head + `<!DOCTYPE env:Envelope [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>` +
				strings.TrimPrefix(env("", deliver(`<Subject>&xxe;</Subject>`)), head)
		},
		"billion-laughs": func() string {
			var b strings.Builder
			b.WriteString(head + "<!DOCTYPE env:Envelope [\n<!ENTITY l0 \"lol\">\n")
			for i := 1; i <= 9; i++ {
				b.WriteString("<!ENTITY l" + string(rune('0'+i)) + " \"" + strings.Repeat("&l"+string(rune('0'+i-1))+";", 10) + "\">\n")
			}
			b.WriteString("]>\n")
			b.WriteString(strings.TrimPrefix(env("", deliver(`<Subject>&l9;</Subject>`)), head))
			return b.String()
		},
		"deep-10000": func() string {
			return env("", deliver(`<Subject>`+strings.Repeat("<a>", 10000)+strings.Repeat("</a>", 10000)+`</Subject>`))
		},
		"attrs-100000": func() string {
			var b strings.Builder
			for i := range 100000 {
				b.WriteString(" a" + strconv.Itoa(i) + `="1"`)
			}
			return env(b.String(), deliver(""))
		},
		"text-5MB": func() string {
			return env("", deliver(`<Subject>`+strings.Repeat("x", 5_000_000)+`</Subject>`))
		},
	}
}

func TestHostileXML(t *testing.T) {
	for name, build := range hostileXML() {
		t.Run(name, func(t *testing.T) {
			body := build()
			if len(body) > DefaultMaxBytes {
				t.Fatalf("%d bytes: over the body limit, the test would only see 413", len(body))
			}
			r := httptest.NewRequest(http.MethodPost, "/mm7", strings.NewReader(body))
			r.Header.Set("Content-Type", "text/xml; charset=utf-8")
			r.SetBasicAuth("mmsc-relay", "Rel@y-2024")
			rcv := &fakeReceiver{}
			start := time.Now()
			rec := serve(t, testConfig(), rcv, r)
			elapsed := time.Since(start)
			a := readAnswer(t, rec.Body.Bytes())
			if rec.Code != 500 || !a.fault || a.statusCode != "4004" || len(rcv.msgs) != 0 {
				t.Fatalf("HTTP %d %+v, %d messages", rec.Code, a, len(rcv.msgs))
			}
			hostiletest.Report(t, "mm7-xml-"+name, elapsed, a.statusCode)
		})
	}
}
