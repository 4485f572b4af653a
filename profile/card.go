package profile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"mmsprofile/mmsbridge"
	"mmsprofile/outbox"
	"mmsprofile/storage"
	"mmsprofile/vcard"
)

const maxNickChars = 64

// A line "NICK Alice" in the text sets the nickname; the rest of the text
// stays the status.
var nickRe = regexp.MustCompile(`(?im)^\s*nick(?:name)?\s*[:=]?\s+(.*)$|^\s*nick(?:name)?\s*$`)

// splitNick takes a NICK line out of text. note says why a NICK line was
// not used.
func splitNick(text string) (rest, nick, note string) {
	loc := nickRe.FindStringSubmatchIndex(text)
	if loc == nil {
		return text, "", ""
	}
	var value string
	if loc[2] >= 0 {
		value = text[loc[2]:loc[3]]
	}
	rest = strings.TrimSpace(text[:loc[0]] + text[loc[1]:])
	nick = cutRunes(cleanText(value), maxNickChars)
	if nick == "" {
		return rest, "", "the nickname was empty and was not changed"
	}
	return rest, nick, ""
}

// maxContactLookups bounds how many numbers of an address book are looked
// up for one MMS.
const maxContactLookups = 500

// readCards splits the message's contact cards into the sender's own (the
// one with a TEL equal to the sender's number) and the others, which are
// address-book entries. Cards that cannot be read are reported in notes;
// the rest of the MMS is still applied.
func readCards(msg *mmsbridge.Message, defaultCC string) (own *vcard.Card, others []vcard.Card, notes []string) {
	normalize := func(s string) (string, error) { return mmsbridge.NormalizeNumber(s, defaultCC) }
	for _, p := range msg.VCards() {
		cards, _, err := vcard.ParseVCF(bytes.NewReader(p.Data), vcard.Limits{})
		if err != nil {
			reason := "a contact card could not be read"
			if errors.Is(err, vcard.ErrTooLarge) {
				reason = "a contact card was too large (" + strings.TrimPrefix(err.Error(), "vcard: parse: ") + ")"
			}
			notes = append(notes, reason)
			continue
		}
		for i := range cards {
			if own == nil && cards[i].HasNumber(msg.Sender, normalize) {
				own = &cards[i]
				continue
			}
			others = append(others, cards[i])
		}
	}
	return own, others, notes
}

// suggestContacts looks the address-book cards up among linked accounts
// whose owners chose to be discoverable. Accounts that are not
// discoverable are never named: they count as not found.
func (s *Service) suggestContacts(ctx context.Context, owner string, cards []vcard.Card) (found []outbox.Contact, missing []string, err error) {
	seen := map[string]bool{owner: true}
	lookups := 0
	for _, c := range cards {
		name := c.DisplayName()
		var hit *outbox.Contact
		for _, tel := range c.Tels {
			if lookups >= maxContactLookups {
				break
			}
			n, nerr := mmsbridge.NormalizeNumber(tel, s.rules.DefaultCountryCode)
			if nerr != nil {
				continue
			}
			lookups++
			l, lerr := s.store.LinkByNumber(ctx, n)
			if errors.Is(lerr, storage.ErrNotFound) {
				continue
			}
			if lerr != nil {
				return nil, nil, fmt.Errorf("profile: look up contact: %w", lerr)
			}
			p, perr := s.store.Prefs(ctx, l.JID)
			if perr != nil {
				return nil, nil, fmt.Errorf("profile: contact preferences: %w", perr)
			}
			if p.Discoverable {
				hit = &outbox.Contact{JID: l.JID, Name: name}
				break
			}
		}
		switch {
		case hit != nil && !seen[hit.JID]:
			seen[hit.JID] = true
			found = append(found, *hit)
		case hit == nil && name != "":
			missing = append(missing, name)
		}
	}
	return found, missing, nil
}

func textContacts(found []outbox.Contact, missing []string) string {
	return contactsText("Found on XMPP from the contacts you sent: %s. Your app may offer to add them.", found, missing)
}

// textContactsAdded is textContacts once found are in the roster.
func textContactsAdded(found []outbox.Contact, missing []string) string {
	return contactsText("In your contacts now, from the contacts you sent: %s.", found, missing)
}

// contactsText names found in the sentence foundFormat (one %s), then the
// names not found.
func contactsText(foundFormat string, found []outbox.Contact, missing []string) string {
	var b strings.Builder
	if len(found) > 0 {
		names := make([]string, len(found))
		for i, c := range found {
			names[i] = c.JID
			if c.Name != "" {
				names[i] = c.Name + " (" + c.JID + ")"
			}
		}
		fmt.Fprintf(&b, foundFormat, strings.Join(names, ", "))
	}
	if len(missing) > 0 {
		if b.Len() > 0 {
			b.WriteString(" ")
		}
		const show = 20
		list := missing
		more := ""
		if len(list) > show {
			list, more = list[:show], fmt.Sprintf(" and %d more", len(missing)-show)
		}
		fmt.Fprintf(&b, "Not found: %s%s.", strings.Join(list, ", "), more)
	}
	return b.String()
}

// fieldsSet reports whether f would change anything.
func fieldsSet(f vcard.Fields) bool {
	str := func(p *string) bool { return p != nil && *p != "" }
	return f.Photo != nil || str(f.Desc) || str(f.Nickname) || str(f.FN) || str(f.Title) || str(f.URL) ||
		str(f.BDay) || str(f.Note) || len(f.Emails) > 0 || (f.N != nil && *f.N != vcard.Name{}) ||
		(f.Org != nil && (f.Org.Name != "" || len(f.Org.Units) > 0))
}
