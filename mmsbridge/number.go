package mmsbridge

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNotANumber is returned for addresses that cannot be a phone number.
var ErrNotANumber = errors.New("not a phone number")

// NormalizeNumber brings a phone number as MMSCs and carriers write it to
// E.164 ("+12025550143"). It strips a "/TYPE=PLMN" suffix, "tel:" prefixes,
// spaces, dots, dashes and brackets. A number without a leading "+" or "00"
// is taken as national: a leading trunk "0" is dropped and defaultCC (digits
// only, e.g. "1" or "44") put in front. With an empty defaultCC such a number
// is taken as already international.
func NormalizeNumber(raw, defaultCC string) (string, error) {
	s := strings.TrimSpace(raw)
	if i := strings.Index(strings.ToUpper(s), "/TYPE="); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimPrefix(strings.TrimPrefix(s, "tel:"), "TEL:")
	var b strings.Builder
	plus := false
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			plus = true
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')' || r == '\u00a0':
		default:
			return "", fmt.Errorf("mmsbridge: number %q: %w", raw, ErrNotANumber)
		}
	}
	digits := b.String()
	switch {
	case plus:
	case strings.HasPrefix(digits, "00"):
		digits = digits[2:]
	case defaultCC != "":
		// Short codes (5-6 digits) are not numbers an account can own.
		if len(strings.TrimPrefix(digits, "0")) < 7 {
			return "", fmt.Errorf("mmsbridge: number %q: %w", raw, ErrNotANumber)
		}
		// A national number already carrying the country code (as US
		// numbers often do: 12025550143) is left as it is.
		if !(strings.HasPrefix(digits, defaultCC) && len(digits) > 10) {
			digits = defaultCC + strings.TrimPrefix(digits, "0")
		}
	}
	if len(digits) < 7 || len(digits) > 15 || digits[0] == '0' {
		return "", fmt.Errorf("mmsbridge: number %q: %w", raw, ErrNotANumber)
	}
	return "+" + digits, nil
}
