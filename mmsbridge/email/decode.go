package email

import (
	"bytes"
	"io"
	"mime"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
	"golang.org/x/text/encoding/charmap"
)

// toUTF8 converts text in the declared charset to valid UTF-8. Undeclared
// or unknown charsets are taken as UTF-8 when the bytes are valid UTF-8,
// else as windows-1252 (what 8-bit "us-ascii" mail really is).
func toUTF8(b []byte, cs string) []byte {
	cs = strings.ToLower(strings.Trim(strings.TrimSpace(cs), `"'`))
	switch cs {
	case "", "us-ascii", "ascii", "utf-8", "utf8", "unknown-8bit", "x-unknown":
		return fallbackUTF8(b)
	}
	r, err := charset.Reader(cs, bytes.NewReader(b))
	if err != nil {
		return fallbackUTF8(b)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		return fallbackUTF8(b)
	}
	return bytes.ToValidUTF8(out, []byte("\uFFFD"))
}

func fallbackUTF8(b []byte) []byte {
	if utf8.Valid(b) {
		return b
	}
	out, err := charmap.Windows1252.NewDecoder().Bytes(b)
	if err != nil {
		return bytes.ToValidUTF8(b, []byte("\uFFFD"))
	}
	return out
}

// decodeHeader turns a raw header value into UTF-8: RFC 2047 encoded
// words, and raw 8-bit bytes (some gateways send them unencoded).
func decodeHeader(v string) string {
	d := mime.WordDecoder{CharsetReader: charset.Reader}
	s, err := d.DecodeHeader(v)
	if err != nil {
		s = v
	}
	return string(fallbackUTF8([]byte(s)))
}
