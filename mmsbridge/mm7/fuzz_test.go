package mm7

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse feeds Parse arbitrary bodies and content types, seeded with
// every fixture and capture. Parse must not panic, must return a
// well-formed result or an *Error, and whatever it read must make an
// answer that is well-formed XML.
func FuzzParse(f *testing.F) {
	heads, _ := filepath.Glob("testdata/*/*.headers")
	for _, h := range heads {
		base := strings.TrimSuffix(h, ".headers")
		head, err := os.ReadFile(h)
		if err != nil {
			f.Fatal(err)
		}
		body, err := os.ReadFile(base + ".body")
		if err != nil {
			f.Fatal(err)
		}
		r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(head)))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(r.Header.Get("Content-Type"), body)
	}
	reals, _ := filepath.Glob("testdata/real/*")
	for _, p := range reals {
		if strings.HasSuffix(p, ".json") || strings.HasSuffix(p, "LICENSE.txt") || strings.HasSuffix(p, "deliver-req4.txt") {
			continue // the 400 KB capture slows every fuzz iteration down
		}
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		line, _, _ := strings.Cut(strings.TrimLeft(string(b), "\r\n"), "\n")
		ct := "text/xml"
		if strings.HasPrefix(line, "--") {
			ct = `multipart/related; type=text/xml; boundary="` + strings.TrimSpace(line[2:]) + `"`
		}
		f.Add(ct, b)
	}
	lim := Limits{MaxBytes: 1 << 20, DefaultCountryCode: "1"}
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		req, err := Parse(ct, bytes.NewReader(body), lim)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error is not an *Error: %v", err)
			}
			if req != nil && (req.Message != nil || req.Report != nil) {
				t.Fatalf("refused request carries a message or report")
			}
		} else {
			switch {
			case req == nil:
				t.Fatal("nil request without error")
			case req.Kind == KindDeliverReq && req.Message == nil:
				t.Fatal("DeliverReq without Message")
			case (req.Kind == KindDeliveryReportReq || req.Kind == KindReadReplyReq) && req.Report == nil:
				t.Fatal("report without Report")
			}
		}
		a := answer{element: "DeliverRsp", code: StatusSuccess, details: string(body)}
		if req != nil {
			a.namespace, a.txID, a.version = req.Namespace, req.TransactionID, req.MM7Version
		}
		b, err := a.marshal()
		if err != nil {
			t.Fatal(err)
		}
		checkWellFormed(t, b)
	})
}

func checkWellFormed(t *testing.T, b []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("answer not well-formed: %v\n%s", err, b)
		}
	}
}

// FuzzEnvelope feeds the SOAP reader arbitrary XML, seeded with the SOAP
// parts of the fixtures and the hostile ones: it must not panic, must
// keep its depth and element bounds, and fail only with errXML.
func FuzzEnvelope(f *testing.F) {
	bodies, _ := filepath.Glob("testdata/*/*.body")
	for _, p := range bodies {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if i := bytes.Index(b, []byte("<?xml")); i >= 0 {
			b = b[i:]
		}
		if j := bytes.Index(b, []byte("\n--")); j >= 0 {
			b = b[:j]
		}
		f.Add(b)
	}
	lim := envelopeLimits{maxDepth: 16, maxElements: 200}
	f.Fuzz(func(t *testing.T, b []byte) {
		tree, _, err := readEnvelope(soapToUTF8(b, ""), lim)
		if err != nil {
			if !errors.Is(err, errXML) {
				t.Fatalf("error is not errXML: %v", err)
			}
			return
		}
		var walk func(n *node, depth int) int
		walk = func(n *node, depth int) int {
			if depth > lim.maxDepth {
				t.Fatalf("tree deeper than %d", lim.maxDepth)
			}
			c := 1
			for _, k := range n.kids {
				c += walk(k, depth+1)
			}
			return c
		}
		if n := walk(tree, 1); n > lim.maxElements {
			t.Fatalf("%d elements, limit %d", n, lim.maxElements)
		}
	})
}
