package mm7

import (
	"bytes"
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

// lookupEncoding finds the decoder for a charset label as MMSCs and phones
// write them (GB2312, gbk, Big5, EUC-KR, Shift_JIS, ISO-8859-x,
// windows-125x, utf-16…). It returns nil for UTF-8 and ASCII, and for
// labels it does not know.
func lookupEncoding(label string) encoding.Encoding {
	label = strings.ToLower(strings.Trim(strings.TrimSpace(label), `"'`))
	switch label {
	case "", "utf-8", "utf8", "us-ascii", "ascii", "ansi_x3.4-1968":
		return nil
	}
	// The WHATWG index knows the aliases browsers met in the wild (gb2312
	// is read as GBK, a superset, which is what senders really use).
	if e, err := htmlindex.Get(label); err == nil {
		return e
	}
	if e, err := ianaindex.IANA.Encoding(label); err == nil && e != nil {
		return e
	}
	return nil
}

// isUTF16Label reports whether label names a UTF-16 flavour.
func isUTF16Label(label string) bool {
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(label)), "utf-16")
}

// looksUTF16 reports whether b really is UTF-16: a byte-order mark, or NUL
// bytes, which UTF-8 text never holds. MMSCs declare utf-16 over UTF-8
// bytes, so the label alone is not trusted.
func looksUTF16(b []byte) bool {
	if len(b) >= 2 && (b[0] == 0xFE && b[1] == 0xFF || b[0] == 0xFF && b[1] == 0xFE) {
		return true
	}
	n := min(len(b), 64)
	return bytes.IndexByte(b[:n], 0) >= 0
}

// utf16For picks the byte order of UTF-16 text: the BOM when there is
// one, else where the NUL bytes of ASCII characters fall, else the label,
// else big-endian (RFC 2781 §4.3).
func utf16For(b []byte, label string) encoding.Encoding {
	switch {
	case len(b) >= 2 && (b[0] == 0xFE && b[1] == 0xFF || b[0] == 0xFF && b[1] == 0xFE):
		return unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM)
	case len(b) >= 2 && b[0] == 0 && b[1] != 0:
		return unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM)
	case len(b) >= 2 && b[0] != 0 && b[1] == 0:
		return unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM)
	case strings.HasSuffix(strings.ToLower(label), "le"):
		return unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM)
	}
	return unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM)
}

// toUTF8 converts text in the declared charset to UTF-8. It never fails:
// undecodable bytes become U+FFFD, because a slightly garbled status line
// is better than refusing the user's picture with it.
func toUTF8(b []byte, charset string) []byte {
	enc := lookupEncoding(charset)
	if isUTF16Label(charset) || charset == "" {
		if looksUTF16(b) {
			enc = utf16For(b, charset)
		} else {
			enc = nil
		}
	}
	if enc == nil {
		b = bytes.TrimPrefix(b, []byte("\xEF\xBB\xBF"))
		if utf8.Valid(b) {
			return b
		}
		// Text labelled UTF-8 or ASCII but holding 8-bit bytes is, in
		// practice, Latin-1/windows-1252 from an old handset or gateway.
		enc = charmap.Windows1252
	}
	out, err := enc.NewDecoder().Bytes(b)
	if err != nil {
		return bytes.ToValidUTF8(b, []byte("\uFFFD"))
	}
	return bytes.ToValidUTF8(bytes.TrimPrefix(out, []byte("\xEF\xBB\xBF")), []byte("\uFFFD"))
}

// xmlCharsetReader serves encoding/xml for an encoding declared in the XML
// declaration. The document was already turned into UTF-8 if it was really
// UTF-16 (see soapToUTF8), so a utf-16 label here is a lie over UTF-8 bytes.
func xmlCharsetReader(label string, input io.Reader) (io.Reader, error) {
	if isUTF16Label(label) {
		return input, nil
	}
	l := strings.ToLower(strings.TrimSpace(label))
	if l == "us-ascii" || l == "ascii" || l == "utf8" {
		return input, nil
	}
	enc := lookupEncoding(label)
	if enc == nil {
		return nil, fmt.Errorf("unknown XML encoding %q", label)
	}
	return enc.NewDecoder().Reader(input), nil
}

// soapToUTF8 prepares the SOAP part for encoding/xml, which reads UTF-8 or
// what the declaration names. Real UTF-16 is converted first (encoding/xml
// cannot read its declaration); a non-UTF-8 MIME charset is applied when
// the XML declares none.
func soapToUTF8(b []byte, mimeCharset string) []byte {
	if looksUTF16(b) {
		out, err := utf16For(b, mimeCharset).NewDecoder().Bytes(b)
		if err == nil {
			return out
		}
	}
	b = bytes.TrimPrefix(b, []byte("\xEF\xBB\xBF"))
	if enc := lookupEncoding(mimeCharset); enc != nil && !isUTF16Label(mimeCharset) && !declaresEncoding(b) {
		if out, err := enc.NewDecoder().Bytes(b); err == nil {
			return out
		}
	}
	return b
}

// declaresEncoding reports whether b starts with an XML declaration that
// names an encoding.
func declaresEncoding(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	if !bytes.HasPrefix(b, []byte("<?xml")) {
		return false
	}
	end := bytes.Index(b, []byte("?>"))
	if end < 0 {
		return false
	}
	return bytes.Contains(b[:end], []byte("encoding"))
}
