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
