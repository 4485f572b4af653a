package component

import (
	"encoding/xml"
	"reflect"
	"strings"
	"testing"
)

// TestRawRoundTrip decodes what Raw writes and expects the same element:
// names in the same namespaces (a child undeclaring its parent's
// included), attributes with their namespaces, and text.
func TestRawRoundTrip(t *testing.T) {
	for _, in := range []string{
		`<query xmlns='jabber:iq:version'/>`,
		`<query xmlns='jabber:iq:version'><name>mms &amp; &lt;co&gt;</name><version>1 'a' "b"</version></query>`,
		`<vCard xmlns='vcard-temp'><FN>x</FN><o xmlns=''><p/></o><q xmlns='urn:q'><r/></q></vCard>`,
		`<v:vCard xmlns:v='vcard-temp' xmlns:p='urn:p' p:a='1' xml:lang='en'><v:FN p:b='2'>y</v:FN></v:vCard>`,
		"<pubsub xmlns='http://jabber.org/protocol/pubsub'>\n  <items node='n'>\n    <item id='1'>line\none</item>\n  </items>\n</pubsub>",
	} {
		var el element
		if err := xml.Unmarshal([]byte(in), &el); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		raw := el.Raw()
		var again element
		if err := xml.Unmarshal(raw, &again); err != nil {
			t.Fatalf("Raw of %s = %s: %v", in, raw, err)
		}
		if a, b := shape(&el), shape(&again); !reflect.DeepEqual(a, b) {
			t.Errorf("Raw of %s = %s\n got  %v\n want %v", in, raw, b, a)
		}
	}
}

// shape is an element without its namespace declarations, which Raw may
// place differently, and with the whitespace Raw drops between children.
func shape(e *element) []any {
	var attrs []xml.Attr
	for _, a := range e.Attrs {
		if a.Name.Space != "xmlns" && !(a.Name.Space == "" && a.Name.Local == "xmlns") {
			attrs = append(attrs, a)
		}
	}
	text := e.Text
	if len(e.Children) > 0 && strings.TrimSpace(text) == "" {
		text = ""
	}
	out := []any{e.XMLName, attrs, text}
	for i := range e.Children {
		out = append(out, shape(&e.Children[i]))
	}
	return out
}
