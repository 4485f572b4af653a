package pep

import (
	"bytes"
	"fmt"

	"mmsprofile/outbox"
)

// NSRosterX is XEP-0144 Roster Item Exchange.
const NSRosterX = "http://jabber.org/protocol/rosterx"

// RosterExchange returns an <x/> suggesting contacts to add; the user's
// client asks them before adding anything.
func RosterExchange(contacts []outbox.Contact) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `<x xmlns='%s'>`, NSRosterX)
	for _, c := range contacts {
		fmt.Fprintf(&b, `<item action='add' jid='%s'`, attr(c.JID))
		if c.Name != "" {
			fmt.Fprintf(&b, ` name='%s'`, attr(c.Name))
		}
		b.WriteString(`/>`)
	}
	b.WriteString(`</x>`)
	return b.Bytes()
}
