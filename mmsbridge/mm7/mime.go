package mm7

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/textproto"
	"strings"

	"mmsprofile/internal/lenient"
)

// parseMediaType parses a Content-Type leniently. mime.ParseMediaType is
// tried first (it knows RFC 2231 continuations); where it refuses what real
// MMSCs send (an unquoted type=text/xml, a dangling ";", a stray space),
// a forgiving split on ";" and "=" is used instead. Media type and
// parameter names come back lower-case.
func parseMediaType(v string) (string, map[string]string) {
	mt, params, err := mime.ParseMediaType(v)
	if err == nil {
		return mt, params
	}
	params = map[string]string{}
	fields := splitParams(v)
	if len(fields) == 0 {
		return "", params
	}
	mt = strings.ToLower(strings.TrimSpace(fields[0]))
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
		if k != "" {
			if _, dup := params[k]; !dup {
				params[k] = val
			}
		}
	}
	return mt, params
}

// splitParams splits a header value on ";" outside double quotes.
func splitParams(v string) []string {
	var out []string
	quoted := false
	start := 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '"':
			quoted = !quoted
		case '\\':
			if quoted {
				i++
			}
		case ';':
			if !quoted {
				out = append(out, v[start:i])
				start = i + 1
			}
		}
	}
	if start < len(v) {
		out = append(out, v[start:])
	}
	return out
}

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
		rp.mediaType, rp.params = parseMediaType(p.Header.Get("Content-Type"))
		rp.body = lenient.Transfer(raw, p.Header.Get("Content-Transfer-Encoding"))
		parts = append(parts, rp)
	}
}
