package mm7

import (
	"bytes"
	"testing"

	"golang.org/x/text/encoding/charmap"
)

func TestParseMediaTypeLenient(t *testing.T) {
	tests := []struct {
		in, mt string
		params map[string]string
	}{
		{`multipart/related; type=text/xml; boundary="b"`, "multipart/related", map[string]string{"type": "text/xml", "boundary": "b"}},
		{`image/gif; name=saturn.gif;`, "image/gif", map[string]string{"name": "saturn.gif"}},
		{`Multipart/Related; Start="<a;b>"; Boundary=x`, "multipart/related", map[string]string{"start": "<a;b>", "boundary": "x"}},
		{``, "", map[string]string{}},
	}
	for _, tc := range tests {
		mt, params := parseMediaType(tc.in)
		if mt != tc.mt || len(params) != len(tc.params) {
			t.Errorf("%q: %q %v", tc.in, mt, params)
			continue
		}
		for k, v := range tc.params {
			if params[k] != v {
				t.Errorf("%q: %s = %q, want %q", tc.in, k, params[k], v)
			}
		}
	}
}

// TestSOAPCharsetFromMIME: an envelope without encoding declaration in a
// part labelled ISO-8859-1 is read in that charset.
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
