package mm7

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strconv"
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
	smil, err := smilFor(text != "")
	if err != nil {
		return "", nil, err
	}
	parts := []struct {
		header textproto.MIMEHeader
		body   []byte
	}{
		{textproto.MIMEHeader{
			"Content-Type": {"application/smil; charset=utf-8"},
			"Content-Id":   {"<smil>"},
		}, smil},
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

type smil struct {
	XMLName xml.Name `xml:"smil"`
	Root    struct {
		Width  int `xml:"width,attr"`
		Height int `xml:"height,attr"`
	} `xml:"head>layout>root-layout"`
	Regions []smilRegion `xml:"head>layout>region"`
	Par     struct {
		Dur  string   `xml:"dur,attr"`
		Img  smilRef  `xml:"img"`
		Text *smilRef `xml:"text"`
	} `xml:"body>par"`
}

type smilRegion struct {
	ID     string `xml:"id,attr"`
	Top    string `xml:"top,attr"`
	Left   string `xml:"left,attr"`
	Width  string `xml:"width,attr"`
	Height string `xml:"height,attr"`
	Fit    string `xml:"fit,attr"`
}

type smilRef struct {
	Src    string `xml:"src,attr"`
	Region string `xml:"region,attr"`
}

// smilFor is the one-slide presentation: the picture above the text.
func smilFor(withText bool) ([]byte, error) {
	var p smil
	p.Root.Width, p.Root.Height = 320, 480
	p.Regions = []smilRegion{{"Image", "0", "0", "100%", "70%", "meet"}}
	p.Par.Dur = "5000ms"
	p.Par.Img = smilRef{"cid:image", "Image"}
	if withText {
		p.Regions = append(p.Regions, smilRegion{"Text", "70%", "0", "100%", "30%", "scroll"})
		p.Par.Text = &smilRef{"cid:text", "Text"}
	}
	b, err := xml.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("mm7: marshal smil: %w", err)
	}
	return b, nil
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
func (b *builtSubmit) request(tx string, now time.Time) (contentType string, body []byte, err error) {
	env, err := b.envelope(tx, now)
	if err != nil {
		return "", nil, err
	}
	soapID := "soap-" + tx
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	// Writes to a bytes.Buffer cannot fail, so errors are not checked.
	pw, _ := w.CreatePart(textproto.MIMEHeader{
		"Content-Type": {`text/xml; charset="utf-8"`},
		"Content-Id":   {"<" + soapID + ">"},
	})
	_, _ = pw.Write(env)
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
	}), buf.Bytes(), nil
}

// envelope writes the SOAP part, in the layout of answer.marshal, with
// the elements in the schema's sequence order, which strict MMSCs
// validate.
func (b *builtSubmit) envelope(tx string, now time.Time) ([]byte, error) {
	c, sub := b.cfg, b.sub
	w := newSOAPWriter()
	w.start("env:Envelope", "xmlns:env", NSEnvelope)
	w.start("env:Header")
	w.text("mm7:TransactionID", tx, "xmlns:mm7", c.Namespace, "env:mustUnderstand", "1")
	w.end("env:Header")
	w.start("env:Body")
	w.start("SubmitReq", "xmlns", c.Namespace)
	w.text("MM7Version", c.MM7Version)
	w.start("SenderIdentification")
	if c.VASPID != "" {
		w.text("VASPID", c.VASPID)
	}
	if c.VASID != "" {
		w.text("VASID", c.VASID)
	}
	if c.SenderAddress != "" {
		w.start("SenderAddress")
		w.text(b.fromElement, c.SenderAddress)
		w.end("SenderAddress")
	}
	w.end("SenderIdentification")
	w.start("Recipients")
	w.start("To")
	w.text(b.toElement, sub.To)
	w.end("To")
	w.end("Recipients")
	if c.ServiceCode != "" {
		w.text("ServiceCode", c.ServiceCode)
	}
	if sub.LinkedID != "" {
		w.text("LinkedID", sub.LinkedID)
	}
	// Informational: a service message, not personal mail; MMSCs and
	// handsets treat it accordingly (no auto-download refusal, no reply).
	w.text("MessageClass", "Informational")
	w.text("TimeStamp", now.UTC().Format(time.RFC3339))
	w.text("DeliveryReport", strconv.FormatBool(sub.DeliveryReport))
	w.text("Priority", "Normal")
	if sub.Subject != "" {
		w.text("Subject", sub.Subject)
	}
	// allowAdaptations lets the MMSC scale the picture for the handset.
	w.start("Content", "href", "cid:"+b.contentID, "allowAdaptations", "true")
	w.end("Content")
	w.end("SubmitReq")
	w.end("env:Body")
	w.end("env:Envelope")
	out, err := w.bytes()
	if err != nil {
		return nil, fmt.Errorf("mm7: marshal SubmitReq: %w", err)
	}
	return out, nil
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
