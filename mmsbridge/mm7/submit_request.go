package mm7

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"time"
	"unicode/utf8"
)

// builtSubmit is a Submission checked and with its content encoded; only
// the envelope (TransactionID, TimeStamp) changes between attempts.
type builtSubmit struct {
	cfg         *SubmitConfig
	sub         Submission
	toElement   string // Number, ShortCode or RFC2822Address
	fromElement string
	contentID   string // of the content part, without brackets
	contentType string // of the content part
	content     []byte // its body, ready to write
	contentCTE  string
}

// build checks sub and encodes its content.
func (s *Submitter) build(sub Submission) (*builtSubmit, error) {
	sub.To = strings.TrimSpace(sub.To)
	toEl, err := addressElement(sub.To)
	if err != nil {
		return nil, fmt.Errorf("%w: recipient: %w", ErrBadSubmission, err)
	}
	b := &builtSubmit{cfg: &s.cfg, sub: sub, toElement: toEl, contentID: "content-" + newID()}
	if s.cfg.SenderAddress != "" {
		b.fromElement, _ = addressElement(s.cfg.SenderAddress) // checked in NewSubmitter
	}
	// Invalid UTF-8 would make the text part lie about its charset; the
	// subject goes through esc, which replaces what XML cannot carry.
	text := strings.ToValidUTF8(sub.Text, "\uFFFD")
	if text == "" && len(sub.Image) == 0 {
		return nil, fmt.Errorf("%w: neither text nor image to send", ErrBadSubmission)
	}
	if len(sub.Image) == 0 {
		// Text alone goes as a single part: every MMSC and handset shows
		// it, and a SMIL with one text region adds nothing.
		b.contentType = "text/plain; charset=utf-8"
		b.content = []byte(text)
		b.contentCTE = textCTE(text)
		return b, nil
	}
	imgType := strings.ToLower(strings.TrimSpace(sub.ImageType))
	if imgType == "" {
		imgType, _, _ = strings.Cut(http.DetectContentType(sub.Image), ";")
	}
	if mt, _, err := mime.ParseMediaType(imgType); err != nil || !strings.HasPrefix(mt, "image/") {
		return nil, fmt.Errorf("%w: image type %q is not image/…", ErrBadSubmission, imgType)
	}
	b.contentType, b.content, err = relatedContent(text, sub.Image, imgType)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// relatedContent lays text and picture out as MMS clients expect them:
// multipart/related with a SMIL presentation as its start, as in the
// shape MMSCs were tested with (fixtures: submit-req-reply).
func relatedContent(text string, img []byte, imgType string) (contentType string, body []byte, err error) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	smil := smilFor(text != "")
	parts := []struct {
		header textproto.MIMEHeader
		body   []byte
	}{
		{textproto.MIMEHeader{
			"Content-Type": {"application/smil; charset=utf-8"},
			"Content-Id":   {"<smil>"},
		}, []byte(smil)},
		{textproto.MIMEHeader{
			"Content-Type":              {imgType},
			"Content-Id":                {"<image>"},
			"Content-Location":          {"image" + imageExt(imgType)},
			"Content-Transfer-Encoding": {"base64"},
		}, base64Lines(img)},
	}
	if text != "" {
		h := textproto.MIMEHeader{
			"Content-Type":     {"text/plain; charset=utf-8"},
			"Content-Id":       {"<text>"},
			"Content-Location": {"text.txt"},
		}
		if cte := textCTE(text); cte != "" {
			h.Set("Content-Transfer-Encoding", cte)
		}
		parts = append(parts, struct {
			header textproto.MIMEHeader
			body   []byte
		}{h, []byte(text)})
	}
	for _, p := range parts {
		pw, err := w.CreatePart(p.header)
		if err != nil {
			return "", nil, err
		}
		if _, err := pw.Write(p.body); err != nil {
			return "", nil, err
		}
	}
	if err := w.Close(); err != nil {
		return "", nil, err
	}
	ct := mime.FormatMediaType("multipart/related", map[string]string{
		"type":     "application/smil",
		"start":    "<smil>",
		"boundary": w.Boundary(),
	})
	return ct, buf.Bytes(), nil
}

// smilFor is the one-slide presentation: the picture above the text.
func smilFor(withText bool) string {
	var b strings.Builder
	b.WriteString(`<smil><head><layout><root-layout width="320" height="480"/>`)
	b.WriteString(`<region id="Image" top="0" left="0" width="100%" height="70%" fit="meet"/>`)
	if withText {
		b.WriteString(`<region id="Text" top="70%" left="0" width="100%" height="30%" fit="scroll"/>`)
	}
	b.WriteString(`</layout></head><body><par dur="5000ms"><img src="cid:image" region="Image"/>`)
	if withText {
		b.WriteString(`<text src="cid:text" region="Text"/>`)
	}
	b.WriteString(`</par></body></smil>`)
	return b.String()
}

// textCTE labels text that is not plain ASCII as 8bit. HTTP carries any
// byte, but MIME stacks in MMSCs still look for the label before they
// trust a byte above 127.
func textCTE(text string) string {
	for i := 0; i < len(text); i++ {
		if text[i] >= utf8.RuneSelf {
			return "8bit"
		}
	}
	return ""
}

func imageExt(mt string) string {
	switch mt {
	case "image/jpeg", "image/jpg":
		return ".jpg"
	case "image/png":
		return ".png"
	case "image/gif":
		return ".gif"
	case "image/webp":
		return ".webp"
	}
	return ""
}

// base64Lines encodes b in lines of 76 characters (RFC 2045 §6.8): some
// MMSC MIME readers have line buffers sized for it.
func base64Lines(b []byte) []byte {
	enc := base64.StdEncoding.EncodeToString(b)
	var out bytes.Buffer
	out.Grow(len(enc) + len(enc)/76*2 + 2)
	for len(enc) > 76 {
		out.WriteString(enc[:76])
		out.WriteString("\r\n")
		enc = enc[76:]
	}
	out.WriteString(enc)
	return out.Bytes()
}

// request is the HTTP body of one attempt and its Content-Type.
func (b *builtSubmit) request(tx string, now time.Time) (contentType string, body []byte) {
	soapID := "soap-" + tx
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	// Writes to a bytes.Buffer cannot fail, so errors are not checked.
	pw, _ := w.CreatePart(textproto.MIMEHeader{
		"Content-Type": {`text/xml; charset="utf-8"`},
		"Content-Id":   {"<" + soapID + ">"},
	})
	_, _ = pw.Write(b.envelope(tx, now))
	h := textproto.MIMEHeader{
		"Content-Type": {b.contentType},
		"Content-Id":   {"<" + b.contentID + ">"},
	}
	if b.contentCTE != "" {
		h.Set("Content-Transfer-Encoding", b.contentCTE)
	}
	pw, _ = w.CreatePart(h)
	_, _ = pw.Write(b.content)
	_ = w.Close()
	return mime.FormatMediaType("multipart/related", map[string]string{
		"type":     "text/xml",
		"start":    "<" + soapID + ">",
		"boundary": w.Boundary(),
	}), buf.Bytes()
}

// envelope writes the SOAP part. Like answer.marshal it is written by hand
// so the layout is the one MMSCs are tested against, and the elements come
// in the schema's sequence order, which strict MMSCs validate.
func (b *builtSubmit) envelope(tx string, now time.Time) []byte {
	c, sub := b.cfg, b.sub
	var w strings.Builder
	line := func(indent int, s string) {
		w.WriteString(strings.Repeat("  ", indent))
		w.WriteString(s)
		w.WriteString("\n")
	}
	elem := func(indent int, name, value string) {
		line(indent, "<"+name+">"+esc(value)+"</"+name+">")
	}
	w.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	line(0, `<env:Envelope xmlns:env="`+NSEnvelope+`">`)
	line(1, `<env:Header>`)
	line(2, `<mm7:TransactionID xmlns:mm7="`+esc(c.Namespace)+`" env:mustUnderstand="1">`+esc(tx)+`</mm7:TransactionID>`)
	line(1, `</env:Header>`)
	line(1, `<env:Body>`)
	line(2, `<SubmitReq xmlns="`+esc(c.Namespace)+`">`)
	elem(3, "MM7Version", c.MM7Version)
	line(3, "<SenderIdentification>")
	if c.VASPID != "" {
		elem(4, "VASPID", c.VASPID)
	}
	if c.VASID != "" {
		elem(4, "VASID", c.VASID)
	}
	if c.SenderAddress != "" {
		line(4, "<SenderAddress>")
		elem(5, b.fromElement, c.SenderAddress)
		line(4, "</SenderAddress>")
	}
	line(3, "</SenderIdentification>")
	line(3, "<Recipients>")
	line(4, "<To>")
	elem(5, b.toElement, sub.To)
	line(4, "</To>")
	line(3, "</Recipients>")
	if c.ServiceCode != "" {
		elem(3, "ServiceCode", c.ServiceCode)
	}
	if sub.LinkedID != "" {
		elem(3, "LinkedID", sub.LinkedID)
	}
	// Informational: a service message, not personal mail; MMSCs and
	// handsets treat it accordingly (no auto-download refusal, no reply).
	elem(3, "MessageClass", "Informational")
	elem(3, "TimeStamp", now.UTC().Format(time.RFC3339))
	elem(3, "DeliveryReport", fmt.Sprint(sub.DeliveryReport))
	elem(3, "Priority", "Normal")
	if sub.Subject != "" {
		elem(3, "Subject", sub.Subject)
	}
	// allowAdaptations lets the MMSC scale the picture for the handset.
	line(3, `<Content href="cid:`+esc(b.contentID)+`" allowAdaptations="true"/>`)
	line(2, `</SubmitReq>`)
	line(1, `</env:Body>`)
	line(0, `</env:Envelope>`)
	return []byte(w.String())
}

// addressElement is the MM7 element an address goes in: "+digits" is a
// Number, digits only a ShortCode, "local@domain" an RFC2822Address.
// Anything else is refused rather than guessed: a national number without
// its country code would reach the wrong phone or none.
func addressElement(a string) (string, error) {
	switch {
	case a == "":
		return "", fmt.Errorf("empty address")
	case strings.Contains(a, "@"):
		if strings.ContainsAny(a, " <>\"\r\n\t") || strings.HasPrefix(a, "@") || strings.HasSuffix(a, "@") {
			return "", fmt.Errorf("address %q is not an e-mail address", a)
		}
		return "RFC2822Address", nil
	case a[0] == '+':
		if n := len(a) - 1; n < 7 || n > 15 || !allDigits(a[1:]) {
			return "", fmt.Errorf("number %q is not E.164 (+ and 7 to 15 digits)", a)
		}
		return "Number", nil
	case allDigits(a) && len(a) <= 15:
		return "ShortCode", nil
	}
	return "", fmt.Errorf("address %q is neither an E.164 number (+…) nor a short code", a)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// newID is a random hex id for TransactionIDs and Content-IDs: unique
// without coordination between processes sharing one MMSC account.
func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	return hex.EncodeToString(b[:])
}
