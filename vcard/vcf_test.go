package vcard

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// photoSHA256 is the JPEG in testdata/vcf/30-mm7-photo.vcf, per the MM7
// fixture it was copied from; the other samples carry the same bytes.
const photoSHA256 = "0e804e4ee39aad0963c776bf138d54461fb66630c76a02fdc8ddc5059a20ea38"

func TestParseVCFSamples(t *testing.T) {
	tests := []struct {
		file      string
		want      []Card // Photo compared by photoSHA256 when wantPhoto
		wantPhoto []bool
		warnings  []string // substrings, in order
	}{
		{
			file: "21-generic-carrier.vcf",
			want: []Card{{
				Version: "2.1", FN: "José Álvarez", N: Name{Family: "Álvarez", Given: "José"},
				Tels: []string{"+15415550199", "+15415550111"}, Emails: []string{"jose.alvarez@example.net"},
				Note: "Estado: en la playa 🏖",
			}},
		},
		{
			file: "30-mm7-photo.vcf",
			want: []Card{{
				Version: "3.0", FN: "Alex Rivera", N: Name{Family: "Rivera", Given: "Alex"},
				Tels: []string{"+12025550143"}, Emails: []string{"alex.rivera@example.org"},
				Note: "Out hiking until Sunday",
			}},
			wantPhoto: []bool{true},
		},
		{
			file: "21-latin1-qp-photo.vcf",
			want: []Card{{
				Version: "2.1", FN: "Jörg", N: Name{Family: "Müller", Given: "Jörg", Prefix: "Dr."}, Nickname: "Jörgi",
				Org: "Große Firma", OrgUnits: []string{"Entwicklung"}, Title: "Ingenieur",
				Tels: []string{"+49 170 1234567", "030 1234567"}, Emails: []string{"joerg@example.de"},
				URL: "http://example.de/~joerg", BDay: "1980-02-29",
				Note: "Erste Zeile\nZweite Zeile mit einer sehr langen Fortsetzung, die auf der nächsten Zeile weitergeht",
			}},
			wantPhoto: []bool{true},
			warnings:  []string{"card 1, line 17: embedded card (AGENT) skipped", "card 1, line 22: malformed property skipped"},
		},
		{
			file:      "21-unindented-photo.vcf",
			want:      []Card{{Version: "2.1", FN: "Old Phone", Tels: []string{"0170-7654321"}}},
			wantPhoto: []bool{true},
		},
		{
			file: "21-shift-jis.vcf",
			want: []Card{{Version: "2.1", FN: "山田 太郎", N: Name{Family: "山田", Given: "太郎"}, Tels: []string{"090-1234-5678"}}},
		},
		{
			file: "30-apple.vcf",
			want: []Card{{
				Version: "3.0", FN: "Dr. Anna Maria Smith, PhD",
				N:        Name{Family: "Smith; Jr.", Given: "Anna", Middle: "Maria", Prefix: "Dr.", Suffix: "PhD"},
				Nickname: "Annie", Org: "Example, Inc.", OrgUnits: []string{"Research", "Lab 2"}, Title: "Chief Scientist",
				Emails: []string{"anna@example.com", "anna.smith@work.example"}, Tels: []string{"(202) 555-0143"},
				URL: "https://anna.example.com/", BDay: "1979-03-14",
				Note: "Line one\nLine two is long enough that Apple folds it at seventy-five octets, with an escaped comma.",
			}},
		},
		{
			file: "40-data-uri.vcf",
			want: []Card{{
				Version: "4.0", FN: "Mei Lin 林美", N: Name{Family: "Lin", Given: "Mei"}, Nickname: "美美", Org: "Acme",
				Tels: []string{"tel:+1-415-555-0100;ext=12"}, Emails: []string{"mei@example.org"}, BDay: "--0412",
				URL: "https://mei.example.org",
			}},
			wantPhoto: []bool{true},
		},
		{
			file: "30-addressbook.vcf",
			want: []Card{
				{Version: "3.0", FN: "Alice", Tels: []string{"+1 202 555 0101"}},
				{Version: "2.1", N: Name{Family: "Bob"}, Tels: []string{"202-555-0102"}},
				{Version: "4.0", FN: "Carol", Tels: []string{"tel:+12025550103"}},
			},
			warnings: []string{"card 1, line 6: text outside a card ignored"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			cards, warns, err := ParseVCF(bytes.NewReader(readTestdata(t, "vcf/"+tt.file)), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if len(cards) != len(tt.want) {
				t.Fatalf("got %d cards, want %d", len(cards), len(tt.want))
			}
			for i, c := range cards {
				hasPhoto := i < len(tt.wantPhoto) && tt.wantPhoto[i]
				switch {
				case hasPhoto && c.Photo == nil:
					t.Errorf("card %d: no photo", i+1)
				case hasPhoto:
					sum := sha256.Sum256(c.Photo.Data)
					if hex.EncodeToString(sum[:]) != photoSHA256 || c.Photo.Type != "image/jpeg" {
						t.Errorf("card %d: photo %s of %d bytes, sha256 %x", i+1, c.Photo.Type, len(c.Photo.Data), sum)
					}
				case c.Photo != nil:
					t.Errorf("card %d: unexpected photo", i+1)
				}
				c.Photo = nil
				if !reflect.DeepEqual(c, tt.want[i]) {
					t.Errorf("card %d:\n got %+v\nwant %+v", i+1, c, tt.want[i])
				}
			}
			checkWarnings(t, warns, tt.warnings)
		})
	}
}

func checkWarnings(t *testing.T, got []Warning, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("warnings %q, want %q", got, want)
		return
	}
	for i := range want {
		if !strings.Contains(got[i].String(), want[i]) {
			t.Errorf("warning %d = %q, want it to contain %q", i, got[i], want[i])
		}
	}
}

func card(lines ...string) string {
	return "BEGIN:VCARD\r\nVERSION:3.0\r\n" + strings.Join(lines, "\r\n") + "\r\nEND:VCARD\r\n"
}

func TestParseVCFHostile(t *testing.T) {
	many := strings.Repeat(card("FN:x", "TEL:+12025550100"), 5000)
	tests := []struct {
		name    string
		in      string
		lim     Limits
		tooBig  bool
		noCard  bool
		wantErr string
	}{
		{name: "10 MB card", in: card("NOTE:" + strings.Repeat("a", 10<<20)), tooBig: true, wantErr: "larger than 1 MiB"},
		{name: "5000 contacts", in: many, tooBig: true, wantErr: "more than 1000 contacts"},
		{name: "too many properties", in: card(strings.Repeat("EMAIL:a@b\r\n", 200) + "FN:x"), tooBig: true, wantErr: "contact 1 has more than 200 properties"},
		{name: "long line", in: card("NOTE:" + strings.Repeat("a", 70<<10)), tooBig: true, wantErr: "property NOTE is 71685 bytes long"},
		{name: "long folded line", in: card("NOTE:" + strings.Repeat("a\r\n ", 70<<10)), tooBig: true, wantErr: "property NOTE"},
		// Joining 200,000 soft line breaks must stay linear in the input.
		{name: "quoted-printable soft breaks", in: card("NOTE;ENCODING=QUOTED-PRINTABLE:" + strings.Repeat("a=\r\n", 200000)), tooBig: true, wantErr: "property NOTE"},
		{name: "own limits", in: card("FN:x"), lim: Limits{Bytes: 10}, tooBig: true, wantErr: "larger than 10 bytes"},
		{name: "empty", in: "", noCard: true},
		{name: "binary", in: "\x00\xff\xfe garbage \x89PNG\r\n", noCard: true},
		{name: "only junk lines", in: "hello\r\nworld:1\r\n", noCard: true},
		{name: "END only", in: "END:VCARD\r\n", noCard: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ParseVCF(strings.NewReader(tt.in), tt.lim)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.HasPrefix(err.Error(), "vcard: parse: ") || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q, want it to mention %q", err, tt.wantErr)
			}
			if errors.Is(err, ErrTooLarge) != tt.tooBig || errors.Is(err, ErrNoCard) != tt.noCard {
				t.Errorf("error %v: ErrTooLarge %v, ErrNoCard %v", err, errors.Is(err, ErrTooLarge), errors.Is(err, ErrNoCard))
			}
		})
	}
}

func TestParseVCFLenient(t *testing.T) {
	bigPhoto := "PHOTO;ENCODING=b;TYPE=JPEG:" + strings.Repeat("/9j/", 150<<10) // 600 KB on one line
	tests := []struct {
		name     string
		in       string
		want     Card
		photo    bool
		warnings []string
	}{
		{
			name: "malformed lines skipped",
			in: card("FN:Good", "no colon here", ";:empty name", "BAD NAME:x", "N;TYPE=\"unterminated:Doe;John",
				"TEL;TYPE=CELL:+1 202 555 0100"),
			want: Card{Version: "3.0", FN: "Good", Tels: []string{"+1 202 555 0100"}},
			warnings: []string{"line 4: malformed property", "line 5: malformed property", "line 6: malformed property",
				"line 7: malformed property"},
		},
		{
			name: "control characters removed",
			in:   card("FN:Evil\x00\x07\x1b[31mName\u0085", "NOTE:a\\nb\tc\x7f", "NICKNAME:  \t "),
			want: Card{Version: "3.0", FN: "Evil[31mName", Note: "a\nb c"},
		},
		{
			name: "8-bit without charset is Windows-1252",
			in:   card("FN:Ren\xe9 \x80"),
			want: Card{Version: "3.0", FN: "René €"},
		},
		{
			name:     "unknown charset",
			in:       card("FN;CHARSET=X-KLINGON:Qapla'"),
			want:     Card{Version: "3.0", FN: "Qapla'"},
			warnings: []string{`unknown CHARSET "X-KLINGON"`},
		},
		{
			name:     "bad quoted-printable kept literally",
			in:       card("FN;ENCODING=QUOTED-PRINTABLE:a=ZZb=4", "NOTE;QUOTED-PRINTABLE:x=3D1="),
			want:     Card{Version: "3.0", FN: "a=ZZb=4", Note: "x=1"},
			warnings: nil,
		},
		{
			name:     "photo link not fetched",
			in:       card("FN:x", "PHOTO;VALUE=uri:https://example.com/a.jpg"),
			want:     Card{Version: "3.0", FN: "x"},
			warnings: []string{"card 1: PHOTO skipped: it is a link"},
		},
		{
			name:     "photo that is not an image",
			in:       card("FN:x", "PHOTO;ENCODING=b;TYPE=TEXT:aGVsbG8gd29ybGQ="),
			want:     Card{Version: "3.0", FN: "x"},
			warnings: []string{"PHOTO skipped: not an image"},
		},
		{
			name:     "photo with bad base64",
			in:       card("FN:x", "PHOTO;ENCODING=b:!!!!"),
			want:     Card{Version: "3.0", FN: "x"},
			warnings: []string{"PHOTO skipped: bad base64"},
		},
		{
			name:  "big photo on one line is fine",
			in:    card("FN:x", bigPhoto),
			want:  Card{Version: "3.0", FN: "x"},
			photo: true,
		},
		{
			name:     "missing END",
			in:       "BEGIN:VCARD\r\nVERSION:2.1\r\nFN:Cut off\r\nTEL:123",
			want:     Card{Version: "2.1", FN: "Cut off", Tels: []string{"123"}},
			warnings: []string{"card 1: no END:VCARD"},
		},
		{
			name: "UTF-16 with BOM",
			in:   utf16LE("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Zoë\r\nEND:VCARD\r\n"),
			want: Card{Version: "3.0", FN: "Zoë"},
		},
		{
			name: "UTF-8 BOM and LF endings",
			in:   "\xEF\xBB\xBFBEGIN:VCARD\nVERSION:3.0\nFN:Zoë\nEND:VCARD\n",
			want: Card{Version: "3.0", FN: "Zoë"},
		},
		{
			name: "base64 NOTE becomes text",
			in:   card("NOTE;ENCODING=b:SGFsbG8gV2VsdA=="),
			want: Card{Version: "3.0", Note: "Hallo Welt"},
		},
		{
			name: "lower-case names and bare pref",
			in:   "begin:vcard\r\nversion:2.1\r\nfn:lower\r\ntel;home:1\r\ntel;cell;pref:2\r\nend:vcard\r\n",
			want: Card{Version: "2.1", FN: "lower", Tels: []string{"1", "2"}},
		},
		{
			name:     "many bad lines give a bounded list",
			in:       card(strings.Repeat("bad line\r\n", 150) + "FN:x"),
			want:     Card{Version: "3.0", FN: "x"},
			warnings: append(repeat("malformed property", maxWarnings), "100 more warnings not shown"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cards, warns, err := ParseVCF(strings.NewReader(tt.in), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if len(cards) != 1 {
				t.Fatalf("got %d cards", len(cards))
			}
			if (cards[0].Photo != nil) != tt.photo {
				t.Errorf("photo %v, want %v", cards[0].Photo != nil, tt.photo)
			}
			cards[0].Photo = nil
			if !reflect.DeepEqual(cards[0], tt.want) {
				t.Errorf("\n got %+v\nwant %+v", cards[0], tt.want)
			}
			checkWarnings(t, warns, tt.warnings)
		})
	}
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func utf16LE(s string) string {
	b := []byte{0xFF, 0xFE}
	for _, r := range s {
		if r > 0xFFFF {
			panic("test helper handles the BMP only")
		}
		b = append(b, byte(r), byte(r>>8))
	}
	return string(b)
}

// testNormalize stands in for mmsbridge's normaliser: NANP numbers only.
func testNormalize(s string) (string, error) {
	var digits []rune
	for _, r := range s {
		if r >= '0' && r <= '9' {
			digits = append(digits, r)
		}
	}
	switch {
	case len(digits) == 10:
		return "+1" + string(digits), nil
	case len(digits) == 11 && digits[0] == '1':
		return "+" + string(digits), nil
	}
	return "", fmt.Errorf("not a NANP number: %q", s)
}

func TestHasNumber(t *testing.T) {
	c := Card{Tels: []string{"(202) 555-0143", "tel:+1-415-555-0100;ext=12", "garbage", "+1 541 555 0199"}}
	for _, tt := range []struct {
		num  string
		want bool
	}{
		{"+12025550143", true},
		{"+14155550100", true},
		{"+15415550199", true},
		{"+12025550100", false},
		{"", false},
	} {
		if got := c.HasNumber(tt.num, testNormalize); got != tt.want {
			t.Errorf("HasNumber(%q) = %v, want %v", tt.num, got, tt.want)
		}
	}
}

func TestCardFields(t *testing.T) {
	cards, _, err := ParseVCF(bytes.NewReader(readTestdata(t, "vcf/21-latin1-qp-photo.vcf")), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	c := cards[0]
	all := c.Fields(nil)
	if all.FN == nil || *all.FN != "Jörg" || all.N == nil || all.N.Family != "Müller" || all.Nickname == nil ||
		all.Org == nil || all.Org.Name != "Große Firma" || all.Title == nil || len(all.Emails) != 1 ||
		all.URL == nil || all.BDay == nil || all.Note == nil || all.Photo == nil || all.Desc != nil {
		t.Errorf("Fields(nil) = %+v", all)
	}
	// Only what the preferences allow, and never an empty value.
	onlyNick := c.Fields(func(f string) bool { return f == FieldNickname || f == FieldURL })
	if !reflect.DeepEqual(onlyNick, Fields{Nickname: ptr("Jörgi"), URL: ptr("http://example.de/~joerg")}) {
		t.Errorf("Fields(nickname, url) = %+v", onlyNick)
	}
	if got := (Card{}).Fields(nil); !reflect.DeepEqual(got, Fields{}) {
		t.Errorf("empty card gives %+v", got)
	}
	// Changing the Fields must not change the card.
	all.Emails[0] = "changed"
	all.Photo.Type = "changed"
	if c.Emails[0] == "changed" || c.Photo.Type == "changed" {
		t.Error("Fields shares memory with the card")
	}
	// The sender's own card merges into the user's vcard-temp.
	doc, _ := ParseTemp(readTestdata(t, "temp/rich.xml"))
	doc.Apply(c.Fields(nil))
	out := string(doc.Marshal())
	for _, want := range []string{"<FN>Jörg</FN>", "<N><FAMILY>Müller</FAMILY><GIVEN>Jörg</GIVEN><PREFIX>Dr.</PREFIX></N>",
		"<TYPE>image/jpeg</TYPE>", "<BDAY>1980-02-29</BDAY>", "<X-UNICODE>Grüße 🌍 &#233;</X-UNICODE>"} {
		if !strings.Contains(out, want) {
			t.Errorf("merged document lacks %s", want)
		}
	}
}

func TestDisplayName(t *testing.T) {
	for _, tt := range []struct {
		c    Card
		want string
	}{
		{Card{FN: "F", N: Name{Given: "G"}}, "F"},
		{Card{N: Name{Given: "Anna", Family: "Smith", Prefix: "Dr."}}, "Dr. Anna Smith"},
		{Card{Nickname: "nick", Tels: []string{"1"}}, "nick"},
		{Card{Tels: []string{"+1 202"}}, "+1 202"},
		{Card{}, ""},
	} {
		if got := tt.c.DisplayName(); got != tt.want {
			t.Errorf("DisplayName(%+v) = %q, want %q", tt.c, got, tt.want)
		}
	}
}

// checkText is the promise ParseVCF makes about every text it returns.
func checkText(t *testing.T, field, s string, multiline bool) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Errorf("%s is not valid UTF-8: %q", field, s)
	}
	for _, r := range s {
		if unicode.IsControl(r) && !(multiline && r == '\n') {
			t.Errorf("%s holds control character %U: %q", field, r, s)
			return
		}
	}
}
