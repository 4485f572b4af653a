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

// parseMediaType is mime.ParseMediaType made tolerant of what carriers
// send: unquoted values with "/" ("type=text/xml"), capitalised names,
// stray ";" and duplicate parameters. It never fails; the media type is
// lower-cased, and empty when there was none.
func parseMediaType(v string) (string, map[string]string) {
	if mt, params, err := mime.ParseMediaType(v); err == nil {
		return strings.ToLower(mt), params
	}
	fields := splitParams(v)
	params := make(map[string]string)
	if len(fields) == 0 {
		return "", params
	}
	mt := strings.ToLower(strings.TrimSpace(fields[0]))
	for _, f := range fields[1:] {
		k, val, ok := strings.Cut(f, "=")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		val = strings.TrimSpace(val)
		if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			val = strings.ReplaceAll(val[1:len(val)-1], `\"`, `"`)
		}
		if _, dup := params[k]; !dup && k != "" {
			params[k] = val
		}
	}
	return mt, params
}

// splitParams splits on ";" outside double quotes.
func splitParams(v string) []string {
	var out []string
	quoted := false
	start := 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
		case '"':
			quoted = !quoted
		case ';':
			if !quoted {
				out = append(out, v[start:i])
				start = i + 1
			}
		}
	}
	return append(out, v[start:])
}
