package pep

import (
	"bytes"
	"fmt"
)

// NSMood is XEP-0107 User Mood, both the PEP node and the payload's
// namespace.
const NSMood = "http://jabber.org/protocol/mood"

// MoodText returns the <pubsub/> payload that publishes text as the mood
// <undefined/>: XEP-0107's way to carry a free-text line without claiming
// a feeling the person never chose. Like the other PEP payloads it takes
// the node's defaults (no publish-options).
func MoodText(text string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `<pubsub xmlns='%s'><publish node='%s'><item id='current'><mood xmlns='%s'><undefined/><text>`,
		NSPubSub, NSMood, NSMood)
	escapeText(&b, text)
	b.WriteString(`</text></mood></item></publish></pubsub>`)
	return b.Bytes()
}
