package mm7

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
)

// A DeliverReq written whole in a legacy East Asian (or Cyrillic)
// charset, as Korean, Japanese and Chinese MMSCs send it: the XML
// declaration names the charset, the Subject is in it, and so is the text
// part (its MIME charset). The MMSC gets 1000 and the Receiver the text in
// UTF-8.
func TestHandlerLegacyCharsets(t *testing.T) {
	tests := []struct {
		label         string
		enc           encoding.Encoding
		subject, text string
	}{
		{"EUC-KR", korean.EUCKR, "해변에서", "안녕하세요, 사진 보내요"},
		{"Shift_JIS", japanese.ShiftJIS, "海で", "こんにちは、写真です"},
		{"ISO-2022-JP", japanese.ISO2022JP, "海で", "週末に会いましょう"},
		{"GB18030", simplifiedchinese.GB18030, "海边", "你好，这是我的照片"},
		{"GB2312", simplifiedchinese.GBK, "海边", "周末去爬山"},
		{"Big5", traditionalchinese.Big5, "海邊", "你好，這是我的照片"},
		{"KOI8-R", charmap.KOI8R, "Пляж", "Привет, это моё фото"},
	}
	for _, tc := range tests {
		t.Run(tc.label, func(t *testing.T) {
			soap := strings.Replace(deliverXML(sender+`<Subject>`+tc.subject+`</Subject><Content href="cid:text"/>`),
				`encoding="UTF-8"`, `encoding="`+tc.label+`"`, 1)
			body := mimeBody("b1", "\r\n",
				"Content-Type: text/xml\nContent-ID: <soap>\n\n"+string(mustEncode(t, tc.enc, soap)),
				"Content-Type: text/plain; charset="+tc.label+"\nContent-ID: <text>\n\n"+string(mustEncode(t, tc.enc, tc.text)),
			)
			r := httptest.NewRequest(http.MethodPost, "/mm7", strings.NewReader(string(body)))
			r.Header.Set("Content-Type", `multipart/related; type="text/xml"; start="<soap>"; boundary="b1"`)
			r.SetBasicAuth("mmsc-relay", "Rel@y-2024")
			rcv := &fakeReceiver{}
			rec := serve(t, testConfig(), rcv, r)
			a := readAnswer(t, rec.Body.Bytes())
			if rec.Code != 200 || a.statusCode != "1000" || len(rcv.msgs) != 1 {
				t.Fatalf("HTTP %d %+v", rec.Code, a)
			}
			m := rcv.msgs[0]
			if m.Subject != tc.subject || m.Text() != tc.text {
				t.Fatalf("subject %q text %q; want %q, %q", m.Subject, m.Text(), tc.subject, tc.text)
			}
		})
	}
}

// A text part declared utf-7 is refused with 2004 and a reason the sender
// can act on, not read as ASCII; a declaration naming it is a 4004.
func TestHandlerUTF7Refused(t *testing.T) {
	post := func(ct string, body []byte) (int, soapAnswer) {
		r := httptest.NewRequest(http.MethodPost, "/mm7", strings.NewReader(string(body)))
		r.Header.Set("Content-Type", ct)
		r.SetBasicAuth("mmsc-relay", "Rel@y-2024")
		rcv := &fakeReceiver{}
		rec := serve(t, testConfig(), rcv, r)
		if len(rcv.msgs) != 0 {
			t.Errorf("a utf-7 request reached the Receiver")
		}
		return rec.Code, readAnswer(t, rec.Body.Bytes())
	}
	body := mimeBody("b1", "\r\n",
		soapPart(deliverXML(sender+`<Content href="cid:text"/>`)),
		"Content-Type: text/plain; charset=utf-7\nContent-ID: <text>\n\nHi +ADw-script+AD4-",
	)
	code, a := post(`multipart/related; type="text/xml"; start="<soap>"; boundary="b1"`, body)
	if code != 200 || a.element != "DeliverRsp" || a.statusCode != "2004" || !strings.Contains(a.details, "utf-7") {
		t.Fatalf("text part: HTTP %d %+v", code, a)
	}
	xml := strings.Replace(deliverXML(sender), `encoding="UTF-8"`, `encoding="UTF-7"`, 1)
	code, a = post("text/xml", []byte(xml))
	if code != 500 || !a.fault || a.statusCode != "4004" {
		t.Fatalf("declaration: HTTP %d %+v", code, a)
	}
}
