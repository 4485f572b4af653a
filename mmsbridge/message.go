package mmsbridge

import (
	"errors"
	"strings"
	"time"
)

// Transport names where a Message came from.
type Transport string

// The transports a Message can arrive over.
const (
	TransportMM7   Transport = "mm7"
	TransportEmail Transport = "email"
	// HTTP aggregators (mmsbridge/webhook); replies go back through the
	// same provider's REST API.
	TransportTwilio    Transport = "twilio"
	TransportTelnyx    Transport = "telnyx"
	TransportBandwidth Transport = "bandwidth"
)

// Message is one MMS as the profile rules see it, whatever carried it.
type Message struct {
	Transport Transport
	// Key identifies this delivery for idempotency: the same MMS delivered
	// twice (an MMSC retry, a re-sent e-mail) carries the same Key.
	Key string

	RelayServerID string // MM7 MMSRelayServerID
	MessageID     string // MMSC MessageID or e-mail Message-ID
	TransactionID string // MM7 TransactionID
	LinkedID      string // MM7 LinkedID, quoted when replying

	// Sender is the sender's number in E.164 when it is a number, else the
	// address as received (short code, e-mail address).
	Sender     string
	SenderRaw  string
	Recipients []Address
	Subject    string
	Received   time.Time
	Parts      []Part
}

// Address is one recipient of an MMS.
type Address struct {
	Kind        string // "To", "Cc" or "Bcc"
	Value       string
	DisplayOnly bool
}

// Part is one piece of MMS content after transfer decoding.
type Part struct {
	// ContentType is the lower-cased media type without parameters.
	ContentType string
	// Charset is the declared charset of a text part, before conversion;
	// Data of text parts is always UTF-8.
	Charset   string
	ContentID string
	Filename  string
	Data      []byte
	// Missing, when set, says why the transport could not bring this
	// part's bytes (Data is then empty): an aggregator's media over the
	// size limit or not fetched. The rules skip it as they skip a picture
	// they cannot read, apply the rest and tell the phone.
	Missing error
}

// Why a part is Missing.
var (
	ErrMediaTooLarge    = errors.New("the picture is over the size limit")
	ErrMediaUnavailable = errors.New("the picture could not be fetched from the provider")
)

// IsImage reports whether the part declares itself as a picture.
func (p Part) IsImage() bool { return strings.HasPrefix(p.ContentType, "image/") }

// IsText reports whether the part is plain text meant for the user.
func (p Part) IsText() bool { return p.ContentType == "text/plain" }

// IsVCard reports whether the part is a contact card.
func (p Part) IsVCard() bool {
	switch p.ContentType {
	case "text/vcard", "text/x-vcard", "text/directory":
		return true
	}
	return false
}

// Images returns the picture parts in message order.
func (m *Message) Images() []Part { return m.filter(Part.IsImage) }

// Texts returns the plain-text parts in message order.
func (m *Message) Texts() []Part { return m.filter(Part.IsText) }

// VCards returns the contact-card parts in message order.
func (m *Message) VCards() []Part { return m.filter(Part.IsVCard) }

func (m *Message) filter(keep func(Part) bool) []Part {
	var out []Part
	for _, p := range m.Parts {
		if keep(p) {
			out = append(out, p)
		}
	}
	return out
}

// Text joins the text parts into the user's message, trimmed.
func (m *Message) Text() string {
	var parts []string
	for _, p := range m.Texts() {
		if s := strings.TrimSpace(string(p.Data)); s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "\n")
}
