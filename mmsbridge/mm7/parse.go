package mm7

import (
	"errors"
	"io"
	"mime"
	"net/url"
	"strings"
	"time"

	"mmsprofile/internal/charset"
	"mmsprofile/mmsbridge"

	"mmsprofile/internal/lenient"
)

// Parse reads one MM7 request (any kind) without side effects.
//
// contentType is the HTTP Content-Type: multipart/related (the SOAP
// envelope and the content) or a bare text/xml envelope. On success the
// Request is complete. On failure the error is an *Error carrying the
// status code to answer, and the Request, when not nil, holds what was read
// of the envelope (kind, namespace, TransactionID, version) so the answer
// can echo it; its Message and Report are then nil and must not be used.
func Parse(contentType string, body io.Reader, lim Limits) (*Request, error) {
	lim = lim.withDefaults()
	size := int64(0)
	if l, ok := body.(interface{ Len() int }); ok {
		size = min(int64(l.Len()), lim.MaxBytes+1)
	}
	data, err := readAll(io.LimitReader(body, lim.MaxBytes+1), size)
	if err != nil {
		return nil, fail(StatusMessageFormatCorrupt, err, "request body could not be read")
	}
	return parseBytes(contentType, data, lim)
}

// parseBytes is Parse on a body already in memory, as the handler has it.
func parseBytes(contentType string, data []byte, lim Limits) (*Request, error) {
	lim = lim.withDefaults()
	if int64(len(data)) > lim.MaxBytes {
		return nil, fail(StatusValidationError, ErrLimit, "request body larger than %d bytes", lim.MaxBytes)
	}
	p := &parser{lim: lim}
	return p.parse(contentType, data)
}

// parser holds one Parse call's state.
type parser struct {
	lim   Limits
	parts int // MIME parts seen so far, all levels
	// scratch is where parts are read, at every level in turn (see
	// readMultipart).
	scratch []byte
}

func (p *parser) parse(contentType string, data []byte) (*Request, error) {
	mt, params := lenient.MediaType(contentType)
	var (
		root    *rawPart
		others  []*rawPart
		mimeErr error
	)
	if strings.HasPrefix(mt, "multipart/") {
		if params["boundary"] == "" {
			// Guessing a boundary from the body would process what the
			// sender did not frame; refuse instead.
			return nil, fail(StatusValidationError, errCorrupt, "multipart body without boundary: SOAP envelope cannot be located")
		}
		parts, err := readMultipart(data, params["boundary"], p.lim.MaxParts, &p.scratch)
		p.parts = len(parts)
		mimeErr = err
		root = pickRoot(parts, cleanID(params["start"]))
		if root == nil {
			return nil, fail(StatusMessageFormatCorrupt, err, "no SOAP part found in the multipart body")
		}
		for _, part := range parts {
			if part != root {
				others = append(others, part)
			}
		}
	} else {
		// text/xml, application/soap+xml, or a missing or wrong type:
		// the whole body must be the envelope, which the XML reader checks.
		root = &rawPart{mediaType: mt, params: params, body: data}
	}

	tree, prefix, err := readEnvelope(soapToUTF8(root.body, root.params["charset"]), envelopeLimits{
		maxDepth:    p.lim.MaxXMLDepth,
		maxElements: p.lim.MaxXMLElements,
		maxAttrs:    p.lim.MaxXMLAttrs,
		maxText:     p.lim.MaxXMLText,
	})
	if err != nil {
		if mimeErr != nil && !errors.Is(mimeErr, ErrLimit) {
			return nil, fail(StatusMessageFormatCorrupt, mimeErr, "MIME body is corrupt")
		}
		return nil, fail(StatusValidationError, err, "SOAP part is not well-formed or not allowed XML")
	}
	req, reqEl, err := p.envelope(tree, prefix)
	if err != nil {
		return req, err
	}
	if mimeErr != nil {
		if errors.Is(mimeErr, ErrLimit) {
			return req, fail(StatusContentRefused, mimeErr, "too many MIME parts")
		}
		return req, fail(StatusMessageFormatCorrupt, mimeErr, "MIME body is corrupt")
	}

	switch req.Kind {
	case KindDeliverReq:
		msg, err := p.deliverReq(req, reqEl, root, others)
		if err != nil {
			return req, err
		}
		req.Message = msg
	case KindDeliveryReportReq, KindReadReplyReq:
		rep, err := p.report(req, reqEl)
		if err != nil {
			return req, err
		}
		req.Report = rep
	}
	return req, nil
}

// pickRoot finds the SOAP part: the one the start parameter names, else
// (RFC 2387) the first part, unless the first is not XML and a later one
// is, which is what MMSCs that drop start and reorder parts mean.
func pickRoot(parts []*rawPart, start string) *rawPart {
	if len(parts) == 0 {
		return nil
	}
	if start != "" {
		for _, part := range parts {
			if part.contentID() == start {
				return part
			}
		}
	}
	if !parts[0].isXML() {
		for _, part := range parts[1:] {
			if part.isXML() {
				return part
			}
		}
	}
	return parts[0]
}

// envelope reads the SOAP Envelope: TransactionID from the Header, the
// request element from the Body.
func (p *parser) envelope(tree *node, prefix string) (*Request, *node, error) {
	if tree.name.Local != "Envelope" {
		return nil, nil, fail(StatusValidationError, errXML, "root element is %q, not a SOAP Envelope", tree.name.Local)
	}
	req := &Request{EnvelopePrefix: prefix}
	var txNS string
	if h := tree.child("Header"); h != nil {
		if tx := h.child("TransactionID"); tx != nil {
			req.TransactionID = strings.TrimSpace(tx.text)
			txNS = tx.name.Space
		}
	}
	body := tree.child("Body")
	if body == nil || len(body.kids) == 0 {
		return req, nil, fail(StatusValidationError, errXML, "SOAP Body missing or empty")
	}
	el := body.kids[0]
	req.Element = el.name.Local
	req.MM7Version = el.childText("MM7Version")
	switch {
	case el.name.Space != "" && isMM7Namespace(el.name.Space):
		req.Namespace = el.name.Space
	case txNS != "" && isMM7Namespace(txNS):
		req.Namespace = txNS
	}
	if isMM7Namespace(el.name.Space) {
		switch el.name.Local {
		case "DeliverReq":
			req.Kind = KindDeliverReq
		case "DeliveryReportReq":
			req.Kind = KindDeliveryReportReq
		case "ReadReplyReq":
			req.Kind = KindReadReplyReq
		}
	}
	if req.Kind != KindOther && req.TransactionID == "" {
		// The MMSC matches our answer to its request by it.
		return req, el, fail(StatusValidationError, errXML, "%s without TransactionID", req.Element)
	}
	return req, el, nil
}

// deliverReq builds the Message of a DeliverReq.
func (p *parser) deliverReq(req *Request, el *node, root *rawPart, others []*rawPart) (*mmsbridge.Message, error) {
	msg := &mmsbridge.Message{
		Transport:     mmsbridge.TransportMM7,
		RelayServerID: el.childText("MMSRelayServerID"),
		MessageID:     el.childText("MessageID"),
		TransactionID: req.TransactionID,
		LinkedID:      el.childText("LinkedID"),
		Subject:       el.childText("Subject"),
		Received:      parseTime(el.childText("TimeStamp")),
	}
	if msg.MessageID != "" {
		msg.Key = msg.RelayServerID + "/" + msg.MessageID
	} else {
		msg.Key = "tx/" + req.TransactionID
	}
	req.Priority = el.childText("Priority")
	req.VASPID = el.childText("VASPID")
	req.VASID = el.childText("VASID")
	req.SenderType, msg.SenderRaw, msg.Sender = p.addressIn(el.child("Sender"))
	if rc := el.child("Recipients"); rc != nil {
		for _, field := range rc.kids {
			switch field.name.Local {
			case "To", "Cc", "Bcc":
			default:
				continue
			}
			fieldDisplay := isTrue(field.attrValue("displayOnly"))
			addrs := field.kids
			if len(addrs) == 0 {
				addrs = []*node{field} // a bare value: <To>+1202…</To>
			}
			for _, a := range addrs {
				raw := strings.TrimSpace(a.text)
				if raw == "" {
					continue
				}
				typ := a.name.Local
				if a == field {
					typ = ""
				}
				msg.Recipients = append(msg.Recipients, mmsbridge.Address{
					Kind:        field.name.Local,
					Value:       p.normalize(typ, raw),
					DisplayOnly: fieldDisplay || isTrue(a.attrValue("displayOnly")),
				})
			}
		}
	}

	href := ""
	if c := el.child("Content"); c != nil {
		href, _ = c.attrValue("href")
	}
	content := findContent(others, href)
	if content == nil {
		return msg, nil
	}
	parts, err := p.content(content)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			return nil, err
		}
		if errors.Is(err, ErrLimit) {
			return nil, fail(StatusContentRefused, err, "MIME content refused")
		}
		return nil, fail(StatusMessageFormatCorrupt, err, "MIME content is corrupt")
	}
	msg.Parts = parts
	return msg, nil
}

// addressIn reads an address container (Sender, Recipient): its first
// child element, or its own text when the MMSC wrote a bare value. It
// returns the element name, the value as received, and the value
// normalised.
func (p *parser) addressIn(n *node) (typ, raw, norm string) {
	if n == nil {
		return "", "", ""
	}
	a := n
	if len(n.kids) > 0 {
		a = n.kids[0]
	find:
		for _, k := range n.kids {
			switch k.name.Local {
			case "Number", "ShortCode", "RFC2822Address":
				a = k
				break find
			}
		}
		typ = a.name.Local
	}
	raw = strings.TrimSpace(a.text)
	return typ, raw, p.normalize(typ, raw)
}

// normalize turns an address into its E.164 form when it is a phone
// number; short codes and e-mail addresses stay as written (less any
// /TYPE= suffix). A value of six digits or fewer without "+" is a short
// code even when the MMSC calls it a Number: no national number is that
// short, and putting a country code in front would invent a number.
func (p *parser) normalize(typ, raw string) string {
	v := raw
	if i := strings.Index(strings.ToUpper(v), "/TYPE="); i >= 0 {
		v = strings.TrimSpace(v[:i])
	}
	switch {
	case typ == "ShortCode":
		return v
	case strings.Contains(v, "@"):
		return v
	case !strings.HasPrefix(v, "+") && countDigits(v) <= 6:
		return v
	}
	if n, err := mmsbridge.NormalizeNumber(v, p.lim.DefaultCountryCode); err == nil {
		return n
	}
	return v
}

func countDigits(s string) int {
	n := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			n++
		}
	}
	return n
}

func isTrue(v string, ok bool) bool {
	v = strings.TrimSpace(v)
	return ok && (strings.EqualFold(v, "true") || v == "1")
}

// findContent resolves the Content href among the non-root parts. The
// reference is compared without "cid:", brackets or spaces, then
// URL-unescaped (RFC 2392), then ignoring case, then against
// Content-Location. A missing or dangling reference takes the first part
// that is not XML, then the first part at all: real MMSCs misspell the
// reference more often than they send two content parts.
func findContent(parts []*rawPart, href string) *rawPart {
	if len(parts) == 0 {
		return nil
	}
	if id := cleanID(href); id != "" {
		unesc, err := url.PathUnescape(id)
		if err != nil {
			unesc = id
		}
		for _, match := range []func(*rawPart) bool{
			func(rp *rawPart) bool { return rp.contentID() == id },
			func(rp *rawPart) bool { return rp.contentID() == unesc },
			func(rp *rawPart) bool { return strings.EqualFold(rp.contentID(), unesc) },
			func(rp *rawPart) bool { return cleanID(rp.header.Get("Content-Location")) == unesc },
		} {
			for _, rp := range parts {
				if match(rp) {
					return rp
				}
			}
		}
	}
	for _, rp := range parts {
		if !rp.isXML() {
			return rp
		}
	}
	return parts[0]
}

// content flattens the content entity into parts: every leaf in message
// order, SMIL dropped (it only lays out the slides), text converted to
// UTF-8. The MM7 body counts as the first MIME level.
func (p *parser) content(c *rawPart) ([]mmsbridge.Part, error) {
	var leaves []*rawPart
	if err := p.walk(c, 2, &leaves); err != nil {
		return nil, err
	}
	var out []mmsbridge.Part
	for _, l := range leaves {
		mt := l.mediaType
		if mt == "" {
			mt = "text/plain" // RFC 2045 §5.2
		}
		if mt == "application/smil" {
			continue
		}
		part := mmsbridge.Part{
			ContentType: mt,
			ContentID:   l.contentID(),
			Filename:    filename(l),
			Data:        l.body,
		}
		if strings.HasPrefix(mt, "text/") {
			part.Charset = strings.Trim(strings.TrimSpace(l.params["charset"]), `"'`)
			if (mt == "text/plain" || mt == "text/html") && len(l.body) > p.lim.MaxTextBytes {
				return nil, fail(StatusContentRefused, ErrLimit, "%s part of %d bytes (limit %d)", mt, len(l.body), p.lim.MaxTextBytes)
			}
			data, err := charset.Text(l.body, part.Charset)
			if errors.Is(err, charset.ErrRefused) {
				return nil, fail(StatusContentRefused, err, "%s part in charset %q is not accepted; send UTF-8", mt, part.Charset)
			}
			part.Data = data
		}
		out = append(out, part)
	}
	return out, nil
}

// walk descends one entity at the given MIME level, collecting leaves.
// Recursion is bounded by MaxMIMEDepth, the part count by MaxParts.
func (p *parser) walk(e *rawPart, level int, leaves *[]*rawPart) error {
	if !e.isMultipart() {
		*leaves = append(*leaves, e)
		return nil
	}
	if level > p.lim.MaxMIMEDepth {
		return fail(StatusContentRefused, ErrLimit, "MIME content nested deeper than %d levels", p.lim.MaxMIMEDepth)
	}
	kids, err := readMultipart(e.body, e.params["boundary"], p.lim.MaxParts-p.parts, &p.scratch)
	p.parts += len(kids)
	if err != nil {
		if errors.Is(err, ErrLimit) {
			return fail(StatusContentRefused, err, "more than %d MIME parts", p.lim.MaxParts)
		}
		return fail(StatusMessageFormatCorrupt, err, "MIME content at level %d is corrupt", level)
	}
	for _, k := range kids {
		if err := p.walk(k, level+1, leaves); err != nil {
			return err
		}
	}
	return nil
}

// filename is the part's name: Content-Disposition filename, else the
// Content-Type name, else Content-Location; RFC 2047 words decoded.
func filename(rp *rawPart) string {
	name := ""
	if cd := rp.header.Get("Content-Disposition"); cd != "" {
		_, params := lenient.MediaType(cd)
		name = params["filename"]
	}
	if name == "" {
		name = rp.params["name"]
	}
	if name == "" {
		name = strings.TrimSpace(rp.header.Get("Content-Location"))
	}
	if strings.Contains(name, "=?") {
		dec := mime.WordDecoder{CharsetReader: charset.NewReader}
		if d, err := dec.DecodeHeader(name); err == nil {
			name = d
		}
	}
	return name
}

// report builds the Report of a DeliveryReportReq or ReadReplyReq.
func (p *parser) report(req *Request, el *node) (*Report, error) {
	rep := &Report{
		Kind:          req.Kind,
		TransactionID: req.TransactionID,
		RelayServerID: el.childText("MMSRelayServerID"),
		MessageID:     el.childText("MessageID"),
		MMStatus:      el.childText("MMStatus"),
		StatusText:    el.childText("StatusText"),
	}
	if rep.StatusText == "" {
		rep.StatusText = el.childText("MMStatusText")
	}
	_, _, rep.Recipient = p.addressIn(el.child("Recipient"))
	_, _, rep.Sender = p.addressIn(el.child("Sender"))
	date := el.childText("Date")
	if date == "" {
		date = el.childText("TimeStamp")
	}
	rep.Date = parseTime(date)
	if rep.MessageID == "" {
		return nil, fail(StatusValidationError, errXML, "%s without MessageID", req.Element)
	}
	return rep, nil
}

// parseTime reads an xs:dateTime as MMSCs write it; a value it cannot read
// gives the zero time rather than refusing the message over a timestamp.
func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	for _, layout := range []string{
		time.RFC3339Nano,
		"2006-01-02T15:04:05.999999999Z0700",
		"2006-01-02T15:04:05.999999999",
		"2006-01-02 15:04:05",
	} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return time.Time{}
}
