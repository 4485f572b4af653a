package profile

import (
	"fmt"
	"strings"

	"mmsprofile/storage"
)

// FormatNumber writes an E.164 number for people: "+1 202-555-0143" for
// NANP numbers, "+44 7700900123" otherwise; an e-mail address as it is.
func FormatNumber(e164 string) string {
	if !strings.HasPrefix(e164, "+") {
		return e164
	}
	if len(e164) == 12 && strings.HasPrefix(e164, "+1") {
		return "+1 " + e164[2:5] + "-" + e164[5:8] + "-" + e164[8:]
	}
	if len(e164) > 4 {
		return e164[:3] + " " + e164[3:]
	}
	return e164
}

// isAddress accepts a plain addr-spec: one "@", a local part, a dotted
// domain, no spaces or brackets.
func isAddress(s string) bool {
	at := strings.LastIndexByte(s, '@')
	if at < 1 || at == len(s)-1 || strings.ContainsAny(s, " <>\t\r\n\"") || strings.Count(s, "@") != 1 {
		return false
	}
	return strings.Contains(s[at+1:], ".")
}

func (s *Service) textHowToLink() string {
	return "This phone is not linked to an XMPP account. " + s.textAskFirst()
}

func (s *Service) textAskFirst() string {
	return fmt.Sprintf("From your XMPP app, open the commands of %s and choose \"Link a phone number\" (or chat \"link\" and your number to it); then send the code you get from this phone.", s.rules.Component)
}

func textPendingNeedsCode(jid string) string {
	return fmt.Sprintf("To finish linking this phone to %s, send LINK followed by the code shown in your XMPP app.", jid)
}

func textHelpLinked(jid string) string {
	return fmt.Sprintf("This phone is linked to %s. Send a photo to set your picture, a line of text to set your status; STOP to unlink.", jid)
}

func (s *Service) textInstructions(number, code string) string {
	if isAddress(number) {
		return fmt.Sprintf("From %s, send a mail to %s saying:\n\nLINK %s\n\nThe code is valid for %s.",
			number, s.rules.ServiceEmail, code, s.rules.CodeTTL.Round(1e9))
	}
	to := "this service"
	if s.rules.ServiceNumber != "" {
		to = s.rules.ServiceNumber
	}
	t := fmt.Sprintf("From the phone %s, send an MMS or text to %s saying:\n\nLINK %s\n\nThe code is valid for %s.",
		FormatNumber(number), to, code, s.rules.CodeTTL.Round(1e9))
	if s.rules.ServiceEmail != "" {
		t += fmt.Sprintf(" You can also mail it from the phone to %s.", s.rules.ServiceEmail)
	}
	return t
}

func textUpdated(u storage.Update, details bool, number string, notes []string) string {
	var what []string
	if u.Avatar != nil {
		what = append(what, "avatar")
	}
	if u.Status != "" {
		what = append(what, fmt.Sprintf("status (%q)", u.Status))
	}
	if u.Nick != "" {
		what = append(what, fmt.Sprintf("nickname (%q)", u.Nick))
	}
	if details {
		what = append(what, "profile details")
	}
	t := fmt.Sprintf("%s updated from %s.", capitalise(strings.Join(what, ", ")), FormatNumber(number))
	for _, n := range notes {
		t += " " + capitalise(n) + "."
	}
	return t
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
