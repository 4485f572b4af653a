package vcard

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"testing"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ptr(s string) *string { return &s }

// tinyPNG is a 1×1 PNG, enough for PHOTO bytes.
var tinyPNG, _ = base64.StdEncoding.DecodeString("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")

func mustReplace(t *testing.T, s, old, new string) string {
	t.Helper()
	if strings.Count(s, old) != 1 {
		t.Fatalf("fixture should hold %q exactly once", old)
	}
	return strings.Replace(s, old, new, 1)
}

// TestApplyKeepsUntouchedBytes builds the expected document by editing the
// fixture's text by hand: every byte outside the replaced elements must come
// out exactly as it went in. The replaced elements are spelled as
// xml.Encoder writes them (<INTERNET></INTERNET>, a line break as is).
func TestApplyKeepsUntouchedBytes(t *testing.T) {
	raw := readTestdata(t, "temp/rich.xml")
	oldPhoto := "<PHOTO>\n    <TYPE>image/png</TYPE>\n    <BINVAL>iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==</BINVAL>\n  </PHOTO>"
	newPhoto := "<PHOTO><TYPE>image/png</TYPE><BINVAL>" + base64.StdEncoding.EncodeToString(tinyPNG) + "</BINVAL></PHOTO>"

	tests := []struct {
		name  string
		f     Fields
		edits [][2]string // old → new, in the fixture text
		tail  string      // appended before </vCard>
	}{
		{
			name: "nothing",
		},
		{
			name: "empty values change nothing",
			f:    Fields{Desc: ptr(""), Nickname: ptr(""), N: &Name{}, Org: &Org{}, Emails: []string{}, Photo: &Photo{}},
		},
		{
			name: "status, nick, photo",
			f:    Fields{Desc: ptr("on the <beach> & happy"), Nickname: ptr("Jörg"), Photo: &Photo{Type: "image/png", Data: tinyPNG}},
			edits: [][2]string{
				{"<NICKNAME>oldnick</NICKNAME>", "<NICKNAME>Jörg</NICKNAME>"},
				{oldPhoto, newPhoto},
				{"<DESC>old status</DESC>", "<DESC>on the &lt;beach&gt; &amp; happy</DESC>"},
				{"<NICKNAME>duplicate nick</NICKNAME>", ""},
			},
		},
		{
			name: "personal fields from a card",
			f: Fields{
				FN:     ptr("José Álvarez"),
				N:      &Name{Family: "Álvarez", Given: "José"},
				Org:    &Org{Name: "Acme", Units: []string{"R&D"}},
				Title:  ptr("Engineer"),
				Emails: []string{"jose@example.net", "j@example.org"},
				URL:    ptr("https://example.net/?a=1&b=2"),
				BDay:   ptr("1980-02-29"),
				Note:   ptr("line one\nline two"),
			},
			edits: [][2]string{
				{"<FN>Old Full Name</FN>", "<FN>José Álvarez</FN>"},
				{"<N><FAMILY>Old</FAMILY><GIVEN>Name</GIVEN></N>", "<N><FAMILY>Álvarez</FAMILY><GIVEN>José</GIVEN></N>"},
				{"<EMAIL><WORK/><INTERNET/><USERID>old@work.example</USERID></EMAIL>",
					"<EMAIL><INTERNET></INTERNET><PREF></PREF><USERID>jose@example.net</USERID></EMAIL><EMAIL><INTERNET></INTERNET><USERID>j@example.org</USERID></EMAIL>"},
				{"<NOTE><![CDATA[a note in CDATA]]></NOTE>", "<NOTE>line one\nline two</NOTE>"},
			},
			tail: "<BDAY>1980-02-29</BDAY><TITLE>Engineer</TITLE><ORG><ORGNAME>Acme</ORGNAME><ORGUNIT>R&amp;D</ORGUNIT></ORG><URL>https://example.net/?a=1&amp;b=2</URL>",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := ParseTemp(raw)
			if err != nil {
				t.Fatal(err)
			}
			doc.Apply(tt.f)
			want := strings.TrimSuffix(string(raw), "\n") // Marshal ends at </vCard>
			for _, e := range tt.edits {
				want = mustReplace(t, want, e[0], e[1])
			}
			want = strings.TrimSuffix(want, "</vCard>") + tt.tail + "</vCard>"
			got := string(doc.Marshal())
			if got != want {
				t.Errorf("Marshal after Apply:\n got: %s\nwant: %s", got, want)
			}
			// The result must parse again and be stable.
			again, err := ParseTemp([]byte(got))
			if err != nil {
				t.Fatalf("re-parse: %v", err)
			}
			again.Apply(tt.f)
			if got2 := string(again.Marshal()); got2 != got {
				t.Errorf("second Apply changed the document:\n got: %s\nwant: %s", got2, got)
			}
		})
	}
}

func TestApplyNeverDuplicates(t *testing.T) {
	doc, err := ParseTemp(readTestdata(t, "temp/rich.xml"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		doc.Apply(Fields{Desc: ptr("s"), Nickname: ptr("n"), FN: ptr("f"), N: &Name{Given: "g"}, Org: &Org{Name: "o"},
			Title: ptr("t"), Emails: []string{"a@b"}, URL: ptr("u"), BDay: ptr("b"), Note: ptr("x"), Photo: &Photo{Data: tinyPNG}})
	}
	out := string(doc.Marshal())
	for _, el := range []string{"<DESC>", "<NICKNAME>", "<FN>", "<N>", "<ORG>", "<TITLE>", "<EMAIL>", "<URL>", "<BDAY>", "<NOTE>", "<PHOTO>"} {
		if n := strings.Count(out, el); n != 1 {
			t.Errorf("%s appears %d times, want 1", el, n)
		}
	}
	if !strings.Contains(out, `<DESC xmlns="urn:not-vcard-temp">not ours: other namespace</DESC>`) {
		t.Error("DESC in another namespace was touched")
	}
	if !strings.Contains(out, "<TYPE>image/png</TYPE>") {
		t.Error("PHOTO TYPE not sniffed from the bytes")
	}
}

func TestParseTempEmpty(t *testing.T) {
	for _, in := range []string{
		"",
		" \n\t",
		"<vCard xmlns='vcard-temp'/>",
		"<vCard xmlns='vcard-temp' />",
		"<?xml version='1.0'?>\n<vCard xmlns='vcard-temp'></vCard>\n",
	} {
		doc, err := ParseTemp([]byte(in))
		if err != nil {
			t.Errorf("ParseTemp(%q): %v", in, err)
			continue
		}
		if got := string(doc.Marshal()); !sameXML(t, got, "<vCard xmlns='vcard-temp'></vCard>") {
			t.Errorf("ParseTemp(%q).Marshal() = %s", in, got)
		}
		if doc.PhotoSHA1() != "" {
			t.Errorf("ParseTemp(%q): empty document has a photo hash", in)
		}
		doc.Apply(Fields{Desc: ptr("hi")})
		if got := string(doc.Marshal()); !sameXML(t, got, "<vCard xmlns='vcard-temp'><DESC>hi</DESC></vCard>") {
			t.Errorf("ParseTemp(%q) after Apply = %s", in, got)
		}
	}
}

// A root with a prefix leaves unprefixed children outside vcard-temp: they
// are not ours, and what we add must declare the namespace itself.
func TestParseTempPrefixedRoot(t *testing.T) {
	in := `<v:vCard xmlns:v='vcard-temp'><v:FN>old</v:FN><FN>no namespace</FN></v:vCard>`
	doc, err := ParseTemp([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	doc.Apply(Fields{FN: ptr("new"), Desc: ptr("d")})
	want := `<v:vCard xmlns:v='vcard-temp'><FN xmlns="vcard-temp">new</FN><FN>no namespace</FN><DESC xmlns="vcard-temp">d</DESC></v:vCard>`
	if got := string(doc.Marshal()); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if _, err := ParseTemp(doc.Marshal()); err != nil {
		t.Error(err)
	}
}

// A prefixed root that came empty is written anew in the default
// namespace, with its attributes: nothing inside depended on its prefix.
func TestParseTempPrefixedEmptyRoot(t *testing.T) {
	doc, err := ParseTemp([]byte(`<v:vCard xmlns:v='vcard-temp' xml:lang='en' version='2.0'/>`))
	if err != nil {
		t.Fatal(err)
	}
	doc.Apply(Fields{Desc: ptr("d")})
	got := string(doc.Marshal())
	if want := `<vCard xmlns='vcard-temp' xml:lang='en' version='2.0'><DESC>d</DESC></vCard>`; !sameXML(t, got, want) {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if again, err := ParseTemp([]byte(got)); err != nil || string(again.Marshal()) != got {
		t.Errorf("round trip of %s: %v", got, err)
	}
}

// sameXML reports whether a and b are the same XML: the same elements in
// the same namespaces with the same attributes and text, whatever the
// quotes, prefixes, empty-element form or escaping.
func sameXML(t *testing.T, a, b string) bool {
	t.Helper()
	ta, tb := xmlTokens(t, a), xmlTokens(t, b)
	if len(ta) != len(tb) {
		return false
	}
	for i := range ta {
		if ta[i] != tb[i] {
			return false
		}
	}
	return true
}

// xmlTokens lists s's tokens in a canonical text: namespace declarations
// left out (each name carries its namespace), attributes sorted, adjacent
// text joined.
func xmlTokens(t *testing.T, s string) []string {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(s))
	var out []string
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			var attrs []string
			for _, a := range tok.Attr {
				if a.Name.Space != "xmlns" && !(a.Name.Space == "" && a.Name.Local == "xmlns") {
					attrs = append(attrs, fmt.Sprintf("{%s}%s=%q", a.Name.Space, a.Name.Local, a.Value))
				}
			}
			sort.Strings(attrs)
			out = append(out, fmt.Sprintf("<{%s}%s %v>", tok.Name.Space, tok.Name.Local, attrs))
		case xml.EndElement:
			out = append(out, fmt.Sprintf("</{%s}%s>", tok.Name.Space, tok.Name.Local))
		case xml.CharData:
			if n := len(out); n > 0 && strings.HasPrefix(out[n-1], "text:") {
				out[n-1] += string(tok)
			} else {
				out = append(out, "text:"+string(tok))
			}
		case xml.ProcInst:
			if tok.Target != "xml" {
				out = append(out, fmt.Sprintf("pi:%s %s", tok.Target, tok.Inst))
			}
		case xml.Comment:
			out = append(out, "comment:"+string(tok))
		}
	}
}

func TestParseTempErrors(t *testing.T) {
	deep := "<vCard xmlns='vcard-temp'>" + strings.Repeat("<a>", 16) + strings.Repeat("</a>", 16) + "</vCard>"
	many := "<vCard xmlns='vcard-temp'>" + strings.Repeat("<X/>", 5000) + "</vCard>"
	tests := []struct {
		name    string
		in      string
		tooBig  bool
		wantErr string
	}{
		{"wrong root", "<vcard xmlns='vcard-temp'/>", false, "root element"},
		{"wrong namespace", "<vCard xmlns='urn:ietf:params:xml:ns:vcard-4.0'/>", false, "root element"},
		{"no namespace", "<vCard/>", false, "root element"},
		{"not xml", "hello", false, "text outside"},
		{"unclosed", "<vCard xmlns='vcard-temp'><FN>x</FN>", false, "EOF"},
		{"mismatched", "<vCard xmlns='vcard-temp'><FN>x</N></vCard>", false, "FN"},
		{"two roots", "<vCard xmlns='vcard-temp'/><vCard xmlns='vcard-temp'/>", false, "after </vCard>"},
		{"text after", "<vCard xmlns='vcard-temp'/>junk", false, "after </vCard>"},
		{"doctype", "<!DOCTYPE vCard [<!ENTITY a 'aaaa'><!ENTITY b '&a;&a;&a;'>]><vCard xmlns='vcard-temp'><FN>&b;</FN></vCard>", false, "DOCTYPE"},
		{"unknown entity", "<vCard xmlns='vcard-temp'><FN>&nbsp;</FN></vCard>", false, "entity"},
		{"too deep", deep, true, "deeper than 16"},
		{"too many elements", many, true, "more than 4096 elements"},
		{"too large", "<vCard xmlns='vcard-temp'><X>" + strings.Repeat("a", 256<<10) + "</X></vCard>", true, "limit of 262144"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseTemp([]byte(tt.in))
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.HasPrefix(err.Error(), "vcard: parse vcard-temp: ") || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q, want it to mention %q", err, tt.wantErr)
			}
			if errors.Is(err, ErrTooLarge) != tt.tooBig {
				t.Errorf("errors.Is(%v, ErrTooLarge) = %v, want %v", err, !tt.tooBig, tt.tooBig)
			}
		})
	}
	// Depth 16 itself is fine, and the limits can be raised.
	if _, err := ParseTemp([]byte("<vCard xmlns='vcard-temp'>" + strings.Repeat("<a>", 15) + strings.Repeat("</a>", 15) + "</vCard>")); err != nil {
		t.Errorf("depth 16: %v", err)
	}
	if _, err := (TempLimits{Elements: 6000}).Parse([]byte(many)); err != nil {
		t.Errorf("raised element limit: %v", err)
	}
}

func TestPhotoSHA1(t *testing.T) {
	doc, err := ParseTemp(readTestdata(t, "temp/rich.xml"))
	if err != nil {
		t.Fatal(err)
	}
	old, _ := base64.StdEncoding.DecodeString("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
	if got, want := doc.PhotoSHA1(), sha1hex(old); got != want {
		t.Errorf("PhotoSHA1 of the fixture = %s, want %s", got, want)
	}
	doc.Apply(Fields{Photo: &Photo{Type: "image/png", Data: tinyPNG}})
	if got, want := doc.PhotoSHA1(), sha1hex(tinyPNG); got != want {
		t.Errorf("PhotoSHA1 after Apply = %s, want %s", got, want)
	}
	// Clients wrap BINVAL and may use a prefix declared on the root.
	wrapped := "<v:vCard xmlns:v='vcard-temp'><v:PHOTO><v:TYPE>image/png</v:TYPE><v:BINVAL>\n" +
		base64.StdEncoding.EncodeToString(tinyPNG)[:40] + "\n" + base64.StdEncoding.EncodeToString(tinyPNG)[40:] +
		"\n</v:BINVAL></v:PHOTO></v:vCard>"
	doc, err = ParseTemp([]byte(wrapped))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := doc.PhotoSHA1(), sha1hex(tinyPNG); got != want {
		t.Errorf("PhotoSHA1 of wrapped BINVAL = %s, want %s", got, want)
	}
	for _, in := range []string{
		"<vCard xmlns='vcard-temp'><PHOTO><EXTVAL>http://x</EXTVAL></PHOTO></vCard>",
		"<vCard xmlns='vcard-temp'><PHOTO><BINVAL>!!!</BINVAL></PHOTO></vCard>",
		"<vCard xmlns='vcard-temp'><PHOTO xmlns='urn:other'><BINVAL>AAAA</BINVAL></PHOTO></vCard>",
	} {
		doc, err := ParseTemp([]byte(in))
		if err != nil {
			t.Fatal(err)
		}
		if got := doc.PhotoSHA1(); got != "" {
			t.Errorf("PhotoSHA1(%s) = %q, want empty", in, got)
		}
	}
}

func TestApplyDropsCharactersXMLCannotCarry(t *testing.T) {
	doc, _ := ParseTemp(nil)
	doc.Apply(Fields{Desc: ptr("a\x00b\x1bc\uFFFEd")})
	if got, want := string(doc.Marshal()), "<vCard xmlns='vcard-temp'><DESC>abcd</DESC></vCard>"; !sameXML(t, got, want) {
		t.Errorf("got %s, want %s", got, want)
	}
}

func sha1hex(b []byte) string {
	s := sha1.Sum(b)
	return hex.EncodeToString(s[:])
}

// bigTemp is a 20 KB vcard-temp: the rich fixture with a user-set photo.
func bigTemp(b *testing.B) []byte {
	raw := readTestdata(b, "temp/rich.xml")
	photo := make([]byte, 14<<10)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range photo {
		photo[i] = byte(r.Uint32())
	}
	i := bytes.Index(raw, []byte("<JABBERID>"))
	doc := append(append(append([]byte{}, raw[:i]...), "<LOGO><TYPE>image/jpeg</TYPE><BINVAL>"+base64.StdEncoding.EncodeToString(photo)+"</BINVAL></LOGO>\n  "...), raw[i:]...)
	return doc
}

func BenchmarkApplyMarshal(b *testing.B) {
	raw := bigTemp(b)
	doc, err := ParseTemp(raw)
	if err != nil {
		b.Fatal(err)
	}
	photo := make([]byte, 8<<10)
	f := Fields{Desc: ptr("Out hiking until Sunday"), Nickname: ptr("alex"), Photo: &Photo{Type: "image/png", Data: photo}}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		doc.Apply(f)
		_ = doc.Marshal()
	}
}

func BenchmarkParseApplyMarshal(b *testing.B) {
	raw := bigTemp(b)
	f := Fields{Desc: ptr("Out hiking until Sunday"), Nickname: ptr("alex")}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		doc, err := ParseTemp(raw)
		if err != nil {
			b.Fatal(err)
		}
		doc.Apply(f)
		_ = doc.Marshal()
	}
}
