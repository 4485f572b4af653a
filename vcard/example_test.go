package vcard_test

import (
	"fmt"
	"strings"

	"mmsprofile/vcard"
)

func ExampleTemp_Apply() {
	// What the user's server holds, set from an XMPP client.
	doc, err := vcard.ParseTemp([]byte(`<vCard xmlns='vcard-temp'><TEL><CELL/><NUMBER>+12025550143</NUMBER></TEL><DESC>old</DESC></vCard>`))
	if err != nil {
		panic(err)
	}
	status := "Out hiking until Sunday"
	doc.Apply(vcard.Fields{Desc: &status})
	fmt.Println(string(doc.Marshal()))
	// Output: <vCard xmlns='vcard-temp'><TEL><CELL/><NUMBER>+12025550143</NUMBER></TEL><DESC>Out hiking until Sunday</DESC></vCard>
}

func ExampleParseVCF() {
	vcf := "BEGIN:VCARD\r\nVERSION:2.1\r\nFN;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:J=F6rg\r\nTEL;CELL;PREF:+4917012345\r\nEND:VCARD\r\n"
	cards, warnings, err := vcard.ParseVCF(strings.NewReader(vcf), vcard.Limits{})
	if err != nil {
		panic(err)
	}
	fmt.Println(cards[0].FN, cards[0].Tels, len(warnings))
	// Output: Jörg [+4917012345] 0
}
