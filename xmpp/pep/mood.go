package pep

import (
	"encoding/xml"
	"mmsprofile/vcard"
)

// NSMood is XEP-0107 User Mood, both the PEP node and the payload's
// namespace.
const NSMood = "http://jabber.org/protocol/mood"

type moodElem struct {
	XMLName   xml.Name `xml:"http://jabber.org/protocol/mood mood"`
	Undefined struct{} `xml:"undefined"`
	Text      string   `xml:"text"`
}

// MoodText returns the <pubsub/> payload that publishes text as the mood
// <undefined/>: XEP-0107's way to carry a free-text line without claiming
// a feeling the person never chose. Like the other PEP payloads it takes
// the node's defaults (no publish-options).
func MoodText(text string) []byte {
	return publish(NSMood, "current", moodElem{Text: vcard.XMLChars(text)})
}
