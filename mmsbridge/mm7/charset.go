package mm7

import (
	"bytes"
	"io"

	"mmsprofile/internal/charset"
)

// xmlCharsetReader serves encoding/xml for an encoding declared in the XML
// declaration. The document was already turned into UTF-8 if it was really
// UTF-16 (see soapToUTF8), so a utf-16 label here is a lie over UTF-8 bytes.
func xmlCharsetReader(label string, input io.Reader) (io.Reader, error) {
	if charset.IsUTF16Label(label) {
		return input, nil
	}
	return charset.NewReader(label, input)
}

// soapToUTF8 prepares the SOAP part for encoding/xml, which reads UTF-8 or
// what the declaration names. Real UTF-16 is converted first (encoding/xml
// cannot read its declaration); a non-UTF-8 MIME charset is applied when
// the XML declares none.
func soapToUTF8(b []byte, mimeCharset string) []byte {
	if charset.LooksUTF16(b) {
		out, err := charset.UTF16For(b, mimeCharset).NewDecoder().Bytes(b)
		if err == nil {
			return out
		}
	}
	b = bytes.TrimPrefix(b, []byte("\xEF\xBB\xBF"))
	if charset.IsUTF16Label(mimeCharset) || declaresEncoding(b) {
		return b
	}
	if enc, err := charset.Lookup(mimeCharset); err == nil && enc != nil {
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
