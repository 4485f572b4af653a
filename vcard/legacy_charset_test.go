package vcard

import (
	"strings"
	"testing"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
)

// 2.1 cards from Asian and Russian phones carry CHARSET= on each value,
// as 8-bit bytes or quoted-printable: both end as UTF-8.
func TestParseVCFLegacyCharsets(t *testing.T) {
	tests := []struct {
		label    string
		enc      encoding.Encoding
		fn, note string
	}{
		{"EUC-KR", korean.EUCKR, "김민수", "해변에서 만나요"},
		{"ks_c_5601-1987", korean.EUCKR, "이지은", "사진"},
		{"SHIFT_JIS", japanese.ShiftJIS, "山田太郎", "東京の夜"},
		{"ISO-2022-JP", japanese.ISO2022JP, "佐藤花子", "週末に会いましょう"},
		{"GB18030", simplifiedchinese.GB18030, "王小明", "你好"},
		{"GB2312", simplifiedchinese.GBK, "李华", "周末去爬山"},
		{"BIG5", traditionalchinese.Big5, "陳大文", "你好"},
		{"KOI8-R", charmap.KOI8R, "Иван Петров", "Привет"},
	}
	for _, tc := range tests {
		t.Run(tc.label, func(t *testing.T) {
			enc := func(s string) string {
				b, err := tc.enc.NewEncoder().Bytes([]byte(s))
				if err != nil {
					t.Fatal(err)
				}
				return string(b)
			}
			qp := func(s string) string {
				var b strings.Builder
				for _, c := range []byte(enc(s)) {
					b.WriteString("=" + strings.ToUpper(string("0123456789abcdef"[c>>4])+string("0123456789abcdef"[c&15])))
				}
				return b.String()
			}
			in := card("VERSION:2.1",
				"FN;CHARSET="+tc.label+":"+enc(tc.fn),
				"NOTE;CHARSET="+tc.label+";ENCODING=QUOTED-PRINTABLE:"+qp(tc.note),
				"TEL;CELL:+12025550143")
			cards, warns, err := ParseVCF(strings.NewReader(in), Limits{})
			if err != nil || len(cards) != 1 {
				t.Fatalf("%d cards, %v", len(cards), err)
			}
			if c := cards[0]; c.FN != tc.fn || c.Note != tc.note {
				t.Fatalf("FN %q Note %q; want %q, %q (warnings %v)", c.FN, c.Note, tc.fn, tc.note, warns)
			}
			if len(warns) != 0 {
				t.Errorf("warnings %v", warns)
			}
		})
	}
}

// CHARSET=UTF-7 drops the value with a warning: reading it as ASCII
// would pass on what the "+…-" runs hide.
func TestParseVCFUTF7Dropped(t *testing.T) {
	in := card("VERSION:2.1", "FN;CHARSET=UTF-7:Jo +ADw-b+AD4-", "NOTE:kept", "TEL;CELL:+12025550143")
	cards, warns, err := ParseVCF(strings.NewReader(in), Limits{})
	if err != nil || len(cards) != 1 {
		t.Fatalf("%d cards, %v", len(cards), err)
	}
	if c := cards[0]; strings.Contains(c.FN, "+ADw-") || c.Note != "kept" {
		t.Fatalf("FN %q Note %q", c.FN, c.Note)
	}
	found := false
	for _, w := range warns {
		found = found || strings.Contains(w.String(), "UTF-7")
	}
	if !found {
		t.Errorf("no warning names UTF-7: %v", warns)
	}
}
