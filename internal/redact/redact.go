package redact

import (
	"fmt"
	"log/slog"
	"regexp"
	"strings"
)

// Options says what to hide. The zero value hides everything it can.
type Options struct {
	// ShowNumbers logs phone numbers in full (for debugging a pilot);
	// secrets and binary data are hidden whatever it says.
	ShowNumbers bool
}

// maxBytes is the longest []byte logged as is; anything longer is picture
// or message data, which never belongs in a log.
const maxBytes = 64

// ReplaceAttr returns a slog.HandlerOptions.ReplaceAttr that:
//   - replaces the value of any attribute whose key names a secret
//     (password, secret, token, authorization, cookie) with "[redacted]";
//   - replaces []byte values longer than 64 bytes with their length;
//   - masks phone numbers inside string and error values (E.164 numbers,
//     and the digits before @ of a carrier address), keeping the country
//     digit and the last two, unless o.ShowNumbers.
//
// The log message itself is not rewritten: messages are constant strings
// in this code base, and the variable parts are attributes.
func (o Options) ReplaceAttr() func(groups []string, a slog.Attr) slog.Attr {
	return func(_ []string, a slog.Attr) slog.Attr {
		if secretKey(a.Key) {
			return slog.String(a.Key, "[redacted]")
		}
		switch a.Value.Kind() {
		case slog.KindString:
			if !o.ShowNumbers {
				if s := a.Value.String(); mayHoldNumber(s) {
					return slog.String(a.Key, MaskNumbers(s))
				}
			}
		case slog.KindAny:
			switch v := a.Value.Any().(type) {
			case []byte:
				if len(v) > maxBytes {
					return slog.String(a.Key, fmt.Sprintf("[%d bytes]", len(v)))
				}
			case error:
				if !o.ShowNumbers {
					if s := v.Error(); mayHoldNumber(s) {
						return slog.String(a.Key, MaskNumbers(s))
					}
				}
			case fmt.Stringer:
				if !o.ShowNumbers {
					if s := v.String(); mayHoldNumber(s) {
						return slog.String(a.Key, MaskNumbers(s))
					}
				}
			}
		}
		return a
	}
}

var secretWords = []string{"password", "passwd", "secret", "token", "authorization", "cookie", "api_key", "apikey"}

func secretKey(k string) bool {
	k = strings.ToLower(k)
	for _, w := range secretWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// mayHoldNumber is a cheap test that spares most values the regexp.
func mayHoldNumber(s string) bool {
	digits := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			digits++
			if digits >= 7 {
				return true
			}
		} else {
			digits = 0
		}
	}
	return false
}

// numberRE finds an E.164 number (+ and 7 to 15 digits), or 7 to 15
// digits right before "@" (a carrier gateway address such as
// 2025550143@mms.att.net). Other digit runs (ids, timestamps) are left.
var numberRE = regexp.MustCompile(`\+[0-9]{7,15}|[0-9]{7,15}@`)

// MaskNumbers masks every phone number in free text s, as MaskNumber
// masks one: "+12025550143" becomes "+1••••••••43". The digits before @ of
// a carrier address are masked the same way; other addresses (JIDs, which
// logs need to name) are left as they are.
func MaskNumbers(s string) string {
	return numberRE.ReplaceAllStringFunc(s, func(m string) string {
		if digits, ok := strings.CutSuffix(m, "@"); ok {
			return maskDigits(digits, 1) + "@"
		}
		return maskDigits(m, 2)
	})
}

// MaskNumber masks one sender: an E.164 number keeps its first digit and
// its last two ("+1••••••••43"), an address (a carrier's or a personal
// mail) only its first letter and its domain, since the value is known to
// be a sender and never a JID. Anything else becomes "…".
func MaskNumber(n string) string {
	if at := strings.LastIndexByte(n, '@'); at > 0 {
		return n[:1] + "…" + n[at:]
	}
	if !strings.HasPrefix(n, "+") || len(n) < 6 {
		if n == "" {
			return ""
		}
		return "…"
	}
	return maskDigits(n, 2)
}

// maskDigits keeps the first keep bytes of m and its last two, and puts a
// bullet for each byte between; m is at least keep+2 bytes long.
func maskDigits(m string, keep int) string {
	return m[:keep] + strings.Repeat("•", len(m)-keep-2) + m[len(m)-2:]
}
