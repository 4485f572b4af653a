package email

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"
	"sync"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"

	"mmsprofile/mmsbridge"

	"mmsprofile/internal/lenient"
)

// Errors Extract wraps; each turns into one SMTP reply / exit code.
var (
	// ErrMalformed: the MIME structure is broken (truncated, no boundary).
	ErrMalformed = errors.New("malformed MIME content")
	// ErrTooLarge: the message is bigger than MaxMessageBytes.
	ErrTooLarge = errors.New("message too large")
	// ErrLimit: too deep, too many parts or too long a line (a bomb).
	ErrLimit = errors.New("message exceeds a limit")
)

// Extract reads one e-mail and returns the MMS in it, with the built-in
// carrier rules. It does not authenticate the sender.
func Extract(r io.Reader, lim Limits) (*mmsbridge.Message, error) {
	t, err := defaultTable()
	if err != nil {
		return nil, err
	}
	raw, err := readLimited(r, lim.withDefaults().MaxMessageBytes)
	if err != nil {
		return nil, err
	}
	m, err := extract(raw, lim, t, "")
	if err != nil {
		return nil, err
	}
	return m.msg, nil
}

// defaultTable compiles the built-in carrier table once; it is never
// changed after, so sharing it is safe.
var defaultTable = sync.OnceValues(func() (*carrierTable, error) {
	return compileCarriers(DefaultCarriers())
})

// readLimited reads all of r, failing with ErrTooLarge past max bytes.
func readLimited(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("email: read message: %w", err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("email: over %d bytes: %w", max, ErrTooLarge)
	}
	return b, nil
}

// leaf is one non-multipart MIME part after transfer decoding.
type leaf struct {
	path        string
	mediaType   string
	charset     string
	filename    string
	name        string
	contentID   string
	disposition string
	data        []byte // transfer-decoded bytes
	text        []byte // UTF-8 text, for text/* parts
	alt         int    // id of the enclosing multipart/alternative, 0 if none
}

// extracted is a Message together with what authentication needs.
type extracted struct {
	msg     *mmsbridge.Message
	header  textproto.Header
	from    string // From address as parsed (lower-cased domain), may lack a domain
	domain  string // sender domain: From's, or Return-Path's when From has none
	carrier *carrierRules
}

type walker struct {
	lim    Limits
	leaves []*leaf
	parts  int
	alts   int
}

func extract(raw []byte, lim Limits, t *carrierTable, defaultCC string) (*extracted, error) {
	lim = lim.withDefaults()
	if int64(len(raw)) > lim.MaxMessageBytes {
		return nil, fmt.Errorf("email: over %d bytes: %w", lim.MaxMessageBytes, ErrTooLarge)
	}
	if err := checkLines(raw, lim.MaxLineLength); err != nil {
		return nil, err
	}
	body := skipMboxFrom(raw)
	br := bufio.NewReader(bytes.NewReader(body))
	h, err := textproto.ReadHeader(br)
	if err != nil {
		return nil, fmt.Errorf("email: header: %v: %w", err, ErrMalformed)
	}
	w := &walker{lim: lim}
	if err := w.walk(h, br, 0, "", 0); err != nil {
		return nil, err
	}

	x := &extracted{header: h}
	mh := mail.Header{Header: message.Header{Header: h}}
	x.from, x.domain = senderAddress(mh)
	x.carrier = t.lookup(x.domain)
	sets := []*carrierRules{x.carrier, t.any}
	if x.carrier == nil {
		// A gateway relaying for a personal From address (Indosat) still
		// decorates: take its rules from the envelope domain, but never
		// the sender's identity.
		if rp := roughAddress(h.Get("Return-Path")); strings.Contains(rp, "@") {
			sets[0] = t.lookup(rp[strings.LastIndexByte(rp, '@')+1:])
		}
	}

	msg := &mmsbridge.Message{
		Transport: mmsbridge.TransportEmail,
		SenderRaw: x.from,
		Sender:    strings.ToLower(x.from),
	}
	if id, err := mh.MessageID(); err == nil && id != "" {
		msg.MessageID = id
	} else {
		msg.MessageID = strings.Trim(strings.TrimSpace(h.Get("Message-Id")), "<>")
	}
	if d, err := mh.Date(); err == nil {
		msg.Received = d
	}
	subject := strings.TrimSpace(decodeHeader(h.Get("Subject")))
	if !ignoredSubject(subject, sets...) {
		msg.Subject = subject
	}
	for _, kind := range []string{"To", "Cc"} {
		addrs, err := mh.AddressList(kind)
		if err != nil {
			continue
		}
		for _, a := range addrs {
			msg.Recipients = append(msg.Recipients, mmsbridge.Address{Kind: kind, Value: a.Address})
		}
	}
	msg.Parts = selectParts(w.leaves, sets)
	if num, ok := carrierNumber(x, w.leaves, defaultCC); ok {
		msg.Sender = num
	}
	msg.Key = messageKey(msg.Sender, msg.MessageID, raw)
	x.msg = msg
	return x, nil
}

// messageKey identifies a delivery: the same Message-ID from the same
// sender is the same MMS, whatever route it came by. Without a Message-ID
// only a byte-identical copy counts as the same.
func messageKey(sender, messageID string, raw []byte) string {
	h := sha256.New()
	if messageID != "" {
		io.WriteString(h, strings.ToLower(sender)+"\x00"+messageID)
	} else {
		io.WriteString(h, "raw\x00")
		h.Write(raw)
	}
	return "email/" + hex.EncodeToString(h.Sum(nil))[:32]
}

// checkLines enforces the line-length limit over the raw message.
func checkLines(raw []byte, max int) error {
	for len(raw) > 0 {
		i := bytes.IndexByte(raw, '\n')
		line := raw
		if i >= 0 {
			line, raw = raw[:i], raw[i+1:]
		} else {
			raw = nil
		}
		if len(line) > max+1 { // +1: the CR of CRLF
			return fmt.Errorf("email: line of %d bytes over %d: %w", len(line), max, ErrLimit)
		}
	}
	return nil
}

// skipMboxFrom drops a leading mbox "From " separator line.
func skipMboxFrom(raw []byte) []byte {
	if bytes.HasPrefix(raw, []byte("From ")) {
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			return raw[i+1:]
		}
	}
	return raw
}

func (w *walker) walk(h textproto.Header, body io.Reader, depth int, path string, alt int) error {
	w.parts++
	if w.parts > w.lim.MaxParts {
		return fmt.Errorf("email: more than %d parts: %w", w.lim.MaxParts, ErrLimit)
	}
	ct := h.Get("Content-Type")
	mt, params := lenient.MediaType(ct)
	if mt == "" || !strings.Contains(mt, "/") {
		mt = "text/plain"
	}
	if strings.HasPrefix(mt, "multipart/") {
		if depth >= w.lim.MaxMIMEDepth {
			return fmt.Errorf("email: MIME nesting deeper than %d: %w", w.lim.MaxMIMEDepth, ErrLimit)
		}
		boundary := params["boundary"]
		if boundary == "" {
			return fmt.Errorf("email: %s at %q without boundary: %w", mt, pathOr(path), ErrMalformed)
		}
		if mt == "multipart/alternative" {
			w.alts++
			alt = w.alts
		}
		// A Content-Transfer-Encoding on a multipart is ignored: RFC 2045
		// allows only identity encodings there, and decoding it would
		// break the parts (seen from Unicel).
		mr := textproto.NewMultipartReader(body, boundary)
		for i := 1; ; i++ {
			p, err := mr.NextPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("email: part %s.%d: %v: %w", pathOr(path), i, err, ErrMalformed)
			}
			if err := w.walk(p.Header, p, depth+1, joinPath(path, i), alt); err != nil {
				return err
			}
		}
	}
	data, err := io.ReadAll(body)
	if err != nil {
		return fmt.Errorf("email: part %s: %v: %w", pathOr(path), err, ErrMalformed)
	}
	l := &leaf{
		path:      pathOr(path),
		mediaType: mt,
		charset:   params["charset"],
		name:      decodeHeader(params["name"]),
		contentID: strings.Trim(strings.TrimSpace(h.Get("Content-Id")), "<>"),
		alt:       alt,
	}
	disp, dparams := lenient.MediaType(h.Get("Content-Disposition"))
	l.disposition = disp
	l.filename = decodeHeader(dparams["filename"])
	if l.filename == "" {
		l.filename = l.name
	}
	l.data = lenient.Transfer(data, h.Get("Content-Transfer-Encoding"))
	if strings.HasPrefix(mt, "text/") {
		text, err := toUTF8(l.data, l.charset)
		if err != nil {
			return fmt.Errorf("email: part %s: %w", pathOr(path), err)
		}
		l.text = bytes.ReplaceAll(text, []byte("\r\n"), []byte("\n"))
	}
	w.leaves = append(w.leaves, l)
	return nil
}

func pathOr(p string) string {
	if p == "" {
		return "0"
	}
	return p
}

func joinPath(p string, i int) string {
	if p == "" {
		return fmt.Sprint(i)
	}
	return fmt.Sprintf("%s.%d", p, i)
}

// Kinds of leaves, as selectParts sees them.
const (
	kindOther = iota
	kindText
	kindHTML
	kindImage
	kindVCard
	kindMedia // video, audio: kept, not used as picture or words
)

func classify(l *leaf) int {
	ext := strings.ToLower(path.Ext(l.filename))
	switch {
	case l.mediaType == "text/vcard" || l.mediaType == "text/x-vcard" || l.mediaType == "text/directory" || ext == ".vcf":
		return kindVCard
	case strings.HasPrefix(l.mediaType, "image/"):
		return kindImage
	case strings.HasPrefix(l.mediaType, "video/"), strings.HasPrefix(l.mediaType, "audio/"):
		return kindMedia
	case l.mediaType == "text/plain":
		return kindText
	case l.mediaType == "text/html":
		return kindHTML
	case l.mediaType == "application/octet-stream" || l.mediaType == "application/x-octet-stream":
		// Phones label photos generically; believe the bytes, not the label.
		if strings.HasPrefix(sniff(l.data), "image/") {
			return kindImage
		}
	}
	return kindOther
}

func sniff(b []byte) string {
	ct := http.DetectContentType(b)
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return ct
}

// selectParts keeps the user's content: pictures, words, contact cards and
// other media, without carrier decoration, SMIL or duplicates.
func selectParts(leaves []*leaf, sets []*carrierRules) []mmsbridge.Part {
	var out []mmsbridge.Part
	seen := make(map[[32]byte]bool)
	var htmls []*leaf
	haveText := false
	for _, l := range leaves {
		k := classify(l)
		if k == kindOther {
			continue
		}
		if isDecoration(l, sets...) {
			continue
		}
		switch k {
		case kindHTML:
			htmls = append(htmls, l)
			continue
		case kindText:
			// Plain text keeps the user's own spacing; only the ends go.
			s := strings.TrimSpace(stripText(string(l.text), sets...))
			if s == "" {
				continue
			}
			haveText = true
			out = append(out, mmsbridge.Part{ContentType: "text/plain", Charset: l.charset, ContentID: l.contentID, Filename: l.filename, Data: []byte(s)})
			continue
		}
		if len(l.data) == 0 {
			continue
		}
		sum := sha256.Sum256(l.data)
		if seen[sum] {
			continue // the same picture twice (Alltel attaches it twice)
		}
		seen[sum] = true
		p := mmsbridge.Part{ContentType: l.mediaType, Charset: l.charset, ContentID: l.contentID, Filename: l.filename, Data: l.data}
		switch k {
		case kindImage:
			if !strings.HasPrefix(p.ContentType, "image/") {
				p.ContentType = sniff(l.data)
			}
		case kindVCard:
			if p.ContentType != "text/vcard" && p.ContentType != "text/x-vcard" && p.ContentType != "text/directory" {
				p.ContentType = "text/vcard"
			}
			if l.charset != "" {
				// Refused charsets were refused while walking text/*
				// parts; any other label reads here as there.
				p.Data, _ = toUTF8(l.data, l.charset)
			}
		}
		out = append(out, p)
	}
	// HTML is the carrier's presentation of the same message: its words
	// count only when no plain text part carried them.
	if !haveText {
		for _, l := range htmls {
			s := htmlText(l, sets)
			if s == "" {
				continue
			}
			out = append(out, mmsbridge.Part{ContentType: "text/plain", Charset: l.charset, ContentID: l.contentID, Filename: l.filename, Data: []byte(s)})
			break
		}
	}
	return out
}

// htmlText is the user's text inside an HTML part, after the carrier's
// html_text cut and strip rules.
func htmlText(l *leaf, sets []*carrierRules) string {
	src := l.text
	for _, s := range sets {
		if s == nil || s.htmlText == nil {
			continue
		}
		m := s.htmlText.FindSubmatch(src)
		if len(m) < 2 {
			return ""
		}
		src = m[1]
		break
	}
	return tidyText(stripText(htmlToText(src), sets...))
}
