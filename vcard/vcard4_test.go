package vcard

import (
	"encoding/xml"
	"reflect"
	"strings"
	"testing"
)

// xcard is the part of a <vcard/> the tests compare.
type xcard struct {
	XMLName  xml.Name  `xml:"urn:ietf:params:xml:ns:vcard-4.0 vcard"`
	FN       string    `xml:"fn>text"`
	Surname  string    `xml:"n>surname"`
	Given    string    `xml:"n>given"`
	Nickname string    `xml:"nickname>text"`
	BDay     string    `xml:"bday>date"`
	Notes    []string  `xml:"note>text"`
	Title    string    `xml:"title>text"`
	Org      []string  `xml:"org>text"`
	Emails   []string  `xml:"email>text"`
	Tels     []string  `xml:"tel>uri"`
	TelTypes []string  `xml:"tel>parameters>type>text"`
	Street   string    `xml:"adr>street"`
	Impp     string    `xml:"impp>uri"`
	URL      string    `xml:"url>uri"`
	Gender   string    `xml:"gender>sex"`
	Photo    *struct{} `xml:"photo"`
	Order    []struct {
		XMLName xml.Name
	} `xml:",any"`
}

// vcard4FromTemp is what the publisher does with the vcard-temp it wrote.
func vcard4FromTemp(raw string) (VCard4, error) {
	doc, err := ParseTemp([]byte(raw))
	if err != nil {
		return VCard4{}, err
	}
	return doc.VCard4()
}

func parseXCard(t *testing.T, raw []byte) xcard {
	t.Helper()
	var c xcard
	if err := xml.Unmarshal(raw, &c); err != nil {
		t.Fatalf("%v in %s", err, raw)
	}
	return c
}

const fullTemp = `<vCard xmlns='vcard-temp'><FN>Alice Example</FN><N><FAMILY>Example</FAMILY><GIVEN>Alice</GIVEN></N>` +
	`<NICKNAME>Ally</NICKNAME><PHOTO><TYPE>image/png</TYPE><BINVAL>iVBORw0KGgo=</BINVAL></PHOTO><BDAY>1990-04-01</BDAY>` +
	`<TEL><HOME/><VOICE/><NUMBER>+1 202 555 0100</NUMBER></TEL><ADR><WORK/><STREET>1 Main St</STREET></ADR>` +
	`<EMAIL><INTERNET/><PREF/><USERID>alice@example.org</USERID></EMAIL><EMAIL><INTERNET/><USERID>a@example.net</USERID></EMAIL>` +
	`<JABBERID>alice@localhost</JABBERID><TITLE>Engineer</TITLE><ORG><ORGNAME>Example Corp</ORGNAME><ORGUNIT>R&amp;D</ORGUNIT></ORG>` +
	`<NOTE>likes tea</NOTE><URL>https://example.org/~alice</URL><X-CUSTOM>only in vcard-temp</X-CUSTOM>` +
	`<DESC>At the beach &lt;3</DESC></vCard>`

func TestTempVCard4(t *testing.T) {
	v, err := vcard4FromTemp(fullTemp)
	if err != nil {
		t.Fatal(err)
	}
	got := parseXCard(t, v.Marshal())
	want := xcard{FN: "Alice Example", Surname: "Example", Given: "Alice", Nickname: "Ally", BDay: "1990-04-01",
		// The status (DESC) is the first note: clients that show one show it.
		Notes: []string{"At the beach <3", "likes tea"}, Title: "Engineer", Org: []string{"Example Corp", "R&D"},
		Emails: []string{"alice@example.org", "a@example.net"}, Tels: []string{"tel:+1-202-555-0100"}, TelTypes: []string{"home", "voice"},
		Street: "1 Main St", Impp: "xmpp:alice@localhost", URL: "https://example.org/~alice"}
	got.XMLName, got.Order = xml.Name{}, nil
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v\n%s", got, want, v.Marshal())
	}
	if strings.Contains(string(v.Marshal()), "BINVAL") || strings.Contains(string(v.Marshal()), "iVBOR") {
		t.Errorf("photo inlined: %s", v.Marshal())
	}
}

func TestTempVCard4Edges(t *testing.T) {
	tests := []struct {
		name, temp string
		want       string // a property of the marshalled vcard, or "" for an empty one
	}{
		{"empty input", ``, ""},
		{"empty vCard", `<vCard xmlns='vcard-temp'/>`, ""},
		{"empty fields are skipped", `<vCard xmlns='vcard-temp'><FN> </FN><N/><EMAIL><INTERNET/></EMAIL><ORG><ORGNAME/></ORG></vCard>`, ""},
		{"N keeps all five parts", `<vCard xmlns='vcard-temp'><N><GIVEN>Bo</GIVEN></N></vCard>`,
			`<n><surname/><given>Bo</given><additional/><prefix/><suffix/></n>`},
		{"free-text birthday", `<vCard xmlns='vcard-temp'><BDAY>circa 1800</BDAY></vCard>`, `<bday><text>circa 1800</text></bday>`},
		{"prefixed root", `<v:vCard xmlns:v='vcard-temp'><v:DESC>hi</v:DESC></v:vCard>`, `<note><text>hi</text></note>`},
		{"foreign elements ignored", `<vCard xmlns='vcard-temp'><DESC xmlns='urn:other'>no</DESC></vCard>`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := vcard4FromTemp(tc.temp)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == "" {
				if !v.Empty() {
					t.Fatalf("want empty, got %s", v.Marshal())
				}
				return
			}
			if !hasChild(t, v.Marshal(), NSVCard4, tc.want) {
				t.Fatalf("%s lacks %s", v.Marshal(), tc.want)
			}
		})
	}
	for _, bad := range []string{`<vCard xmlns='urn:other'/>`, `<vCard xmlns='vcard-temp'>`, `<x/>`} {
		if _, err := vcard4FromTemp(bad); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// An item a vCard4 client published keeps the kinds vcard-temp does not
// have; the kinds it has are replaced.
func TestVCard4KeepsWhatOnlyVCard4Has(t *testing.T) {
	answer := `<pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='urn:xmpp:vcard4'><item id='current'>` +
		`<vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'><fn><text>Old Name</text></fn><note><text>old status</text></note>` +
		`<gender><sex>F</sex></gender><x-ext xmlns='urn:example:ext'>kept</x-ext>` +
		`<lang><parameters><pref><integer>1</integer></pref></parameters><language-tag>fr</language-tag></lang></vcard></item></items></pubsub>`
	old, ok, err := FindVCard4([]byte(answer))
	if err != nil || !ok {
		t.Fatalf("read: %v %v", ok, err)
	}
	v, err := vcard4FromTemp(`<vCard xmlns='vcard-temp'><FN>Alice</FN><DESC>new status</DESC></vCard>`)
	if err != nil {
		t.Fatal(err)
	}
	merged := v.Keep(old).Marshal()
	got := parseXCard(t, merged)
	if got.FN != "Alice" || !reflect.DeepEqual(got.Notes, []string{"new status"}) || got.Gender != "F" {
		t.Fatalf("merged %s", merged)
	}
	for _, want := range []string{`<lang><parameters><pref><integer>1</integer></pref></parameters><language-tag>fr</language-tag></lang>`, `<x-ext xmlns='urn:example:ext'>kept</x-ext>`} {
		if !hasChild(t, merged, NSVCard4, want) {
			t.Errorf("%s lacks %s", merged, want)
		}
	}

	if _, ok, err := FindVCard4([]byte(`<pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='urn:xmpp:vcard4'/></pubsub>`)); ok || err != nil {
		t.Fatalf("no item: ok %v err %v", ok, err)
	}
	// A child that used a prefix declared above it would change meaning
	// under our root: it is dropped, not republished wrong.
	prefixed := `<p:vcard xmlns:p='urn:ietf:params:xml:ns:vcard-4.0'><p:gender><p:sex>M</p:sex></p:gender></p:vcard>`
	if v, ok, err := FindVCard4([]byte(prefixed)); err != nil || !ok || !v.Empty() {
		t.Fatalf("prefixed: %s %v %v", v.Marshal(), ok, err)
	}
	if _, _, err := FindVCard4([]byte(`<vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'><fn>`)); err == nil {
		t.Fatal("truncated item: no error")
	}
}
