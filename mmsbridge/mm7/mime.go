package mm7

import (
	"bytes"
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
//
// scratch, when not nil, is a buffer to read parts into, kept for the next
// call: no part's body refers to it once readMultipart returns.
func readMultipart(body []byte, boundary string, maxParts int, scratch *[]byte) ([]*rawPart, error) {
	if boundary == "" {
		return nil, fmt.Errorf("multipart without boundary: %w", errCorrupt)
	}
	if scratch == nil {
		scratch = new([]byte)
	}
	if cap(*scratch) < len(body) {
		// No part outgrows the body it is in.
		*scratch = make([]byte, 0, len(body))
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	var (
		parts []*rawPart
		from  int // where in body the next part's bytes may start
	)
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
		raw, err := readInto(p, *scratch)
		*scratch = raw[:0]
		if err != nil {
			return parts, fmt.Errorf("read part %d body: %w: %w", len(parts)+1, errCorrupt, err)
		}
		rp := &rawPart{header: p.Header}
		rp.mediaType, rp.params = lenient.MediaType(p.Header.Get("Content-Type"))
		rp.body = lenient.Transfer(raw, p.Header.Get("Content-Transfer-Encoding"))
		if len(rp.body) > 0 && &rp.body[0] == &raw[0] {
			// Not decoded (identity, 7bit, binary…): raw is scratch,
			// which the next part overwrites. The same bytes are in
			// body, which outlives the parts: any stretch of body equal
			// to raw will do, and the part's own is the first one after
			// the previous part.
			if i := indexPart(body[from:], raw); i >= 0 {
				rp.body = body[from+i : from+i+len(raw) : from+i+len(raw)]
				from += i + len(raw)
			} else {
				rp.body = bytes.Clone(raw)
			}
		}
		parts = append(parts, rp)
	}
}

// indexPart is bytes.Index(body, raw) for a part's raw bytes, the cheap
// way: candidates are found by raw's first bytes (a vector scan) and
// compared whole (a memcmp). bytes.Index with a pattern of hundreds of KB
// hashes all of it and the body besides (Rabin-Karp), which was 6 % of the
// CPU an MMS with a photo costs. After maxPartTries candidates that are
// not it, it gives up with -1, and the caller copies the part instead.
func indexPart(body, raw []byte) int {
	const prefix = 32
	if len(raw) <= prefix {
		return bytes.Index(body, raw)
	}
	const maxPartTries = 16
	at := 0
	for range maxPartTries {
		i := bytes.Index(body[at:], raw[:prefix])
		if i < 0 || len(body)-at-i < len(raw) {
			return -1
		}
		if bytes.Equal(body[at+i:at+i+len(raw)], raw) {
			return at + i
		}
		at += i + 1
	}
	return -1
}

// maxSizeHint bounds the memory a declared size makes readAll take before
// the bytes arrive: beyond it the buffer grows as they do.
const maxSizeHint = 2 << 20

// readAll is io.ReadAll into a buffer sized for the size announced (a
// Content-Length, a bytes.Reader's Len), so that a body of known size is
// read with one allocation and no copy; 0 or less announces nothing.
func readAll(r io.Reader, size int64) ([]byte, error) {
	// One byte more, to see the end without growing.
	return readInto(r, make([]byte, 0, min(max(size, 0), maxSizeHint)+1))
}

// readInto reads r to its end into buf's memory, growing it only past its
// capacity, and returns what was read.
func readInto(r io.Reader, buf []byte) ([]byte, error) {
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
