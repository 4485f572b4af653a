package profile

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"mmsprofile/mmsbridge"
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

// ownCard finds the sender's own contact card among the message's cards:
// the one with a TEL equal to the sender's number. Cards that cannot be
// read are reported in notes; the rest of the MMS is still applied.
func ownCard(msg *mmsbridge.Message, defaultCC string) (*vcard.Card, []string) {
	var notes []string
	normalize := func(s string) (string, error) { return mmsbridge.NormalizeNumber(s, defaultCC) }
	for _, p := range msg.VCards() {
		cards, _, err := vcard.ParseVCF(bytes.NewReader(p.Data), vcard.Limits{})
		if err != nil {
			reason := "the contact card could not be read"
			if errors.Is(err, vcard.ErrTooLarge) {
				reason = "the contact card was too large"
			}
			notes = append(notes, reason)
			continue
		}
		for i := range cards {
			if cards[i].HasNumber(msg.Sender, normalize) {
				return &cards[i], notes
			}
		}
		if len(cards) > 0 {
			notes = append(notes, fmt.Sprintf("%d contact card(s) that are not yours were not used", len(cards)))
		}
	}
	return nil, notes
}

// fieldsSet reports whether f would change anything.
func fieldsSet(f vcard.Fields) bool {
	str := func(p *string) bool { return p != nil && *p != "" }
	return f.Photo != nil || str(f.Desc) || str(f.Nickname) || str(f.FN) || str(f.Title) || str(f.URL) ||
		str(f.BDay) || str(f.Note) || len(f.Emails) > 0 || (f.N != nil && *f.N != vcard.Name{}) ||
		(f.Org != nil && (f.Org.Name != "" || len(f.Org.Units) > 0))
}
