package email

import (
	"errors"
	"fmt"
	"mime"

	"mmsprofile/internal/charset"
	"mmsprofile/mmsbridge"
)

// toUTF8 converts text in the declared charset to valid UTF-8 (see
// charset.Text: unknown charsets are read as UTF-8 when valid, else as
// windows-1252). A charset that is refused (UTF-7) refuses the message's
// content, with a reason the sender can act on.
func toUTF8(b []byte, cs string) ([]byte, error) {
	out, err := charset.Text(b, cs)
	if errors.Is(err, charset.ErrRefused) {
		return nil, fmt.Errorf("email: %w: %w", err, mmsbridge.Refuse(mmsbridge.ReasonContent, "text in charset %.20s is not accepted; send UTF-8", cs))
	}
	return out, nil
}

// decodeHeader turns a raw header value into UTF-8: RFC 2047 encoded
// words, and raw 8-bit bytes (some gateways send them unencoded). A word
// in a refused or unknown charset stays as written.
func decodeHeader(v string) string {
	d := mime.WordDecoder{CharsetReader: charset.NewReader}
	s, err := d.DecodeHeader(v)
	if err != nil {
		s = v
	}
	out, _ := charset.Text([]byte(s), "")
	return string(out)
}
