package mmsbridge

import (
	"errors"
	"testing"
)

func TestNormalizeNumber(t *testing.T) {
	tests := []struct {
		raw, cc, want string
	}{
		{"+12025550143", "", "+12025550143"},
		{"+1 (202) 555-0143", "", "+12025550143"},
		{"+12025550143/TYPE=PLMN", "", "+12025550143"},
		{"12025550143/type=plmn", "1", "+12025550143"},
		{"2025550143", "1", "+12025550143"},
		{"12025550143", "", "+12025550143"},
		{"0044 7700 900123", "", "+447700900123"},
		{"07700 900123", "44", "+447700900123"},
		{"tel:+33612345678", "", "+33612345678"},
	}
	for _, tc := range tests {
		got, err := NormalizeNumber(tc.raw, tc.cc)
		if err != nil || got != tc.want {
			t.Errorf("NormalizeNumber(%q, %q) = %q, %v; want %q", tc.raw, tc.cc, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "alice@example.org", "12345", "+0123456789", "+1234567890123456", "12+34567890"} {
		if got, err := NormalizeNumber(bad, "1"); !errors.Is(err, ErrNotANumber) {
			t.Errorf("NormalizeNumber(%q) = %q, %v; want ErrNotANumber", bad, got, err)
		}
	}
}
