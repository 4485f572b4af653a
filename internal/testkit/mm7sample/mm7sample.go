package mm7sample

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"time"
)

// Namespace is the REL-6 MM7 schema namespace most MMSCs send today.
const Namespace = "http://www.3gpp.org/ftp/Specs/archive/23_series/23.140/schema/REL-6-MM7-1-4"

// Deliver describes one DeliverReq.
type Deliver struct {
	TransactionID string
	MessageID     string
	Sender        string // as the MMSC writes it, e.g. "+12025550143"
	Recipient     string
	Subject       string
	Text          string
	Image         []byte // JPEG, sent base64 in a multipart/related with SMIL
	ImageType     string // default image/jpeg
	VCard         string // a .vcf, sent as text/x-vcard
}

// Build returns the Content-Type header and body of the HTTP POST.
func (d Deliver) Build() (contentType string, body []byte) {
	const outer, inner = "----=_mm7_outer_boundary", "----=_mm7_inner_boundary"
	if d.ImageType == "" {
		d.ImageType = "image/jpeg"
	}
	if d.Recipient == "" {
		d.Recipient = "12345"
	}
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("--%s\r\nContent-Type: text/xml; charset=utf-8\r\nContent-ID: <mm7-soap>\r\n\r\n", outer)
	w(`<?xml version="1.0" encoding="UTF-8"?>`+"\r\n"+
		`<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/">`+
		`<env:Header><mm7:TransactionID xmlns:mm7="%[1]s" env:mustUnderstand="1">%[2]s</mm7:TransactionID></env:Header>`+
		`<env:Body><DeliverReq xmlns="%[1]s"><MM7Version>6.8.0</MM7Version><MMSRelayServerID>demo-mmsc</MMSRelayServerID>`+
		`<LinkedID>%[3]s</LinkedID><Sender><Number>%[4]s</Number></Sender>`+
		`<Recipients><To><ShortCode>%[5]s</ShortCode></To></Recipients>`+
		`<TimeStamp>%[7]s</TimeStamp><Priority>Normal</Priority><Subject>%[6]s</Subject>`+
		`<Content href="cid:mms-content" allowAdaptations="true"/></DeliverReq></env:Body></env:Envelope>`+"\r\n",
		Namespace, esc(d.TransactionID), esc(d.MessageID), esc(d.Sender), esc(d.Recipient), esc(d.Subject),
		time.Now().UTC().Format(time.RFC3339))
	w("--%s\r\nContent-Type: multipart/related; type=\"application/smil\"; start=\"<smil>\"; boundary=\"%s\"\r\nContent-ID: <mms-content>\r\n\r\n", outer, inner)
	w("--%s\r\nContent-Type: application/smil\r\nContent-ID: <smil>\r\n\r\n<smil><body><par dur=\"5000ms\"><img src=\"photo.jpg\"/><text src=\"text.txt\"/></par></body></smil>\r\n", inner)
	if len(d.Image) > 0 {
		w("--%s\r\nContent-Type: %s; name=photo.jpg\r\nContent-ID: <photo.jpg>\r\nContent-Location: photo.jpg\r\nContent-Transfer-Encoding: base64\r\n\r\n", inner, d.ImageType)
		enc := base64.StdEncoding.EncodeToString(d.Image)
		for len(enc) > 76 {
			b.WriteString(enc[:76] + "\r\n")
			enc = enc[76:]
		}
		b.WriteString(enc + "\r\n")
	}
	if d.Text != "" {
		w("--%s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-ID: <text.txt>\r\nContent-Location: text.txt\r\n\r\n%s\r\n", inner, d.Text)
	}
	if d.VCard != "" {
		w("--%s\r\nContent-Type: text/x-vcard; charset=utf-8; name=contact.vcf\r\nContent-ID: <contact.vcf>\r\n\r\n%s\r\n", inner, strings.ReplaceAll(strings.TrimSpace(d.VCard), "\n", "\r\n"))
	}
	w("--%s--\r\n--%s--\r\n", inner, outer)
	return fmt.Sprintf(`multipart/related; type="text/xml"; start="<mm7-soap>"; boundary="%s"`, outer), b.Bytes()
}

// Post sends d to url with HTTP Basic credentials and returns the HTTP
// status and body of the answer.
func Post(ctx context.Context, client *http.Client, url, user, password string, d Deliver) (int, []byte, error) {
	ct, body := d.Build()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", ct)
	req.Header.Set("SOAPAction", `""`)
	req.SetBasicAuth(user, password)
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, rb, err
}

// StatusCode pulls the MM7 StatusCode out of an answer body, or "".
func StatusCode(body []byte) string {
	s := string(body)
	i := strings.Index(s, "StatusCode>")
	if i < 0 {
		return ""
	}
	s = s[i+len("StatusCode>"):]
	if j := strings.Index(s, "<"); j >= 0 {
		return strings.TrimSpace(s[:j])
	}
	return ""
}

// Photo returns a deterministic photo-like JPEG (smooth gradients, a few
// shapes, sensor-like noise) of w×h pixels at quality 90, so benchmarks
// and tests see realistic entropy without shipping large files.
func Photo(w, h int, seed uint64) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	cx, cy, r := float64(w)*0.6, float64(h)*0.45, float64(min(w, h))*0.3
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			fx, fy := float64(x)/float64(w), float64(y)/float64(h)
			R := 60 + 150*fy + 30*math.Sin(fx*9)
			G := 90 + 100*(1-fy) + 25*math.Cos(fy*7+fx*3)
			B := 140 + 90*fx
			if d := math.Hypot(float64(x)-cx, float64(y)-cy); d < r {
				k := 1 - d/r
				R, G, B = R+90*k, G+60*k, B-40*k
			}
			n := rng.NormFloat64() * 6
			img.Set(x, y, color.RGBA{clamp(R + n), clamp(G + n), clamp(B + n), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		panic(err) // encoding to memory cannot fail
	}
	return b.Bytes()
}

func clamp(v float64) uint8 {
	switch {
	case v < 0:
		return 0
	case v > 255:
		return 255
	}
	return uint8(v)
}

func esc(s string) string {
	var b strings.Builder
	_ = xmlEscape(&b, s)
	return b.String()
}

func xmlEscape(b *strings.Builder, s string) error {
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '"':
			b.WriteString("&quot;")
		default:
			b.WriteRune(r)
		}
	}
	return nil
}

// ReadCapture reads a captured MMSC request, NAME.headers and NAME.body
// (base is NAME with its directory), as one HTTP request ready to be
// served or, given a URL, sent.
func ReadCapture(base string) (*http.Request, error) {
	head, err := os.ReadFile(base + ".headers")
	if err != nil {
		return nil, fmt.Errorf("mm7sample: capture: %w", err)
	}
	body, err := os.ReadFile(base + ".body")
	if err != nil {
		return nil, fmt.Errorf("mm7sample: capture: %w", err)
	}
	r, err := http.ReadRequest(bufio.NewReader(io.MultiReader(bytes.NewReader(head), bytes.NewReader(body))))
	if err != nil {
		return nil, fmt.Errorf("mm7sample: capture %s: read request: %w", base, err)
	}
	r.RequestURI = ""
	return r, nil
}
