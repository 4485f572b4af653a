package xmppclient

import (
	"context"
	"encoding/xml"
	"fmt"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"
)

// VCard4 is the part of a XEP-0292 <vcard/> (RFC 6351 xCard) the tests
// read. Repeated properties keep their order.
type VCard4 struct {
	FN       string   `xml:"fn>text"`
	Surname  string   `xml:"n>surname"`
	Given    string   `xml:"n>given"`
	Nickname string   `xml:"nickname>text"`
	Notes    []string `xml:"note>text"`
	Title    string   `xml:"title>text"`
	Org      []string `xml:"org>text"`
	Emails   []string `xml:"email>text"`
	Tels     []string `xml:"tel>uri"`
	URL      string   `xml:"url>uri"`
	BDay     string   `xml:"bday>date"`
	Impp     []string `xml:"impp>uri"`
}

// VCard4Event is one XEP-0292 notification (live, or the last item the
// server replays at login).
type VCard4Event struct {
	From   jid.JID
	ItemID string
	VCard  VCard4
}

// MoodEvent is one XEP-0107 notification.
type MoodEvent struct {
	From   jid.JID
	ItemID string
	Mood   string // the mood element's name ("undefined", "happy", …); "" when cleared
	Text   string
}

// moodXML reads <mood/>: the mood is whichever child is not <text/>.
type moodXML struct {
	Text string `xml:"http://jabber.org/protocol/mood text"`
	Any  []struct {
		XMLName xml.Name
	} `xml:",any"`
}

func (m *moodXML) value() string {
	for _, a := range m.Any {
		if a.XMLName.Space == NSMood && a.XMLName.Local != "text" {
			return a.XMLName.Local
		}
	}
	return ""
}

// VCard4Events delivers XEP-0292 vCard4 notifications, like AvatarEvents.
func (c *Client) VCard4Events() <-chan VCard4Event { return c.vcard4s }

// MoodEvents delivers XEP-0107 mood notifications, like AvatarEvents.
func (c *Client) MoodEvents() <-chan MoodEvent { return c.moods }

// FetchVCard4 asks owner's PEP service (at owner's bare JID) for the
// current XEP-0292 vCard4 item, the way a client does when it opens a
// contact's profile.
func (c *Client) FetchVCard4(ctx context.Context, owner jid.JID) (VCard4, error) {
	req := xmlstream.Wrap(
		xmlstream.Wrap(nil, xml.StartElement{
			Name: xml.Name{Local: "items"},
			Attr: []xml.Attr{{Name: xml.Name{Local: "node"}, Value: NodeVCard4}, {Name: xml.Name{Local: "max_items"}, Value: "1"}},
		}),
		xml.StartElement{Name: xml.Name{Space: NSPubSub, Local: "pubsub"}},
	)
	var resp struct {
		Items []struct {
			VCard *VCard4 `xml:"urn:ietf:params:xml:ns:vcard-4.0 vcard"`
		} `xml:"items>item"`
	}
	if err := c.s.UnmarshalIQElement(ctx, req, stanza.IQ{Type: stanza.GetIQ, To: owner.Bare()}, &resp); err != nil {
		return VCard4{}, fmt.Errorf("xmppclient: fetch vcard4 of %s: %w", owner.Bare(), err)
	}
	for _, it := range resp.Items {
		if it.VCard != nil {
			return *it.VCard, nil
		}
	}
	return VCard4{}, fmt.Errorf("xmppclient: fetch vcard4 of %s: no item in answer", owner.Bare())
}
