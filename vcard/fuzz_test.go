package vcard

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func addSeeds(f *testing.F, pattern string, extra ...string) {
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds for %s", pattern)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range extra {
		f.Add([]byte(s))
	}
}

func FuzzParseVCF(f *testing.F) {
	addSeeds(f, "testdata/vcf/*.vcf",
		"BEGIN:VCARD\nN;ENCODING=QUOTED-PRINTABLE:=\nEND:VCARD",
		"BEGIN:VCARD\nPHOTO;BASE64:\nAAAA\n\nEND:VCARD",
		"BEGIN:VCARD\nAGENT:\nBEGIN:VCARD\nEND:VCARD\nEND:VCARD")
	f.Fuzz(func(t *testing.T, data []byte) {
		cards, _, err := ParseVCF(bytes.NewReader(data), Limits{})
		if err != nil {
			if !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrNoCard) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if len(cards) == 0 {
			t.Fatal("no error and no card")
		}
		doc, _ := ParseTemp(nil)
		for _, c := range cards {
			for name, s := range map[string]string{"FN": c.FN, "Nickname": c.Nickname, "Org": c.Org, "Title": c.Title,
				"BDay": c.BDay, "URL": c.URL, "Version": c.Version, "Family": c.N.Family, "Given": c.N.Given,
				"Middle": c.N.Middle, "Prefix": c.N.Prefix, "Suffix": c.N.Suffix} {
				checkText(t, name, s, false)
			}
			checkText(t, "Note", c.Note, true)
			for _, l := range [][]string{c.Emails, c.Tels, c.OrgUnits} {
				for _, s := range l {
					checkText(t, "list", s, false)
				}
			}
			doc.Apply(c.Fields(nil))
		}
		if _, err := ParseTemp(doc.Marshal()); err != nil {
			t.Fatalf("merged cards do not parse: %v\n%s", err, doc.Marshal())
		}
	})
}

func FuzzParseTemp(f *testing.F) {
	addSeeds(f, "testdata/temp/*.xml",
		"<vCard xmlns='vcard-temp'/>",
		"<v:vCard xmlns:v='vcard-temp'><v:PHOTO><v:BINVAL>AAAA</v:BINVAL></v:PHOTO></v:vCard>",
		"<vCard xmlns='vcard-temp'><!-- c --><![CDATA[x]]><?pi?><DESC>d</DESC></vCard>")
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := ParseTemp(data)
		if err != nil {
			return
		}
		m1 := doc.Marshal()
		again, err := ParseTemp(m1)
		if err != nil {
			t.Fatalf("Marshal output does not parse: %v\n%s", err, m1)
		}
		if m2 := again.Marshal(); !bytes.Equal(m1, m2) {
			t.Fatalf("Marshal not stable:\n%s\n%s", m1, m2)
		}
		if again.PhotoSHA1() != doc.PhotoSHA1() {
			t.Fatal("photo hash changed by a round trip")
		}
		doc.Apply(Fields{Desc: ptr("status <&>"), Nickname: ptr("n"), Emails: []string{"a@b"}, Photo: &Photo{Type: "image/png", Data: tinyPNG}})
		m3 := doc.Marshal()
		merged, err := ParseTemp(m3)
		if err != nil {
			t.Fatalf("Apply output does not parse: %v\n%s", err, m3)
		}
		if got := merged.PhotoSHA1(); got != sha1hex(tinyPNG) {
			t.Fatalf("photo hash after Apply = %q\n%s", got, m3)
		}
	})
}
