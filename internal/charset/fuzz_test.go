package charset

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"unicode/utf8"
)

// FuzzText feeds Text and NewReader arbitrary bytes under arbitrary
// labels, seeded with the legacy table: the result is always valid UTF-8,
// every error is ErrUnknown or ErrRefused, and a refused charset yields no
// text.
func FuzzText(f *testing.F) {
	for _, tc := range legacy {
		b, err := tc.enc.NewEncoder().Bytes([]byte(tc.text))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, tc.label)
	}
	f.Add([]byte("\xFF\xFEh\x00i\x00"), "")
	f.Add([]byte("héllo"), "UTF-16")
	f.Add([]byte("Hi +ADw-"), "utf-7")
	f.Add([]byte("\x1b$B"), "iso-2022-jp")
	f.Fuzz(func(t *testing.T, b []byte, label string) {
		out, err := Text(b, label)
		switch {
		case err == nil, errors.Is(err, ErrUnknown):
			if !utf8.Valid(out) {
				t.Fatalf("Text(%q, %q) = %q: not UTF-8", b, label, out)
			}
		case errors.Is(err, ErrRefused):
			if out != nil {
				t.Fatalf("refused charset %q gave text %q", label, out)
			}
		default:
			t.Fatalf("Text error of an unexpected kind: %v", err)
		}
		r, err := NewReader(label, bytes.NewReader(b))
		if err != nil {
			if !errors.Is(err, ErrUnknown) && !errors.Is(err, ErrRefused) {
				t.Fatalf("NewReader error of an unexpected kind: %v", err)
			}
			return
		}
		if _, err := io.ReadAll(r); err != nil {
			t.Logf("NewReader(%q): %v", label, err) // a decoder may refuse its input
		}
	})
}
