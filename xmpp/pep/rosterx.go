package pep

import "encoding/xml"

// NSRosterX is XEP-0144 Roster Item Exchange.
const NSRosterX = "http://jabber.org/protocol/rosterx"

type rosterX struct {
	XMLName xml.Name     `xml:"http://jabber.org/protocol/rosterx x"`
	Items   []rosterItem `xml:"item"`
}

type rosterItem struct {
	Action string `xml:"action,attr"`
	JID    string `xml:"jid,attr"`
	Name   string `xml:"name,attr,omitempty"`
}

// Contact is an account offered to add: its JID and the name to show.
type Contact struct {
	JID  string
	Name string
}

// RosterExchange returns an <x/> suggesting contacts to add; the user's
// client asks them before adding anything.
func RosterExchange(contacts []Contact) []byte {
	x := rosterX{Items: make([]rosterItem, 0, len(contacts))}
	for _, c := range contacts {
		x.Items = append(x.Items, rosterItem{Action: "add", JID: c.JID, Name: c.Name})
	}
	return mustMarshal("roster exchange", x)
}
