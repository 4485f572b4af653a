package email

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func nested(depth int) string {
	var b strings.Builder
	b.WriteString("From: 2025550143@mms.att.net\r\nMIME-Version: 1.0\r\n")
	for i := 0; i < depth; i++ {
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", i, i)
	}
	b.WriteString("Content-Type: text/plain\r\n\r\nhi\r\n")
	for i := depth - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%d--\r\n", i)
	}
	return b.String()
}

func manyParts(n int) string {
	var b strings.Builder
	b.WriteString("From: 2025550143@mms.att.net\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n")
	for i := 0; i < n; i++ {
		b.WriteString("--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n")
	}
	b.WriteString("--x--\r\n")
	return b.String()
}

func TestExtractLimits(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want error
	}{
		{"depth 8 ok", nested(8), nil},
		{"depth 9", nested(9), ErrLimit},
		{"depth 50", nested(50), ErrLimit},
		{"63 parts ok", manyParts(63), nil},
		{"100 parts", manyParts(100), ErrLimit},
		{"long line", "From: a@b.example\r\n\r\n" + strings.Repeat("x", 3000) + "\r\n", ErrLimit},
		{"too large", "From: a@b.example\r\n\r\n" + strings.Repeat("0123456789abcdef\r\n", 400000), ErrTooLarge},
		{"bad header", "this is not a header\r\n\r\nbody", ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Extract(strings.NewReader(tc.raw), Limits{})
			if !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
}

func TestExtractCharsets(t *testing.T) {
	tests := []struct {
		name, raw, subject, text string
	}{
		{"windows-1252 body, encoded-word subject",
			"From: 2025550143@mms.att.net\r\nSubject: =?ISO-8859-1?Q?Caf=E9_=E0_midi?=\r\nContent-Type: text/plain; charset=windows-1252\r\n\r\nIt\x92s \x93done\x94 \x80\r\n",
			"Café à midi", "It’s “done” €"},
		{"iso-8859-2 quoted-printable",
			"From: 48508675309@mmsemail.orange.pl\r\nSubject: =?utf-8?B?WmHFvMOzxYLEhw==?=\r\nContent-Type: text/plain; charset=ISO-8859-2\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nZa=BF=F3=B3=E6 g=EA=B6l=B1 ja=BC=F1\r\n",
			"Zażółć", "Zażółć gęślą jaźń"},
		{"raw 8-bit UTF-8 subject",
			"From: a@b.example\r\nSubject: Wiadomość\r\n\r\nok\r\n", "Wiadomość", "ok"},
		{"undeclared latin-1 bytes",
			"From: a@b.example\r\nSubject: x\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nna\xefve\r\n", "x", "naïve"},
		{"unknown charset",
			"From: a@b.example\r\nSubject: x\r\nContent-Type: text/plain; charset=x-klingon\r\n\r\nplain\r\n", "x", "plain"},
		{"html only, entities",
			"From: a@b.example\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><head><title>T</title><style>p{}</style></head><body><p>Fish &amp; chips&nbsp;&#x1F41F;</p><br>bye</body></html>\r\n", "", "Fish & chips 🐟\n\nbye"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Extract(strings.NewReader(tc.raw), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if m.Subject != tc.subject || m.Text() != tc.text {
				t.Errorf("subject %q text %q, want %q %q", m.Subject, m.Text(), tc.subject, tc.text)
			}
		})
	}
}

func TestExtractVCardAndOctetStream(t *testing.T) {
	raw := "From: 2025550143@mms.att.net\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n" +
		"--x\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"Jo.vcf\"\r\n\r\nBEGIN:VCARD\r\nVERSION:3.0\r\nFN:Jo\r\nEND:VCARD\r\n" +
		"--x\r\nContent-Type: application/octet-stream; name=IMG00367.jpg\r\nContent-Transfer-Encoding: base64\r\n\r\n/9j/4AAQSkZJRgABAQ==\r\n" +
		"--x\r\nContent-Type: application/smil\r\n\r\n<smil/>\r\n--x--\r\n"
	m, err := Extract(strings.NewReader(raw), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.VCards()) != 1 || !bytes.Contains(m.VCards()[0].Data, []byte("FN:Jo")) {
		t.Errorf("vcards %+v", m.VCards())
	}
	if len(m.Images()) != 1 || m.Images()[0].ContentType != "image/jpeg" {
		t.Errorf("images %+v", m.Images())
	}
	if len(m.Parts) != 2 {
		t.Errorf("%d parts, want 2 (SMIL dropped)", len(m.Parts))
	}
}

func TestCarrierOverride(t *testing.T) {
	cs := MergeCarriers(DefaultCarriers(), []Carrier{
		{Domain: "mms.att.net", CountryCode: "44"},
		{Domain: "mms.example.net", CountryCode: "49", SubjectIgnore: []string{"^MMS$"}},
	})
	tab, err := compileCarriers(cs)
	if err != nil {
		t.Fatal(err)
	}
	if c := tab.lookup("mms.att.net"); c.CountryCode != "44" || len(c.strip) == 0 {
		t.Errorf("override lost the built-in rules or kept the old code: %+v", c.Carrier)
	}
	if c := tab.lookup("MMS.Example.NET."); c == nil || c.CountryCode != "49" {
		t.Errorf("new carrier not found")
	}
	if err := ValidateCarriers(Config{Carriers: []Carrier{{Domain: "x", Strip: []StripRule{{Pattern: "("}}}}}); err == nil {
		t.Error("bad pattern accepted")
	}
}
