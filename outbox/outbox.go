package outbox

import (
	"encoding/json"
	"fmt"

	"mmsprofile/storage"
	"mmsprofile/vcard"
)

// Change is a KindProfile payload: the status, nickname and vCard fields
// one MMS changes on the account. A nil field is left as it is there.
type Change struct {
	Status *string `json:"status,omitempty"`
	Nick   *string `json:"nick,omitempty"`
	// VCard holds personal fields from the sender's own card, already
	// filtered by the account's preferences.
	VCard *vcard.Fields `json:"vcard,omitempty"`
}

// Message is a KindMessage payload: a chat message from the component.
type Message struct {
	Body string `json:"body"`
	// Suggest offers contacts to add (XEP-0144 roster item exchange).
	Suggest []Contact `json:"suggest,omitempty"`
	// AddToRoster: the account chose to have Suggest added to its roster
	// directly (XEP-0356 roster permission). Where its server grants no
	// roster set, they are suggested with Body all the same.
	AddToRoster bool `json:"add_to_roster,omitempty"`
	// AddedBody replaces Body once the contacts were added.
	AddedBody string `json:"added_body,omitempty"`
}

// Contact is an account offered as a contact.
type Contact struct {
	JID  string `json:"jid"`
	Name string `json:"name,omitempty"`
}

// SuggestEntry builds a chat message to jid offering contacts.
func SuggestEntry(jid, body string, contacts []Contact) storage.Entry {
	return storage.Entry{JID: jid, Kind: storage.KindMessage, Payload: mustJSON(Message{Body: body, Suggest: contacts})}
}

// RosterEntry builds a chat message to jid for contacts to be added to its
// roster where the server allows it: added says so, suggested is the
// suggestion sent instead where it does not.
func RosterEntry(jid, added, suggested string, contacts []Contact) storage.Entry {
	return storage.Entry{JID: jid, Kind: storage.KindMessage, Payload: mustJSON(Message{
		Body: suggested, Suggest: contacts, AddToRoster: true, AddedBody: added})}
}

// Reply is a KindReply payload: a message back to a phone.
type Reply struct {
	Transport string `json:"transport"` // "mm7" or "email"
	To        string `json:"to"`        // E.164 number or e-mail address
	Subject   string `json:"subject,omitempty"`
	Text      string `json:"text"`
	LinkedID  string `json:"linked_id,omitempty"` // MM7: the DeliverReq's LinkedID/MessageID
	InReplyTo string `json:"in_reply_to,omitempty"`
}

// ChangeEntry builds the entry publishing p on jid's account. Storage
// keeps every such entry (a later status must not swallow an earlier
// nickname); the publisher lays an account's queued ones over each other
// field by field when it publishes them.
func ChangeEntry(jid string, p Change) storage.Entry {
	return storage.Entry{JID: jid, Kind: storage.KindProfile, Payload: mustJSON(p)}
}

// MessageEntry builds a chat message to jid.
func MessageEntry(jid, body string) storage.Entry {
	return storage.Entry{JID: jid, Kind: storage.KindMessage, Payload: mustJSON(Message{Body: body})}
}

// ReplyEntry builds a reply to a phone; jid is the linked account, if any.
func ReplyEntry(jid string, r Reply) storage.Entry {
	return storage.Entry{JID: jid, Kind: storage.KindReply, Payload: mustJSON(r)}
}

// Decode reads an item's payload into v.
func Decode(it storage.OutboxItem, v any) error {
	if err := json.Unmarshal(it.Payload, v); err != nil {
		return fmt.Errorf("outbox: item %d (%s): %w", it.ID, it.Kind, err)
	}
	return nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Only our own plain structs are marshalled here.
		panic(fmt.Sprintf("outbox: marshal %T: %v", v, err))
	}
	return b
}
