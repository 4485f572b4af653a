package email

import (
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-smtp"

	"mmsprofile/mmsbridge"
)

// sysexits(3) codes Ingest returns to an MTA pipe transport.
const (
	ExitOK       = 0
	ExitDataErr  = 65 // EX_DATAERR: the message itself is refused
	ExitNoUser   = 67 // EX_NOUSER: unknown, unlinked or unauthenticated sender, or recipient
	ExitTempFail = 75 // EX_TEMPFAIL: try again later
)

// ErrUnauthenticated: the sender could not be authenticated at our end.
var ErrUnauthenticated = errors.New("sender not authenticated")

// ErrRecipient: the message is not addressed to us.
var ErrRecipient = errors.New("no such recipient here")

// outcome is what one message's fate tells the peer, decided in one place
// for SMTP, LMTP and the pipe.
type outcome struct {
	smtp *smtp.SMTPError // nil when accepted
	exit int
}

func outcomeFor(err error) outcome {
	if err == nil {
		return outcome{exit: ExitOK}
	}
	reply := func(code int, enh smtp.EnhancedCode, exit int, msg string) outcome {
		return outcome{smtp: &smtp.SMTPError{Code: code, EnhancedCode: enh, Message: replyText(msg)}, exit: exit}
	}
	if r, ok := mmsbridge.AsRefusal(err); ok {
		switch r.Reason {
		case mmsbridge.ReasonContent:
			return reply(554, smtp.EnhancedCode{5, 6, 0}, ExitDataErr, r.Text)
		case mmsbridge.ReasonUnknownSender:
			return reply(550, smtp.EnhancedCode{5, 1, 0}, ExitNoUser, r.Text)
		case mmsbridge.ReasonBadSender:
			return reply(550, smtp.EnhancedCode{5, 1, 7}, ExitNoUser, r.Text)
		case mmsbridge.ReasonDenied:
			return reply(550, smtp.EnhancedCode{5, 7, 1}, ExitNoUser, r.Text)
		case mmsbridge.ReasonBusy:
			return reply(451, smtp.EnhancedCode{4, 3, 0}, ExitTempFail, orText(r.Text, "Busy, try again later"))
		}
	}
	switch {
	case errors.Is(err, ErrUnauthenticated):
		return reply(550, smtp.EnhancedCode{5, 7, 1}, ExitNoUser, fmt.Sprintf("Sender not authenticated: %v", err))
	case errors.Is(err, ErrRecipient):
		return reply(550, smtp.EnhancedCode{5, 1, 1}, ExitNoUser, "No such recipient here")
	case errors.Is(err, ErrTooLarge):
		return reply(552, smtp.EnhancedCode{5, 3, 4}, ExitDataErr, "Message too large")
	case errors.Is(err, ErrLimit):
		return reply(554, smtp.EnhancedCode{5, 6, 0}, ExitDataErr, "Message exceeds a limit: too deep, too many parts or too long a line")
	case errors.Is(err, ErrMalformed):
		return reply(554, smtp.EnhancedCode{5, 6, 0}, ExitDataErr, "Malformed MIME content")
	}
	return reply(451, smtp.EnhancedCode{4, 3, 0}, ExitTempFail, "Temporary failure, try again later")
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// replyText makes a human reason fit an SMTP reply line: printable ASCII
// (RFC 5321 4.2), one line, bounded. Accented letters lose their accent
// rather than the reply its sense.
func replyText(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		switch {
		case r == ' ' || r == '\t' || r == '\r' || r == '\n':
			space = true
			continue
		case r < 0x20 || r == 0x7f:
			continue
		case r > 0x7e:
			r = '?'
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
		if b.Len() >= 400 {
			break
		}
	}
	return b.String()
}
