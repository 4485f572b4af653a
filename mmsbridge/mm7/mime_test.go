package mm7

import (
	"bytes"
	"testing"

	"golang.org/x/text/encoding/charmap"
)

func TestSOAPCharsetFromMIME(t *testing.T) {
	xml, err := charmap.ISO8859_1.NewEncoder().Bytes([]byte(`<e:Envelope xmlns:e="` + NSEnvelope + `"><e:Header><TransactionID>t</TransactionID></e:Header><e:Body><DeliverReq xmlns="` + ns14 + `"><Subject>café</Subject></DeliverReq></e:Body></e:Envelope>`))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Parse("text/xml; charset=iso-8859-1", bytes.NewReader(xml), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Message.Subject != "café" || r.EnvelopePrefix != "e" {
		t.Errorf("subject %q prefix %q", r.Message.Subject, r.EnvelopePrefix)
	}
}

// Parts are read through one scratch buffer: each keeps its own bytes
// (identity parts as a stretch of the body, even where the same bytes
// came earlier), whatever the parts read after it.
func TestPartsKeepTheirBytes(t *testing.T) {
	body := []byte("--b\r\nContent-Type: text/plain\r\n\r\nsame\r\n" +
		"--b\r\nContent-Type: text/plain\r\nX-Note: same\r\n\r\nsame\r\n" +
		"--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n" +
		"--b\r\nContent-Type: application/octet-stream\r\n\r\nsomething longer than the rest\r\n" +
		"--b\r\nContent-Type: text/plain\r\n\r\n\r\n" +
		"--b--\r\n")
	var scratch []byte
	parts, err := readMultipart(body, "b", 10, &scratch)
	if err != nil {
		t.Fatal(err)
	}
	// The scratch is used again, as a parser does for the next level.
	if _, err := readMultipart([]byte("--b\r\n\r\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n--b--\r\n"), "b", 10, &scratch); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range parts {
		got = append(got, string(p.body))
	}
	want := []string{"same", "same", "hello", "something longer than the rest", ""}
	if len(got) != len(want) {
		t.Fatalf("parts %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("parts %q, want %q", got, want)
		}
	}
}
