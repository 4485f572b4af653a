package charset

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
	"golang.org/x/text/encoding/unicode"
)

// legacy is real text in each legacy charset MMSCs and phones send, as
// the label they write it with.
var legacy = []struct {
	label string
	enc   encoding.Encoding
	text  string
}{
	{"EUC-KR", korean.EUCKR, "안녕하세요, 해변에서"},
	{"ks_c_5601-1987", korean.EUCKR, "해변에서 만나요"},
	{"Shift_JIS", japanese.ShiftJIS, "こんにちは、海で"},
	{"ISO-2022-JP", japanese.ISO2022JP, "海で会いましょう"},
	{"EUC-JP", japanese.EUCJP, "東京の夜"},
	{"GB18030", simplifiedchinese.GB18030, "你好，在海边"},
	{"GB2312", simplifiedchinese.GBK, "海边的照片"}, // GB2312 is read as GBK, its superset
	{"gbk", simplifiedchinese.GBK, "周末去爬山"},
	{"Big5", traditionalchinese.Big5, "你好，在海邊"},
	{"KOI8-R", charmap.KOI8R, "Привет с пляжа"},
	{"KOI8-U", charmap.KOI8U, "Привіт з пляжу"},
	{"windows-1251", charmap.Windows1251, "Здравствуйте"},
	{"windows-1250", charmap.Windows1250, "Dobrý den, Łódź"},
	{"windows-1256", charmap.Windows1256, "مرحبا"},
	{"ISO-8859-2", charmap.ISO8859_2, "Zażółć gęślą jaźń"},
	{"iso-8859-7", charmap.ISO8859_7, "Καλημέρα"},
	{"ISO-8859-15", charmap.ISO8859_15, "Prix: 5 €"},
	{"IBM437", charmap.CodePage437, "Ça va ░"},
}

func TestTextLegacy(t *testing.T) {
	for _, tc := range legacy {
		t.Run(tc.label, func(t *testing.T) {
			b, err := tc.enc.NewEncoder().Bytes([]byte(tc.text))
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(b, []byte(tc.text)) {
				t.Fatal("encoding left the text as UTF-8: the test proves nothing")
			}
			got, err := Text(b, tc.label)
			if err != nil || string(got) != tc.text {
				t.Fatalf("Text = %q, %v; want %q", got, err, tc.text)
			}
			r, err := NewReader(tc.label, bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if got, err := io.ReadAll(r); err != nil || string(got) != tc.text {
				t.Fatalf("NewReader = %q, %v", got, err)
			}
		})
	}
}

func TestTextQuirks(t *testing.T) {
	utf16 := func(e unicode.Endianness, b unicode.BOMPolicy, s string) []byte {
		out, err := unicode.UTF16(e, b).NewEncoder().Bytes([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	tests := []struct {
		name, label string
		in          []byte
		want        string
		err         error
	}{
		{"utf-16 label over UTF-8 bytes", "UTF-16", []byte("héllo"), "héllo", nil},
		{"UTF-16LE with BOM, no label", "", utf16(unicode.LittleEndian, unicode.UseBOM, "한국어"), "한국어", nil},
		{"UTF-16BE with BOM under utf-16", "utf-16", utf16(unicode.BigEndian, unicode.UseBOM, "日本語"), "日本語", nil},
		{"UTF-16LE without BOM under utf-16le", "utf-16le", utf16(unicode.LittleEndian, unicode.IgnoreBOM, "abc"), "abc", nil},
		{"utf-8 label over Latin-1 bytes", "utf-8", []byte("caf\xe9"), "café", nil},
		{"us-ascii label over 8-bit bytes", "us-ascii", []byte("na\xefve"), "naïve", nil},
		{"UTF-8 BOM dropped", "utf-8", []byte("\xEF\xBB\xBFok"), "ok", nil},
		{"quoted label", `"iso-8859-1"`, []byte("\xe9t\xe9"), "été", nil},
		{"NUL without label is not UTF-16", "", []byte("Evil\x00Name"), "Evil\x00Name", nil},
		{"unknown label", "x-no-such", []byte("ok"), "ok", ErrUnknown},
		{"unknown label, 8-bit bytes", "x-no-such", []byte("\xe9"), "é", ErrUnknown},
		{"utf-7 refused", "UTF-7", []byte("Hi +ZeVnLIqe-"), "", ErrRefused},
		{"imap utf-7 refused", "x-imap4-modified-utf7", []byte("&ZeVnLIqe-"), "", ErrRefused},
		{"iso-2022-kr has no decoder", "ISO-2022-KR", []byte("\x1b$)C"), "", ErrRefused},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Text(tc.in, tc.label)
			if string(got) != tc.want || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Fatalf("Text = %q, %v; want %q, %v", got, err, tc.want, tc.err)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	for _, l := range []string{"", "UTF-8", "utf8", "US-ASCII", "unknown-8bit"} {
		if e, err := Lookup(l); e != nil || err != nil {
			t.Errorf("Lookup(%q) = %v, %v; want UTF-8 (nil, nil)", l, e, err)
		}
	}
	if _, err := NewReader("utf-7", bytes.NewReader(nil)); !errors.Is(err, ErrRefused) {
		t.Errorf("NewReader(utf-7) error %v", err)
	}
	if _, err := NewReader("x-klingon", bytes.NewReader(nil)); !errors.Is(err, ErrUnknown) {
		t.Errorf("NewReader(x-klingon) error %v", err)
	}
}
