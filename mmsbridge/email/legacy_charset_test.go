package email

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"

	"mmsprofile/mmsbridge"
)

func encodeIn(t *testing.T, enc encoding.Encoding, s string) string {
	t.Helper()
	b, err := enc.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A carrier mail in a legacy charset, body as 8-bit text under charset=
// and Subject as an RFC 2047 word in the same charset: both end as UTF-8.
func TestExtractLegacyCharsets(t *testing.T) {
	tests := []struct {
		label         string
		enc           encoding.Encoding
		subject, text string
	}{
		{"EUC-KR", korean.EUCKR, "해변에서", "안녕하세요, 사진 보내요"},
		{"ks_c_5601-1987", korean.EUCKR, "사진", "주말에 만나요"},
		{"Shift_JIS", japanese.ShiftJIS, "海で", "こんにちは、写真です"},
		{"ISO-2022-JP", japanese.ISO2022JP, "海で", "週末に会いましょう"},
		{"GB18030", simplifiedchinese.GB18030, "海边", "你好，这是我的照片"},
		{"GB2312", simplifiedchinese.GBK, "海边", "周末去爬山"},
		{"Big5", traditionalchinese.Big5, "海邊", "你好，這是我的照片"},
		{"KOI8-R", charmap.KOI8R, "Пляж", "Привет, это моё фото"},
		{"windows-1251", charmap.Windows1251, "Пляж", "Здравствуйте"},
	}
	for _, tc := range tests {
		t.Run(tc.label, func(t *testing.T) {
			subj := "=?" + tc.label + "?B?" + base64.StdEncoding.EncodeToString([]byte(encodeIn(t, tc.enc, tc.subject))) + "?="
			raw := "From: 2025550143@mms.att.net\r\nSubject: " + subj + "\r\nMIME-Version: 1.0\r\n" +
				"Content-Type: text/plain; charset=\"" + tc.label + "\"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
				encodeIn(t, tc.enc, tc.text) + "\r\n"
			m, err := Extract(strings.NewReader(raw), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if m.Subject != tc.subject || m.Text() != tc.text {
				t.Fatalf("subject %q text %q; want %q, %q", m.Subject, m.Text(), tc.subject, tc.text)
			}
		})
	}
}

// A part claiming charset=utf-7 is refused as content (554 5.6.0 with the
// reason), not read as ASCII; a UTF-7 encoded word stays as written.
func TestExtractUTF7Refused(t *testing.T) {
	raw := "From: 2025550143@mms.att.net\r\nSubject: =?utf-7?Q?Hi_+ADw-b+AD4-?=\r\nContent-Type: text/plain; charset=utf-7\r\n\r\nHi +ADw-script+AD4-alert(1)+ADw-/script+AD4-\r\n"
	_, err := Extract(strings.NewReader(raw), Limits{})
	ref, ok := mmsbridge.AsRefusal(err)
	if !ok || ref.Reason != mmsbridge.ReasonContent || !strings.Contains(ref.Text, "utf-7") {
		t.Fatalf("err %v, want a content refusal naming utf-7", err)
	}
	if o := outcomeFor(err); o.smtp == nil || o.smtp.Code != 554 || o.exit != ExitDataErr {
		t.Fatalf("outcome %+v", o)
	}
	if got := decodeHeader("=?utf-7?Q?Hi_+ADw-b+AD4-?="); got != "=?utf-7?Q?Hi_+ADw-b+AD4-?=" {
		t.Errorf("utf-7 word decoded to %q", got)
	}
	if errors.Is(err, ErrMalformed) {
		t.Errorf("utf-7 reported as malformed MIME")
	}
}
