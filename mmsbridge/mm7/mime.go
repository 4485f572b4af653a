package mm7

import (
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/textproto"
	"strings"

	"mmsprofile/internal/lenient"
)

// cleanID turns a Content-ID, a start parameter or a cid: reference into
// a comparable form: no "cid:" (written with any case or a space after
// it), no angle brackets, no surrounding space.
func cleanID(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 4 && strings.EqualFold(s[:4], "cid:") {
		s = strings.TrimSpace(s[4:])
	}
	s = strings.TrimPrefix(s, "<")
	s = strings.TrimSuffix(s, ">")
	return strings.TrimSpace(s)
}

// rawPart is one MIME entity with its body after transfer decoding.
type rawPart struct {
	header    textproto.MIMEHeader
	mediaType string
	params    map[string]string
	body      []byte
}

func (p *rawPart) contentID() string { return cleanID(p.header.Get("Content-Id")) }

func (p *rawPart) isMultipart() bool { return strings.HasPrefix(p.mediaType, "multipart/") }

func (p *rawPart) isXML() bool {
	return p.mediaType == "text/xml" || p.mediaType == "application/xml" || p.mediaType == "application/soap+xml"
}

// errCorrupt marks MIME that cannot be read as MIME (no boundary, no
// close delimiter, a broken header): status 2007.
var errCorrupt = errors.New("corrupt MIME")

// readMultipart reads the parts of one multipart body. It stops after
// maxParts parts (errLimit) and reports a body that ends before its close
// delimiter (errCorrupt). The parts read before an error are returned too,
// so that the caller can still echo the TransactionID.
func readMultipart(body io.Reader, boundary string, maxParts int) ([]*rawPart, error) {
	if boundary == "" {
		return nil, fmt.Errorf("multipart without boundary: %w", errCorrupt)
	}
	mr := multipart.NewReader(body, boundary)
	var parts []*rawPart
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			if len(parts) == 0 {
				return nil, fmt.Errorf("no part found for boundary: %w", errCorrupt)
			}
			return parts, nil
		}
		if err != nil {
			return parts, fmt.Errorf("read part %d: %w: %w", len(parts)+1, errCorrupt, err)
		}
		if len(parts) >= maxParts {
			return parts, fmt.Errorf("more than %d parts: %w", maxParts, ErrLimit)
		}
		raw, err := io.ReadAll(p)
		if err != nil {
			return parts, fmt.Errorf("read part %d body: %w: %w", len(parts)+1, errCorrupt, err)
		}
		rp := &rawPart{header: p.Header}
		rp.mediaType, rp.params = lenient.MediaType(p.Header.Get("Content-Type"))
		rp.body = lenient.Transfer(raw, p.Header.Get("Content-Transfer-Encoding"))
		parts = append(parts, rp)
	}
}
