package mm7

import (
	"bytes"
	"math/rand/v2"
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

// indexPart finds what bytes.Index finds, or gives up (-1) but never
// answers a wrong place.
func TestIndexPart(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.IntN(4)) // few letters: prefixes repeat
		}
		return b
	}
	zeros := make([]byte, 4096)
	for _, c := range []struct {
		name      string
		body, raw []byte
	}{
		{"short", []byte("abc--part--def"), []byte("--part--")},
		{"at the start", append(bytes.Repeat([]byte("x"), 100), 'y'), bytes.Repeat([]byte("x"), 100)},
		{"absent", bytes.Repeat([]byte("x"), 200), append(bytes.Repeat([]byte("x"), 100), 'y')},
		{"longer than the body", []byte("abc"), bytes.Repeat([]byte("a"), 64)},
		{"after near misses", append(append(bytes.Repeat([]byte("ab"), 24), 'c'), bytes.Repeat([]byte("ab"), 40)...), append(bytes.Repeat([]byte("ab"), 20), 'c')},
		{"only near misses", zeros, append(bytes.Clone(zeros[:100]), 1)},
	} {
		got, want := indexPart(c.body, c.raw), bytes.Index(c.body, c.raw)
		if got != want && (got != -1 || c.name != "only near misses") {
			t.Errorf("%s: indexPart %d, bytes.Index %d", c.name, got, want)
		}
	}
	found := 0
	for range 2000 {
		body := random(200 + rng.IntN(300))
		from := rng.IntN(len(body))
		raw := bytes.Clone(body[from : from+rng.IntN(len(body)-from)+1])
		got, want := indexPart(body, raw), bytes.Index(body, raw)
		if got == -1 {
			continue // gave up after many candidates: the caller copies
		}
		if got != want {
			t.Fatalf("indexPart %d, bytes.Index %d, for %d bytes in %d", got, want, len(raw), len(body))
		}
		found++
	}
	if found < 1900 {
		t.Errorf("found %d of 2000 parts, gave up on the rest", found)
	}
}
