package lenient

import (
	"encoding/base64"
	"strings"
)

// Transfer undoes a Content-Transfer-Encoding; unknown or identity
// encodings ("7bit", "8bit", "binary", "BASE64 " in any case) are handled,
// and what cannot be decoded is returned as it came.
func Transfer(raw []byte, cte string) []byte {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "base64":
		return Base64(raw)
	case "quoted-printable":
		return QuotedPrintable(raw)
	}
	return raw
}

// Base64 decodes base64, skipping anything outside the alphabet (line
// breaks, spaces, junk) and stopping at padding, so trailing garbage (a
// stray MIME delimiter) after "==" does not cost the picture. The URL-safe
// alphabet is accepted too. A final incomplete group yields the bytes it
// fully encodes.
func Base64(raw []byte) []byte {
	// Well-formed base64 (the standard decoder skips CR and LF) takes the
	// fast path; only what it refuses is decoded by hand.
	out := make([]byte, base64.StdEncoding.DecodedLen(len(raw)))
	if n, err := base64.StdEncoding.Decode(out, raw); err == nil {
		return out[:n]
	}
	out = out[:0]
	var acc uint32
	n := 0
	for _, c := range raw {
		var v byte
		switch {
		case c >= 'A' && c <= 'Z':
			v = c - 'A'
		case c >= 'a' && c <= 'z':
			v = c - 'a' + 26
		case c >= '0' && c <= '9':
			v = c - '0' + 52
		case c == '+' || c == '-':
			v = 62
		case c == '/' || c == '_':
			v = 63
		case c == '=':
			return flush(out, acc, n)
		default:
			continue
		}
		acc = acc<<6 | uint32(v)
		n++
		if n == 4 {
			out = append(out, byte(acc>>16), byte(acc>>8), byte(acc))
			acc, n = 0, 0
		}
	}
	return flush(out, acc, n)
}

func flush(out []byte, acc uint32, n int) []byte {
	switch n {
	case 2:
		out = append(out, byte(acc>>4))
	case 3:
		out = append(out, byte(acc>>10), byte(acc>>2))
	}
	return out
}

// QuotedPrintable decodes quoted-printable. Soft line breaks ("=" then
// optional blanks then CRLF or LF, or "=" at the very end) are removed; an
// "=" not followed by two hex digits is kept as it is (RFC 2045 6.7 note 1).
func QuotedPrintable(raw []byte) []byte {
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '=' {
			out = append(out, c)
			continue
		}
		j := i + 1
		for j < len(raw) && (raw[j] == ' ' || raw[j] == '\t') {
			j++
		}
		switch {
		case j < len(raw) && raw[j] == '\n':
			i = j
			continue
		case j+1 < len(raw) && raw[j] == '\r' && raw[j+1] == '\n':
			i = j + 1
			continue
		case j == len(raw):
			i = j
			continue
		}
		if i+2 < len(raw) && isHex(raw[i+1]) && isHex(raw[i+2]) {
			out = append(out, unhex(raw[i+1])<<4|unhex(raw[i+2]))
			i += 2
			continue
		}
		out = append(out, c)
	}
	return out
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
