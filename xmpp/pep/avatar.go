package pep

import (
	"encoding/base64"
	"encoding/xml"
)

// Namespaces of XEP-0060 and XEP-0084.
const (
	NSPubSub         = "http://jabber.org/protocol/pubsub"
	NSAvatarData     = "urn:xmpp:avatar:data"
	NSAvatarMetadata = "urn:xmpp:avatar:metadata"
)

// AvatarInfo describes one published avatar image (an XEP-0084 <info/>).
type AvatarInfo struct {
	ID     string // SHA-1 hex of the bytes; also the item id
	Type   string // media type, image/png for the first info
	Bytes  int
	Width  int
	Height int
	// URL, when set, is where the image is fetched over HTTP instead of
	// from the data node (XEP-0084 §4.2): never for the first info.
	URL string
}

type avatarData struct {
	XMLName xml.Name `xml:"urn:xmpp:avatar:data data"`
	// Base64 goes in as inner XML: its alphabet holds nothing XML
	// escapes, and chardata would scan 100 KB rune by rune to learn that.
	Base64 []byte `xml:",innerxml"`
}

// AvatarData returns the <pubsub/> payload that publishes data to the
// avatar data node under item id.
func AvatarData(id string, data []byte) []byte {
	return publish(NSAvatarData, id, avatarData{Base64: base64.StdEncoding.AppendEncode(nil, data)})
}

type avatarMetadata struct {
	XMLName xml.Name   `xml:"urn:xmpp:avatar:metadata metadata"`
	Infos   []infoElem `xml:"info"`
}

type infoElem struct {
	Bytes  int    `xml:"bytes,attr"`
	ID     string `xml:"id,attr"`
	Type   string `xml:"type,attr"`
	Width  int    `xml:"width,attr"`
	Height int    `xml:"height,attr"`
	URL    string `xml:"url,attr,omitempty"`
}

// AvatarMetadata returns the <pubsub/> payload that announces infos, the
// first of which names the item (and must be the PNG in the data node:
// XEP-0084 requires one, and servers converting to vCard read only the
// first); the others may be other sizes and formats, fetched by URL.
func AvatarMetadata(infos ...AvatarInfo) []byte {
	id := ""
	if len(infos) > 0 {
		id = infos[0].ID
	}
	m := avatarMetadata{Infos: make([]infoElem, 0, len(infos))}
	for _, in := range infos {
		m.Infos = append(m.Infos, infoElem{Bytes: in.Bytes, ID: in.ID, Type: in.Type, Width: in.Width, Height: in.Height, URL: in.URL})
	}
	return publish(NSAvatarMetadata, id, m)
}

// NSNick is XEP-0172 User Nickname.
const NSNick = "http://jabber.org/protocol/nick"

type nickElem struct {
	XMLName xml.Name `xml:"http://jabber.org/protocol/nick nick"`
	Nick    string   `xml:",chardata"`
}

// Nick returns the <pubsub/> payload that publishes nick (XEP-0172).
func Nick(nick string) []byte {
	return publish(NSNick, "current", nickElem{Nick: nick})
}
