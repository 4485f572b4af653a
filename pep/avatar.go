package pep

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"fmt"
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

// AvatarData returns the <pubsub/> payload that publishes data to the
// avatar data node under item id.
func AvatarData(id string, data []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `<pubsub xmlns='%s'><publish node='%s'><item id='%s'><data xmlns='%s'>`,
		NSPubSub, NSAvatarData, attr(id), NSAvatarData)
	enc := base64.NewEncoder(base64.StdEncoding, &b)
	enc.Write(data)
	enc.Close()
	b.WriteString(`</data></item></publish></pubsub>`)
	return b.Bytes()
}

// AvatarMetadata returns the <pubsub/> payload that announces infos, the
// first of which names the item (and must be the PNG in the data node:
// XEP-0084 requires one, and servers converting to vCard read only the
// first); the others may be other sizes and formats, fetched by URL.
func AvatarMetadata(infos ...AvatarInfo) []byte {
	var b bytes.Buffer
	id := ""
	if len(infos) > 0 {
		id = infos[0].ID
	}
	fmt.Fprintf(&b, `<pubsub xmlns='%s'><publish node='%s'><item id='%s'><metadata xmlns='%s'>`,
		NSPubSub, NSAvatarMetadata, attr(id), NSAvatarMetadata)
	for _, in := range infos {
		fmt.Fprintf(&b, `<info bytes='%d' id='%s' type='%s' width='%d' height='%d'`,
			in.Bytes, attr(in.ID), attr(in.Type), in.Width, in.Height)
		if in.URL != "" {
			fmt.Fprintf(&b, ` url='%s'`, attr(in.URL))
		}
		b.WriteString(`/>`)
	}
	b.WriteString(`</metadata></item></publish></pubsub>`)
	return b.Bytes()
}

func attr(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// NSNick is XEP-0172 User Nickname.
const NSNick = "http://jabber.org/protocol/nick"

// Nick returns the <pubsub/> payload that publishes nick (XEP-0172).
func Nick(nick string) []byte {
	return []byte(fmt.Sprintf(`<pubsub xmlns='%s'><publish node='%s'><item id='current'><nick xmlns='%s'>%s</nick></item></publish></pubsub>`,
		NSPubSub, NSNick, NSNick, attr(nick)))
}
