package mm7

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"mmsprofile/mmsbridge"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
	"golang.org/x/text/encoding/unicode"
)

const ns14 = NSPrefix + "REL-6-MM7-1-4"

// envelope writes a SOAP envelope around a request element.
func envelope(ns, tx, body string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/">
<env:Header><mm7:TransactionID xmlns:mm7="` + ns + `" env:mustUnderstand="1">` + tx + `</mm7:TransactionID></env:Header>
<env:Body>` + body + `</env:Body>
</env:Envelope>
`
}

// deliverXML is a minimal DeliverReq with the given inner elements.
func deliverXML(inner string) string {
	return envelope(ns14, "tx-1", `<DeliverReq xmlns="`+ns14+`"><MM7Version>6.8.0</MM7Version><MMSRelayServerID>relay</MMSRelayServerID>`+inner+`</DeliverReq>`)
}

// mimeBody joins parts (each its header block, a blank line, its body)
// with a boundary, using nl as line ending.
func mimeBody(boundary, nl string, parts ...string) []byte {
	var b strings.Builder
	for _, p := range parts {
		b.WriteString("--" + boundary + nl)
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(p, "\r\n", "\n"), "\n", nl))
		b.WriteString(nl)
	}
	b.WriteString("--" + boundary + "--" + nl)
	return []byte(b.String())
}

func soapPart(xml string) string {
	return "Content-Type: text/xml; charset=utf-8\nContent-ID: <soap>\n\n" + xml
}

const sender = `<Sender><Number>+12025550143</Number></Sender>`

func mustEncode(t *testing.T, enc encoding.Encoding, s string) []byte {
	t.Helper()
	b, err := enc.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseQuirks(t *testing.T) {
	plain := func(headers, body string) string { return headers + "\n\n" + body }
	tests := []struct {
		name  string
		ct    string
		body  func(t *testing.T) []byte
		check func(t *testing.T, r *Request)
	}{{
		name: "unquoted type, no start, content id without brackets, href without cid",
		ct:   `multipart/related; type=text/xml; boundary=b1`,
		body: func(*testing.T) []byte {
			return mimeBody("b1", "\r\n",
				soapPart(deliverXML(sender+`<Content href="img-1"/>`)),
				plain("Content-Type: image/png\nContent-ID: img-1", "PNGDATA"))
		},
		check: func(t *testing.T, r *Request) {
			if len(r.Message.Parts) != 1 || string(r.Message.Parts[0].Data) != "PNGDATA" || r.Message.Parts[0].ContentID != "img-1" {
				t.Errorf("parts %+v", r.Message.Parts)
			}
		},
	}, {
		name: "capitalised parameters, BASE64, LF only, prefixed href with a space",
		ct:   `Multipart/Related; Type="text/xml"; Boundary="b2"; Start="<soap>"`,
		body: func(*testing.T) []byte {
			xml := deliverXML(sender + `<Content xmlns:p="` + ns14 + `" p:href="cid: c1"/>`)
			return mimeBody("b2", "\n",
				soapPart(xml),
				plain(`Content-Type: multipart/related; Type="application/smil"; Boundary="in"`+"\nContent-Id: c1", string(mimeBody("in", "\n",
					plain("Content-Type: application/smil", "<smil/>"),
					plain("Content-Type: Image/JPEG; Name=a.jpg\nContent-Transfer-Encoding: BASE64", "/9j/\n4AAQ")))))
		},
		check: func(t *testing.T, r *Request) {
			ps := r.Message.Parts
			if len(ps) != 1 || ps[0].ContentType != "image/jpeg" || !bytes.Equal(ps[0].Data, []byte{0xff, 0xd8, 0xff, 0xe0, 0, 0x10}) || ps[0].Filename != "a.jpg" {
				t.Errorf("parts %+v", ps)
			}
		},
	}, {
		name: "missing href takes the first non-XML part",
		ct:   `multipart/related; type="text/xml"; boundary="b3"`,
		body: func(*testing.T) []byte {
			return mimeBody("b3", "\r\n",
				soapPart(deliverXML(sender)),
				plain("Content-Type: text/plain; charset=utf-8", "hello"))
		},
		check: func(t *testing.T, r *Request) {
			if r.Message.Text() != "hello" {
				t.Errorf("text %q", r.Message.Text())
			}
		},
	}, {
		name: "bare number sender with TYPE=PLMN, elements out of order, mm7 prefix, bare recipient",
		ct:   `text/xml`,
		body: func(*testing.T) []byte {
			return []byte(envelope(NSPrefix+"REL-5-MM7-1-0", "tx-2", `<mm7:DeliverReq xmlns:mm7="`+NSPrefix+`REL-5-MM7-1-0"><mm7:Subject>s</mm7:Subject><mm7:Recipients><mm7:Cc displayOnly="true">2025550100/TYPE=PLMN</mm7:Cc></mm7:Recipients><mm7:Sender>2025550143/TYPE=PLMN</mm7:Sender><mm7:MM7Version>5.3.0</mm7:MM7Version></mm7:DeliverReq>`))
		},
		check: func(t *testing.T, r *Request) {
			m := r.Message
			if m.Sender != "+12025550143" || m.SenderRaw != "2025550143/TYPE=PLMN" || r.SenderType != "" {
				t.Errorf("sender %q raw %q type %q", m.Sender, m.SenderRaw, r.SenderType)
			}
			if len(m.Recipients) != 1 || m.Recipients[0] != (mmsbridge.Address{Kind: "Cc", Value: "+12025550100", DisplayOnly: true}) {
				t.Errorf("recipients %+v", m.Recipients)
			}
			if r.MM7Version != "5.3.0" || r.Namespace != NSPrefix+"REL-5-MM7-1-0" || m.Subject != "s" {
				t.Errorf("version %q ns %q subject %q", r.MM7Version, r.Namespace, m.Subject)
			}
		},
	}, {
		name: "no Sender still parses; MessageID makes the key",
		ct:   `text/xml`,
		body: func(*testing.T) []byte { return []byte(deliverXML(`<MessageID>m-9</MessageID>`)) },
		check: func(t *testing.T, r *Request) {
			if r.Message.Sender != "" || r.Message.Key != "relay/m-9" {
				t.Errorf("sender %q key %q", r.Message.Sender, r.Message.Key)
			}
		},
	}, {
		name: "utf-16 declared over UTF-8 bytes",
		ct:   `text/xml; charset=utf-16`,
		body: func(*testing.T) []byte {
			return []byte(strings.Replace(deliverXML(sender+`<Subject>Grüße</Subject>`), `encoding="UTF-8"`, `encoding="utf-16"`, 1))
		},
		check: func(t *testing.T, r *Request) {
			if r.Message.Subject != "Grüße" {
				t.Errorf("subject %q", r.Message.Subject)
			}
		},
	}, {
		name: "real UTF-16 with BOM",
		ct:   `text/xml; charset=utf-16`,
		body: func(t *testing.T) []byte {
			xml := strings.Replace(deliverXML(sender+`<Subject>Grüße</Subject>`), `encoding="UTF-8"`, `encoding="UTF-16"`, 1)
			return mustEncode(t, unicode.UTF16(unicode.LittleEndian, unicode.UseBOM), xml)
		},
		check: func(t *testing.T, r *Request) {
			if r.Message.Subject != "Grüße" {
				t.Errorf("subject %q", r.Message.Subject)
			}
		},
	}, {
		name: "ISO-8859-1 XML declaration",
		ct:   `text/xml`,
		body: func(t *testing.T) []byte {
			xml := strings.Replace(deliverXML(sender+`<Subject>café</Subject>`), `encoding="UTF-8"`, `encoding="ISO-8859-1"`, 1)
			return mustEncode(t, charmap.ISO8859_1, xml)
		},
		check: func(t *testing.T, r *Request) {
			if r.Message.Subject != "café" {
				t.Errorf("subject %q", r.Message.Subject)
			}
		},
	}, {
		name: "namespace with a typo, SOAP-ENV prefix",
		ct:   `text/xml`,
		body: func(*testing.T) []byte {
			return []byte(`<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Header><TransactionID xmlns="` + NSPrefix + `REL-6-MM7-6-7">t</TransactionID></SOAP-ENV:Header><SOAP-ENV:Body><DeliverReq xmlns="` + NSPrefix + `REL-6-MM7-6-7"><Sender><ShortCode>123</ShortCode></Sender></DeliverReq></SOAP-ENV:Body></SOAP-ENV:Envelope>`)
		},
		check: func(t *testing.T, r *Request) {
			if r.EnvelopePrefix != "SOAP-ENV" || r.Namespace != NSPrefix+"REL-6-MM7-6-7" || r.Message.Sender != "123" || r.SenderType != "ShortCode" {
				t.Errorf("prefix %q ns %q sender %q", r.EnvelopePrefix, r.Namespace, r.Message.Sender)
			}
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Parse(tc.ct, bytes.NewReader(tc.body(t)), Limits{DefaultCountryCode: "1"})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if r.Kind != KindDeliverReq || r.Message == nil {
				t.Fatalf("kind %v", r.Kind)
			}
			tc.check(t, r)
		})
	}
}

// TestTextCharsets checks that text parts in the charsets MMS phones use
// arrive as UTF-8, with the declared charset kept.
func TestTextCharsets(t *testing.T) {
	tests := []struct {
		charset string
		enc     encoding.Encoding
		text    string
	}{
		{"gb2312", simplifiedchinese.GBK, "今天心情很好"},
		{"GBK", simplifiedchinese.GBK, "晚上一起吃饭吧"},
		{"GB18030", simplifiedchinese.GB18030, "我的新头像"},
		{"Big5", traditionalchinese.Big5, "今天心情很好"},
		{"EUC-KR", korean.EUCKR, "안녕하세요"},
		{"Shift_JIS", japanese.ShiftJIS, "こんにちは"},
		{"ISO-2022-JP", japanese.ISO2022JP, "こんにちは"},
		{"ISO-8859-1", charmap.ISO8859_1, "Grüße aus Köln"},
		{"iso-8859-15", charmap.ISO8859_15, "5 €"},
		{"windows-1251", charmap.Windows1251, "Привет"},
		{"windows-1252", charmap.Windows1252, "“quoted” café"},
		{"utf-16", unicode.UTF16(unicode.BigEndian, unicode.UseBOM), "héllo 😊"},
		{"utf-16le", unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM), "héllo"},
		{"utf-8", unicode.UTF8, "plain 😊"},
	}
	for _, tc := range tests {
		t.Run(tc.charset, func(t *testing.T) {
			// Built by hand: encoded bytes may hold 0x0A, which mimeBody
			// would turn into CRLF.
			body := []byte("--b\r\n" + strings.ReplaceAll(soapPart(deliverXML(sender+`<Content href="cid:t"/>`)), "\n", "\r\n") +
				"\r\n--b\r\nContent-Type: text/plain; charset=" + tc.charset + "\r\nContent-ID: <t>\r\nContent-Transfer-Encoding: binary\r\n\r\n" +
				string(mustEncode(t, tc.enc, tc.text)) + "\r\n--b--\r\n")
			r, err := Parse(`multipart/related; type="text/xml"; boundary=b`, bytes.NewReader(body), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			p := r.Message.Parts[0]
			if string(p.Data) != tc.text || p.Charset != tc.charset {
				t.Errorf("got %q (%s), want %q (%s)", p.Data, p.Charset, tc.text, tc.charset)
			}
		})
	}
}

// TestParseRefusals checks the status code of each kind of refusal and
// that the envelope fields are still there to echo.
func TestParseRefusals(t *testing.T) {
	big := strings.Repeat("x", 100)
	tests := []struct {
		name   string
		ct     string
		body   string
		lim    Limits
		code   StatusCode
		echoTx bool
	}{
		{"text part over MaxTextBytes", `multipart/related; boundary=b`,
			string(mimeBody("b", "\r\n", soapPart(deliverXML(sender)), "Content-Type: text/plain\r\n\r\n"+big)),
			Limits{MaxTextBytes: 50}, StatusContentRefused, true},
		{"too many parts", `multipart/related; boundary=b`,
			string(mimeBody("b", "\r\n", soapPart(deliverXML(sender)), "Content-Type: multipart/mixed; boundary=i\r\n\r\n"+string(mimeBody("i", "\r\n", "\r\na", "\r\nb", "\r\nc")))),
			Limits{MaxParts: 4}, StatusContentRefused, true},
		{"too many top-level parts", `multipart/related; boundary=b`,
			string(mimeBody("b", "\r\n", soapPart(deliverXML(sender)), "\r\na", "\r\nb", "\r\nc")),
			Limits{MaxParts: 2}, StatusContentRefused, true},
		{"nested multipart without boundary", `multipart/related; boundary=b`,
			string(mimeBody("b", "\r\n", soapPart(deliverXML(sender)), "Content-Type: multipart/mixed\r\n\r\nx")),
			Limits{}, StatusMessageFormatCorrupt, true},
		{"no TransactionID", `text/xml`,
			`<e:Envelope xmlns:e="` + NSEnvelope + `"><e:Body><DeliverReq xmlns="` + ns14 + `"/></e:Body></e:Envelope>`,
			Limits{}, StatusValidationError, false},
		{"not an envelope", `text/xml`, `<DeliverReq/>`, Limits{}, StatusValidationError, false},
		{"empty body element", `text/xml`, envelope(ns14, "t", ""), Limits{}, StatusValidationError, true},
		{"report without MessageID", `text/xml`, envelope(ns14, "t", `<DeliveryReportReq xmlns="`+ns14+`"/>`), Limits{}, StatusValidationError, true},
		{"too many elements", `text/xml`, envelope(ns14, "t", strings.Repeat("<a/>", 50)), Limits{MaxXMLElements: 20}, StatusValidationError, false},
		{"entity not predefined", `text/xml`, deliverXML(`<Subject>&foo;</Subject>`), Limits{}, StatusValidationError, false},
		{"body too large", `text/xml`, deliverXML(big), Limits{MaxBytes: 100}, StatusValidationError, false},
		{"empty body", `text/xml`, ``, Limits{}, StatusValidationError, false},
		{"multipart with no part", `multipart/related; boundary=b`, "nothing here", Limits{}, StatusMessageFormatCorrupt, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Parse(tc.ct, strings.NewReader(tc.body), tc.lim)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if e.Code != tc.code {
				t.Errorf("code %d, want %d (%v)", e.Code, tc.code, err)
			}
			if tc.echoTx && (r == nil || r.TransactionID == "") {
				t.Errorf("request %+v lacks the TransactionID to echo", r)
			}
			if r != nil && (r.Message != nil || r.Report != nil) {
				t.Errorf("refused request carries a message or report")
			}
		})
	}
}

func TestParseOtherKinds(t *testing.T) {
	r, err := Parse("text/xml", strings.NewReader(envelope(ns14, "t-5", `<CancelReq xmlns="`+ns14+`"><MM7Version>6.8.0</MM7Version></CancelReq>`)), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind != KindOther || r.Element != "CancelReq" || r.TransactionID != "t-5" {
		t.Errorf("%+v", r)
	}
	// A DeliverReq in a namespace that is not MM7 is not ours.
	r, err = Parse("text/xml", strings.NewReader(envelope(ns14, "t-6", `<DeliverReq xmlns="urn:example:other"/>`)), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind != KindOther || r.Namespace != ns14 {
		t.Errorf("%+v", r)
	}
}
