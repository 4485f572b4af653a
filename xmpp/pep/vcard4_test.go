package pep

import (
	"encoding/xml"
	"strings"
	"testing"

	"mmsprofile/vcard"
)

func TestVCard4PublishPayload(t *testing.T) {
	doc, err := vcard.ParseTemp([]byte(`<vCard xmlns='vcard-temp'><DESC>hello</DESC></vCard>`))
	if err != nil {
		t.Fatal(err)
	}
	v, err := doc.VCard4()
	if err != nil {
		t.Fatal(err)
	}
	raw := VCard4Publish(v)
	var got struct {
		XMLName xml.Name `xml:"http://jabber.org/protocol/pubsub pubsub"`
		Publish struct {
			Node string `xml:"node,attr"`
			Item struct {
				ID    string `xml:"id,attr"`
				VCard struct {
					Notes []string `xml:"note>text"`
				} `xml:"urn:ietf:params:xml:ns:vcard-4.0 vcard"`
			} `xml:"item"`
		} `xml:"publish"`
		Options *struct{} `xml:"publish-options"`
	}
	if err := xml.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if got.Publish.Node != NodeVCard4 || got.Publish.Item.ID != "current" || len(got.Publish.Item.VCard.Notes) != 1 || got.Publish.Item.VCard.Notes[0] != "hello" {
		t.Fatalf("payload %s", raw)
	}
	if got.Options != nil {
		t.Fatalf("publish-options sent: %s", raw)
	}
}

// The answer to VCard4Request is read by package vcard, within a bound.
func TestVCard4FromItems(t *testing.T) {
	answer := `<pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='urn:xmpp:vcard4'><item id='current'>` +
		`<vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'><gender><sex>F</sex></gender></vcard></item></items></pubsub>`
	v, ok, err := VCard4FromItems([]byte(answer))
	if err != nil || !ok || !strings.Contains(string(v.Marshal()), "<gender><sex>F</sex></gender>") {
		t.Fatalf("read: %s %v %v", v.Marshal(), ok, err)
	}
	if _, ok, err := VCard4FromItems([]byte(`<pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='urn:xmpp:vcard4'/></pubsub>`)); ok || err != nil {
		t.Fatalf("no item: ok %v err %v", ok, err)
	}
	if _, _, err := VCard4FromItems([]byte(strings.Repeat(" ", maxVCard4Bytes+1))); err == nil {
		t.Fatal("oversized answer: no error")
	}
}

func TestMoodText(t *testing.T) {
	raw := MoodText("At the beach & sunny\x01")
	var got struct {
		Publish struct {
			Node string `xml:"node,attr"`
			Item struct {
				ID   string `xml:"id,attr"`
				Mood struct {
					Undefined *struct{} `xml:"undefined"`
					Text      string    `xml:"text"`
				} `xml:"http://jabber.org/protocol/mood mood"`
			} `xml:"item"`
		} `xml:"http://jabber.org/protocol/pubsub publish"`
	}
	if err := xml.Unmarshal(raw, &got); err != nil {
		t.Fatalf("%v in %s", err, raw)
	}
	if got.Publish.Node != NSMood || got.Publish.Item.Mood.Undefined == nil || got.Publish.Item.Mood.Text != "At the beach & sunny" {
		t.Fatalf("payload %s", raw)
	}
}
