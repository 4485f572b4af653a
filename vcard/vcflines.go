package vcard

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"unicode"

	govcard "github.com/emersion/go-vcard"

	"mmsprofile/internal/charset"
	"mmsprofile/internal/lenient"
)

// This file turns the raw bytes of a .vcf into lines go-vcard reads
// correctly. go-vcard unfolds only RFC 6350 style (a continuation starts with
// a space) and takes parameters as name=value; phones also send vCard 2.1,
// with quoted-printable soft line breaks, CHARSET, bare parameters
// ("TEL;CELL;PREF:") that go-vcard misreads as the value of the last
// parameter, and BASE64 photos whose lines need not be indented.

// decodeBOM strips a UTF-8 byte order mark and converts UTF-16 (as some
// desktop address books export) to UTF-8.
func decodeBOM(b []byte) []byte {
	switch {
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}):
		return b[3:]
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}), bytes.HasPrefix(b, []byte{0xFE, 0xFF}):
		out, err := charset.UTF16For(b, "").NewDecoder().Bytes(b)
		if err == nil {
			return out
		}
	}
	return b
}

// lines yields physical lines, then logical ones with next.
type lines struct {
	data []byte
	pos  int
	num  int // number of the last line taken, 1-based
}

func newLines(b []byte) *lines { return &lines{data: b} }

func (l *lines) peek() (string, bool) {
	if l.pos >= len(l.data) {
		return "", false
	}
	rest := l.data[l.pos:]
	if i := bytes.IndexByte(rest, '\n'); i >= 0 {
		rest = rest[:i]
	}
	return string(bytes.TrimSuffix(rest, []byte("\r"))), true
}

func (l *lines) take() (string, bool) {
	s, ok := l.peek()
	if !ok {
		return "", false
	}
	i := bytes.IndexByte(l.data[l.pos:], '\n')
	if i < 0 {
		l.pos = len(l.data)
	} else {
		l.pos += i + 1
	}
	l.num++
	return s, true
}

type logical struct {
	text string
	line int
}

// next returns the next unfolded property. v21 selects vCard 2.1 folding,
// where the leading white space of a continuation is part of the value
// (RFC 822), instead of RFC 6350's, where one space is removed.
func (l *lines) next(v21 bool) (logical, bool) {
	first, ok := l.take()
	if !ok {
		return logical{}, false
	}
	out := logical{line: l.num}
	// A byte slice rather than a strings.Builder: dropping a soft break's
	// '=' must not copy the whole value each time.
	b := []byte(first)
	qp, b64 := encodingOf(first)
	for {
		nxt, ok := l.peek()
		if !ok {
			break
		}
		switch {
		case qp && len(b) > 0 && b[len(b)-1] == '=' && !isCardBoundary(nxt):
			// A quoted-printable soft line break: the next line continues
			// the value whatever it starts with.
			b = append(b[:len(b)-1], nxt...)
		case b64 && strings.TrimSpace(nxt) == "":
			// vCard 2.1 ends a BASE64 value with a blank line.
			l.take()
			out.text = string(b)
			return out, true
		case b64 && (startsWithSpace(nxt) || isBase64Text(nxt)):
			b = append(b, strings.TrimSpace(nxt)...)
		case startsWithSpace(nxt):
			if v21 {
				b = append(b, nxt...)
			} else {
				b = append(b, nxt[1:]...)
			}
		default:
			out.text = string(b)
			return out, true
		}
		l.take()
	}
	out.text = string(b)
	return out, true
}

// isCardBoundary keeps a stray '=' at the end of a card's last
// quoted-printable value from swallowing END:VCARD.
func isCardBoundary(s string) bool {
	s = strings.ToUpper(strings.TrimSpace(s))
	return s == "END:VCARD" || s == "BEGIN:VCARD"
}

func startsWithSpace(s string) bool {
	return s != "" && (s[0] == ' ' || s[0] == '\t')
}

// isBase64Text reports whether a line can only be a continuation of a
// base64 value: every property line has a ':', which base64 never does.
func isBase64Text(s string) bool {
	s = strings.TrimSpace(s)
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=') {
			return false
		}
	}
	return true
}

// encodingOf looks at the parameters of a property's first line to know how
// its continuation lines are joined.
func encodingOf(line string) (qp, b64 bool) {
	head := line
	if i := strings.IndexByte(head, ':'); i >= 0 {
		head = head[:i]
	}
	segs := strings.Split(strings.ToUpper(head), ";")
	for _, s := range segs[1:] {
		s = strings.TrimSpace(s)
		switch s {
		case "QUOTED-PRINTABLE", "ENCODING=QUOTED-PRINTABLE":
			qp = true
		case "BASE64", "ENCODING=BASE64", "ENCODING=B":
			b64 = true
		}
	}
	return qp, b64
}

// splitProperty cuts "group.NAME;params:value" at the first ':' outside
// quotes. name is without its group and upper-cased.
func splitProperty(s string) (name, params, value string, ok bool) {
	quoted := false
	colon := -1
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			quoted = !quoted
		} else if s[i] == ':' && !quoted {
			colon = i
			break
		}
	}
	if colon < 0 {
		return "", "", "", false
	}
	head, value := s[:colon], s[colon+1:]
	name = head
	if i := strings.IndexByte(head, ';'); i >= 0 {
		name, params = head[:i], head[i+1:]
	}
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	return strings.ToUpper(strings.TrimSpace(name)), params, value, true
}

func isBinaryProperty(name string) bool {
	switch name {
	case "PHOTO", "LOGO", "SOUND", "KEY":
		return true
	}
	return false
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

type propParams struct {
	types     []string
	pref      string
	valueType string
	mediatype string
	encoding  string
	charset   string
}

func parseParams(s string) propParams {
	var p propParams
	for _, seg := range splitUnquoted(s, ';') {
		k, v, hasEq := strings.Cut(seg, "=")
		k = strings.ToUpper(strings.TrimSpace(k))
		v = strings.Trim(strings.TrimSpace(v), `"`)
		if !hasEq {
			// vCard 2.1 names a parameter's value alone: TEL;CELL;PREF.
			switch k {
			case "":
			case "QUOTED-PRINTABLE", "BASE64", "B", "8BIT", "7BIT":
				p.encoding = k
			default:
				p.types = append(p.types, k)
			}
			continue
		}
		switch k {
		case "TYPE":
			p.types = append(p.types, strings.Split(v, ",")...)
		case "ENCODING":
			p.encoding = strings.ToUpper(v)
		case "CHARSET":
			p.charset = v
		case "PREF":
			p.pref = v
		case "VALUE":
			p.valueType = v
		case "MEDIATYPE":
			p.mediatype = v
		}
	}
	return p
}

func splitUnquoted(s string, sep byte) []string {
	var out []string
	quoted, start := false, 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '"':
			quoted = !quoted
		case s[i] == sep && !quoted:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// paramValue keeps only characters that cannot break go-vcard's parameter
// syntax; the parameters we pass on are tokens and MIME types.
func paramValue(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '+' || r == '.' || r == '/' {
			return r
		}
		return -1
	}, s)
}

// normalise rewrites one property as a vCard 3.0 line: value decoded from
// quoted-printable and CHARSET into UTF-8, binary values as ENCODING=b with
// bare base64, parameters limited to the ones we read. It returns the
// VERSION value when the property is VERSION.
func (p *vcfParser) normalise(l logical) (out, version string, ok bool) {
	name, rawParams, value, hasColon := splitProperty(l.text)
	if !hasColon || !validName(name) {
		p.warn(l.line, "malformed property skipped: %.40q", l.text)
		return "", "", false
	}
	pp := parseParams(rawParams)
	var b strings.Builder
	b.WriteString(name)
	var types []string
	for _, t := range pp.types {
		if t = paramValue(t); t != "" {
			types = append(types, t)
		}
	}
	if len(types) > 0 {
		b.WriteString(";TYPE=")
		b.WriteString(strings.Join(types, ","))
	}
	// go-vcard takes a non-numeric PREF as the most preferred of all.
	if pref := paramValue(pp.pref); pref != "" && strings.Trim(pref, "0123456789") == "" {
		b.WriteString(";PREF=" + pref)
	}
	if v := paramValue(pp.valueType); v != "" {
		b.WriteString(";VALUE=" + v)
	}
	if v := paramValue(pp.mediatype); v != "" {
		b.WriteString(";MEDIATYPE=" + v)
	}
	switch pp.encoding {
	case "QUOTED-PRINTABLE":
		value = escapeLineBreaks(p.toUTF8(l.line, string(lenient.QuotedPrintable([]byte(value))), pp.charset))
	case "BASE64", "B":
		value = strings.Map(func(r rune) rune {
			if unicode.IsSpace(r) {
				return -1
			}
			return r
		}, value)
		if !isBinaryProperty(name) {
			// Base64 text (seen on NOTE from some exporters) becomes plain text.
			data, ok := decodeBase64([]byte(value))
			if !ok {
				p.warn(l.line, "%s: bad base64, skipped", name)
				return "", "", false
			}
			value = escapeLineBreaks(p.toUTF8(l.line, string(data), pp.charset))
			break
		}
		b.WriteString(";ENCODING=b")
	default:
		value = p.toUTF8(l.line, value, pp.charset)
	}
	if name == "VERSION" {
		version = strings.TrimSpace(value)
	}
	b.WriteByte(':')
	b.WriteString(value)
	return b.String(), version, true
}

// escapeLineBreaks writes decoded line breaks as the \n escape so the value
// stays on one line for go-vcard.
func escapeLineBreaks(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.NewReplacer("\r", `\n`, "\n", `\n`).Replace(s)
}

// toUTF8 converts s from charset (see charset.Text: without a charset, or
// with one we do not know, text that is not UTF-8 is read as Windows-1252,
// the usual 8-bit charset of 2.1 cards from Western phones). A refused
// charset (UTF-7) drops the value, with a warning: reading it as ASCII
// would pass on what it hides.
func (p *vcfParser) toUTF8(line int, s, cs string) string {
	out, err := charset.Text([]byte(s), cs)
	switch {
	case errors.Is(err, charset.ErrRefused):
		p.warn(line, "CHARSET %.20q not accepted, value dropped", cs)
		return ""
	case err != nil:
		p.warn(line, "unknown CHARSET %.20q, read as UTF-8", cs)
	}
	return string(out)
}

// photo decodes an inline PHOTO: 2.1/3.0 base64 or a 4.0 data: URI. The
// type comes from the bytes when they are a known image, since phones often
// declare the wrong one.
func photo(f *govcard.Field) (*Photo, string) {
	v := strings.TrimSpace(f.Value)
	var (
		data     []byte
		declared = f.Params.Get("MEDIATYPE")
	)
	if len(f.Params.Types()) > 0 && declared == "" {
		declared = f.Params.Types()[0]
	}
	switch enc := strings.ToUpper(f.Params.Get("ENCODING")); {
	case enc == "B" || enc == "BASE64":
		d, ok := decodeBase64([]byte(v))
		if !ok {
			return nil, "bad base64"
		}
		data = d
	case len(v) > 5 && strings.EqualFold(v[:5], "data:"):
		meta, payload, ok := strings.Cut(v[5:], ",")
		if !ok {
			return nil, "malformed data: URI"
		}
		parts := strings.Split(meta, ";")
		if parts[0] != "" {
			declared = parts[0]
		}
		if strings.EqualFold(parts[len(parts)-1], "base64") {
			d, ok := decodeBase64([]byte(payload))
			if !ok {
				return nil, "bad base64 in data: URI"
			}
			data = d
		} else {
			d, err := url.PathUnescape(payload)
			if err != nil {
				return nil, "malformed data: URI"
			}
			data = []byte(d)
		}
	case v == "":
		return nil, ""
	default:
		return nil, "it is a link, and links are not fetched"
	}
	if len(data) == 0 {
		return nil, "empty"
	}
	if sniffed := http.DetectContentType(data); strings.HasPrefix(sniffed, "image/") {
		return &Photo{Type: sniffed, Data: data}, ""
	}
	// Formats the sniffer does not know (HEIC from iPhones) pass on their
	// declared type; the avatar decoder has the last word.
	switch typ := mimeType(declared); typ {
	case "image/heic", "image/heif", "image/avif", "image/tiff", "image/jp2":
		return &Photo{Type: typ, Data: data}, ""
	}
	return nil, "not an image"
}

// mimeType turns a vCard 2.1/3.0 image type (JPEG, GIF) into a MIME type.
func mimeType(t string) string {
	t = strings.ToLower(paramValue(t))
	switch {
	case t == "":
		return ""
	case strings.Contains(t, "/"):
		return t
	case t == "jpg":
		return "image/jpeg"
	}
	return "image/" + t
}

// cleanLine returns s as one trimmed line of valid UTF-8: line breaks and
// tabs become spaces, other control characters go.
func cleanLine(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			return ' '
		case unicode.IsControl(r) || r == 0xFFFE || r == 0xFFFF:
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, "")))
}

// cleanText is cleanLine for multi-line text (NOTE): line breaks stay, as \n.
func cleanText(s string) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, ""), "\r\n", "\n")
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		switch {
		case r == '\n':
			return r
		case r == '\r' || r == '\t':
			return ' '
		case unicode.IsControl(r) || r == 0xFFFE || r == 0xFFFF:
			return -1
		}
		return r
	}, s))
}
