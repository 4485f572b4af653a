package charset

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/unicode"
)

var (
	// ErrUnknown is a charset label no index knows.
	ErrUnknown = errors.New("unknown charset")
	// ErrRefused is a charset that is known but deliberately not decoded:
	// UTF-7 (RFC 2152), whose "+…-" runs hide markup from every filter
	// that reads the bytes as ASCII, and the charsets x/text can only
	// "decode" into one U+FFFD (ISO-2022-KR, HZ-GB-2312, ISO-2022-CN).
	ErrRefused = errors.New("charset not accepted")
)

// normalize is a label as senders write it, without quotes or spaces, in
// lower case.
func normalize(label string) string {
	return strings.ToLower(strings.Trim(strings.TrimSpace(label), `"' `))
}

// isUTF8 reports whether the label names UTF-8 or its subset ASCII, or
// names nothing, or says the sender did not know (unknown-8bit).
func isUTF8(l string) bool {
	switch l {
	case "", "utf-8", "utf8", "us-ascii", "ascii", "ansi_x3.4-1968", "iso646-us", "unknown-8bit", "x-unknown":
		return true
	}
	return false
}

// isUTF7 reports whether the label names UTF-7 or one of its dialects.
func isUTF7(l string) bool {
	switch l {
	case "utf-7", "utf7", "unicode-1-1-utf-7", "csunicode11utf7", "x-imap4-modified-utf7", "utf-7-imap":
		return true
	}
	return false
}

// IsUTF16Label reports whether label names a UTF-16 flavour.
func IsUTF16Label(label string) bool {
	return strings.HasPrefix(normalize(label), "utf-16")
}

// Lookup finds the decoder for a charset label: first the WHATWG index,
// which knows the aliases met in the wild (gb2312 is read as GBK, a
// superset, which is what senders really use; ks_c_5601-1987 as EUC-KR),
// then the IANA registry (KOI8-U, the rarer ISO-8859 and IBM pages). It
// returns nil and no error for UTF-8 and ASCII, ErrRefused for UTF-7, and
// ErrUnknown for a label neither index knows.
func Lookup(label string) (encoding.Encoding, error) {
	l := normalize(label)
	switch {
	case isUTF8(l):
		return nil, nil
	case isUTF7(l):
		return nil, fmt.Errorf("charset %.40q: UTF-7 is not decoded (it hides markup from filters): %w", label, ErrRefused)
	}
	e, err := htmlindex.Get(l)
	if err != nil || e == nil {
		e, err = ianaindex.IANA.Encoding(l)
	}
	if err != nil || e == nil {
		return nil, fmt.Errorf("charset %.40q: %w", label, ErrUnknown)
	}
	if e == encoding.Replacement {
		return nil, fmt.Errorf("charset %.40q: no decoder for it: %w", label, ErrRefused)
	}
	return e, nil
}

// NewReader reads input in the named charset as UTF-8. Its signature is
// the one encoding/xml's Decoder.CharsetReader, mime.WordDecoder and
// go-message take.
func NewReader(label string, input io.Reader) (io.Reader, error) {
	e, err := Lookup(label)
	if err != nil {
		return nil, err
	}
	if e == nil {
		return input, nil
	}
	return e.NewDecoder().Reader(input), nil
}

const bom = "\xEF\xBB\xBF"

// LooksUTF16 reports whether b really is UTF-16: a byte-order mark, or NUL
// bytes, which UTF-8 text never holds. MMSCs declare utf-16 over UTF-8
// bytes, so the label alone is not trusted.
func LooksUTF16(b []byte) bool {
	if hasUTF16BOM(b) {
		return true
	}
	n := min(len(b), 64)
	return bytes.IndexByte(b[:n], 0) >= 0
}

func hasUTF16BOM(b []byte) bool {
	return len(b) >= 2 && (b[0] == 0xFE && b[1] == 0xFF || b[0] == 0xFF && b[1] == 0xFE)
}

// UTF16For picks the byte order of UTF-16 text: the BOM when there is
// one, else where the NUL bytes of ASCII characters fall, else the label,
// else big-endian (RFC 2781 §4.3).
func UTF16For(b []byte, label string) encoding.Encoding {
	switch {
	case hasUTF16BOM(b):
		return unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM)
	case len(b) >= 2 && b[0] == 0 && b[1] != 0:
		return unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM)
	case len(b) >= 2 && b[0] != 0 && b[1] == 0:
		return unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM)
	case strings.HasSuffix(normalize(label), "le"):
		return unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM)
	}
	return unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM)
}

// Text converts text declared in label to valid UTF-8, as leniently as
// phones need: a utf-16 label (or none) over bytes that are not UTF-16 is
// read as UTF-8; bytes that are not valid UTF-8 under a UTF-8 or ASCII
// label are Latin-1/windows-1252 from an old handset or gateway; what a
// decoder cannot map becomes U+FFFD, because a slightly garbled status line
// is better than refusing the user's picture with it.
//
// An unknown label gives the text read as above and an error wrapping
// ErrUnknown, for the caller to log. A refused charset (ErrRefused) gives
// no text: reading UTF-7 as ASCII would pass on what it hides.
func Text(b []byte, label string) ([]byte, error) {
	enc, err := Lookup(label)
	if errors.Is(err, ErrRefused) {
		return nil, err
	}
	switch {
	case IsUTF16Label(label):
		if LooksUTF16(b) {
			enc = UTF16For(b, label)
		} else {
			enc = nil
		}
	case normalize(label) == "" && hasUTF16BOM(b):
		// Without a label only a BOM says UTF-16: a NUL byte alone is
		// more often junk in a short value than UTF-16 text.
		enc = UTF16For(b, label)
	}
	if enc == nil {
		b = bytes.TrimPrefix(b, []byte(bom))
		if utf8.Valid(b) {
			return b, err
		}
		enc = charmap.Windows1252
	}
	out, derr := enc.NewDecoder().Bytes(b)
	if derr != nil {
		return bytes.ToValidUTF8(b, []byte("\uFFFD")), err
	}
	return bytes.ToValidUTF8(bytes.TrimPrefix(out, []byte(bom)), []byte("\uFFFD")), err
}
