package mm7

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	nsRel6 = NSPrefix + "REL-6-MM7-1-4"
	nsRel5 = NSPrefix + "REL-5-MM7-1-2"
)

// wantSubmit is what the fake MMSC expects to find in every SubmitReq.
type wantSubmit struct {
	user, pass            string
	namespace, version    string
	vaspID, vasID         string
	sender, senderElement string
	to, toElement         string
	serviceCode, linkedID string
	subject, text         string
	timeStamp             string
	deliveryReport        bool
	hasImage              bool
	image                 []byte // compared when set
	imageType             string
}

// Parsed SubmitReq, read with encoding/xml alone so that the check does
// not share code with what it checks.
type xEnvelope struct {
	XMLName xml.Name `xml:"http://schemas.xmlsoap.org/soap/envelope/ Envelope"`
	Header  struct {
		TX []struct {
			XMLName        xml.Name
			MustUnderstand string `xml:"http://schemas.xmlsoap.org/soap/envelope/ mustUnderstand,attr"`
			Value          string `xml:",chardata"`
		} `xml:"TransactionID"`
	} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Header"`
	Body struct {
		Reqs []xSubmitReq `xml:",any"`
	} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
}

type xSubmitReq struct {
	XMLName              xml.Name
	MM7Version           []string
	SenderIdentification struct {
		VASPID, VASID []string
		SenderAddress []xAddr
	}
	Recipients struct {
		To, Cc, Bcc []xAddr
	}
	ServiceCode, LinkedID, MessageClass, TimeStamp []string
	DeliveryReport, Priority, Subject              []string
	Content                                        []struct {
		Href             string `xml:"href,attr"`
		AllowAdaptations string `xml:"allowAdaptations,attr"`
	}
}

type xAddr struct {
	Kids []struct {
		XMLName xml.Name
		Value   string `xml:",chardata"`
	} `xml:",any"`
}

type mimePart struct {
	header map[string][]string
	body   []byte
}

func (p mimePart) get(k string) string {
	if v := p.header[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func readParts(t *testing.T, body []byte, boundary string) []mimePart {
	t.Helper()
	var out []mimePart
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Errorf("multipart: %v", err)
			return out
		}
		b, err := io.ReadAll(p)
		if err != nil {
			t.Errorf("multipart part: %v", err)
		}
		out = append(out, mimePart{header: p.Header, body: b})
	}
}

// one returns the only value of an optional, non-repeating element.
func one(t *testing.T, name string, vs []string) string {
	t.Helper()
	if len(vs) > 1 {
		t.Errorf("%s appears %d times", name, len(vs))
	}
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

func addrOf(t *testing.T, name string, as []xAddr) (elem, value string) {
	t.Helper()
	if len(as) != 1 || len(as[0].Kids) != 1 {
		t.Errorf("%s: want exactly one address element, got %+v", name, as)
		return "", ""
	}
	return as[0].Kids[0].XMLName.Local, as[0].Kids[0].Value
}

// checkSubmitReq checks every field of one SubmitReq against w and returns
// its TransactionID. It reports with t.Errorf, so a handler goroutine may
// call it.
func checkSubmitReq(t *testing.T, r *http.Request, body []byte, w wantSubmit) string {
	t.Helper()
	if r.Method != http.MethodPost {
		t.Errorf("method %s", r.Method)
	}
	if u, p, ok := r.BasicAuth(); !ok || u != w.user || p != w.pass {
		t.Errorf("Basic auth = %q %q %v, want %q %q", u, p, ok, w.user, w.pass)
	}
	if sa, ok := r.Header["Soapaction"]; !ok || len(sa) != 1 || sa[0] != `""` {
		t.Errorf("SOAPAction = %q, want \"\"", sa)
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/related" || params["type"] != "text/xml" || params["boundary"] == "" {
		t.Errorf("Content-Type %q: want multipart/related; type=\"text/xml\"; boundary=…", r.Header.Get("Content-Type"))
		return ""
	}
	start := params["start"]
	if !strings.HasPrefix(start, "<") || !strings.HasSuffix(start, ">") {
		t.Errorf("start %q: want <content-id>", start)
	}
	parts := readParts(t, body, params["boundary"])
	if len(parts) != 2 {
		t.Errorf("%d MIME parts, want 2 (SOAP, content)", len(parts))
		return ""
	}
	root, content := parts[0], parts[1]
	if root.get("Content-Id") != start {
		t.Errorf("first part Content-ID %q, want the start %q", root.get("Content-Id"), start)
	}
	if rmt, rp, err := mime.ParseMediaType(root.get("Content-Type")); err != nil || rmt != "text/xml" || !strings.EqualFold(rp["charset"], "utf-8") {
		t.Errorf("SOAP part Content-Type %q", root.get("Content-Type"))
	}
	if bytes.Contains(bytes.ToUpper(root.body), []byte("<!DOCTYPE")) {
		t.Error("SOAP part has a DOCTYPE")
	}

	var env xEnvelope
	d := xml.NewDecoder(bytes.NewReader(root.body))
	d.Strict = true
	if err := d.Decode(&env); err != nil {
		t.Errorf("SOAP part: %v\n%s", err, root.body)
		return ""
	}
	if len(env.Header.TX) != 1 {
		t.Errorf("%d TransactionIDs in the Header, want 1", len(env.Header.TX))
		return ""
	}
	tx := env.Header.TX[0]
	if tx.XMLName.Space != w.namespace {
		t.Errorf("TransactionID namespace %q, want %q", tx.XMLName.Space, w.namespace)
	}
	if tx.MustUnderstand != "1" {
		t.Errorf("TransactionID mustUnderstand = %q, want env:mustUnderstand=\"1\"", tx.MustUnderstand)
	}
	txID := strings.TrimSpace(tx.Value)
	if txID == "" {
		t.Error("empty TransactionID")
	}
	if len(env.Body.Reqs) != 1 {
		t.Errorf("%d elements in the Body, want 1", len(env.Body.Reqs))
		return txID
	}
	req := env.Body.Reqs[0]
	if req.XMLName.Space != w.namespace || req.XMLName.Local != "SubmitReq" {
		t.Errorf("Body holds {%s}%s, want {%s}SubmitReq", req.XMLName.Space, req.XMLName.Local, w.namespace)
	}
	checkOrder(t, root.body, w)

	eq := func(name, got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	eq("MM7Version", one(t, "MM7Version", req.MM7Version), w.version)
	si := req.SenderIdentification
	eq("VASPID", one(t, "VASPID", si.VASPID), w.vaspID)
	eq("VASID", one(t, "VASID", si.VASID), w.vasID)
	if w.sender != "" {
		el, v := addrOf(t, "SenderAddress", si.SenderAddress)
		eq("SenderAddress element", el, w.senderElement)
		eq("SenderAddress", v, w.sender)
	} else if len(si.SenderAddress) != 0 {
		t.Error("SenderAddress present, none configured")
	}
	el, v := addrOf(t, "Recipients/To", req.Recipients.To)
	eq("To element", el, w.toElement)
	eq("To", v, w.to)
	if len(req.Recipients.Cc)+len(req.Recipients.Bcc) != 0 {
		t.Error("Cc or Bcc present")
	}
	eq("ServiceCode", one(t, "ServiceCode", req.ServiceCode), w.serviceCode)
	eq("LinkedID", one(t, "LinkedID", req.LinkedID), w.linkedID)
	eq("MessageClass", one(t, "MessageClass", req.MessageClass), "Informational")
	eq("TimeStamp", one(t, "TimeStamp", req.TimeStamp), w.timeStamp)
	eq("DeliveryReport", one(t, "DeliveryReport", req.DeliveryReport), fmt.Sprint(w.deliveryReport))
	eq("Priority", one(t, "Priority", req.Priority), "Normal")
	eq("Subject", one(t, "Subject", req.Subject), w.subject)
	if len(req.Content) != 1 {
		t.Errorf("%d Content elements, want 1", len(req.Content))
		return txID
	}
	href := req.Content[0].Href
	if !strings.HasPrefix(href, "cid:") {
		t.Errorf("Content href %q: want cid:…", href)
	}
	eq("allowAdaptations", req.Content[0].AllowAdaptations, "true")
	eq("content part Content-ID", content.get("Content-Id"), "<"+strings.TrimPrefix(href, "cid:")+">")
	checkContent(t, content, w)
	return txID
}

// checkOrder checks that the SubmitReq's children come in the schema's
// sequence, all in the MM7 namespace.
func checkOrder(t *testing.T, soap []byte, w wantSubmit) {
	t.Helper()
	want := []string{"MM7Version", "SenderIdentification", "Recipients"}
	if w.serviceCode != "" {
		want = append(want, "ServiceCode")
	}
	if w.linkedID != "" {
		want = append(want, "LinkedID")
	}
	want = append(want, "MessageClass", "TimeStamp", "DeliveryReport", "Priority")
	if w.subject != "" {
		want = append(want, "Subject")
	}
	want = append(want, "Content")
	var got []string
	d := xml.NewDecoder(bytes.NewReader(soap))
	depth, inReq := 0, false
	for {
		tok, err := d.Token()
		if err != nil {
			break
		}
		switch e := tok.(type) {
		case xml.StartElement:
			depth++
			if e.Name.Local == "SubmitReq" {
				inReq, depth = true, 0
				continue
			}
			if inReq && depth == 1 {
				got = append(got, e.Name.Local)
				if e.Name.Space != w.namespace {
					t.Errorf("%s in namespace %q, want %q", e.Name.Local, e.Name.Space, w.namespace)
				}
			}
		case xml.EndElement:
			depth--
			if e.Name.Local == "SubmitReq" {
				inReq = false
			}
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("SubmitReq children\n got %v\nwant %v", got, want)
	}
}

// checkContent checks the content part: text/plain alone, or
// multipart/related with SMIL, text and image.
func checkContent(t *testing.T, content mimePart, w wantSubmit) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(content.get("Content-Type"))
	if err != nil {
		t.Errorf("content Content-Type %q: %v", content.get("Content-Type"), err)
		return
	}
	if !w.hasImage {
		if mt != "text/plain" || !strings.EqualFold(params["charset"], "utf-8") {
			t.Errorf("text-only content is %q, want text/plain; charset=utf-8", content.get("Content-Type"))
		}
		checkText(t, content, w.text)
		return
	}
	if mt != "multipart/related" || params["type"] != "application/smil" {
		t.Errorf("content is %q, want multipart/related; type=\"application/smil\"", content.get("Content-Type"))
		return
	}
	byID := map[string]mimePart{}
	var smil, text, img *mimePart
	inner := readParts(t, content.body, params["boundary"])
	for i, p := range inner {
		byID[p.get("Content-Id")] = p
		pmt, _, _ := mime.ParseMediaType(p.get("Content-Type"))
		switch {
		case pmt == "application/smil":
			smil = &inner[i]
		case pmt == "text/plain":
			text = &inner[i]
		case strings.HasPrefix(pmt, "image/"):
			img = &inner[i]
			if pmt != w.imageType {
				t.Errorf("image part is %s, want %s", pmt, w.imageType)
			}
		default:
			t.Errorf("unexpected content part %q", p.get("Content-Type"))
		}
	}
	if smil == nil || img == nil || (text == nil) != (w.text == "") {
		t.Errorf("content parts: smil %v, image %v, text %v", smil != nil, img != nil, text != nil)
		return
	}
	if smil.get("Content-Id") != params["start"] {
		t.Errorf("start %q is not the SMIL part %q", params["start"], smil.get("Content-Id"))
	}
	// Every SMIL reference must resolve to a part, and every media part
	// must be referenced.
	refs := 0
	d := xml.NewDecoder(bytes.NewReader(smil.body))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SMIL: %v in %s", err, smil.body)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		for _, a := range se.Attr {
			id, isCID := strings.CutPrefix(a.Value, "cid:")
			if a.Name.Local != "src" || !isCID {
				continue
			}
			if _, ok := byID["<"+id+">"]; !ok {
				t.Errorf("SMIL refers to cid:%s, which no part has", id)
			}
			refs++
		}
	}
	if want := len(inner) - 1; refs != want {
		t.Errorf("SMIL has %d references, want %d", refs, want)
	}
	if text != nil {
		if _, tp, _ := mime.ParseMediaType(text.get("Content-Type")); !strings.EqualFold(tp["charset"], "utf-8") {
			t.Errorf("text part %q: want charset=utf-8", text.get("Content-Type"))
		}
		checkText(t, *text, w.text)
	}
	if cte := strings.ToLower(img.get("Content-Transfer-Encoding")); cte != "base64" {
		t.Errorf("image Content-Transfer-Encoding %q, want base64", cte)
	}
	for _, l := range bytes.Split(img.body, []byte("\r\n")) {
		if len(l) > 76 {
			t.Errorf("base64 line of %d characters", len(l))
			break
		}
	}
	data, err := base64.StdEncoding.DecodeString(strings.NewReplacer("\r", "", "\n", "").Replace(string(img.body)))
	if err != nil {
		t.Errorf("image base64: %v", err)
	}
	if w.image != nil && !bytes.Equal(data, w.image) {
		t.Errorf("image bytes differ: got %d bytes, want %d", len(data), len(w.image))
	}
	if _, format, err := image.DecodeConfig(bytes.NewReader(data)); err != nil || "image/"+format != w.imageType {
		t.Errorf("image does not decode as %s: %q %v", w.imageType, format, err)
	}
}

func checkText(t *testing.T, p mimePart, want string) {
	t.Helper()
	switch cte := strings.ToLower(p.get("Content-Transfer-Encoding")); cte {
	case "", "7bit", "8bit", "binary":
	default:
		t.Errorf("text Content-Transfer-Encoding %q", cte)
	}
	got := strings.TrimSuffix(string(p.body), "\r\n") // the reference ends its text with a line break
	if got != want {
		t.Errorf("text = %q, want %q", got, want)
	}
}

// TestSubmitReferenceShape runs the fake MMSC's check over the shared
// reference SubmitReq, so that the check accepts the shape MMSCs were
// tested with, and what Submitter writes passes the same check.
func TestSubmitReferenceShape(t *testing.T) {
	head, err := os.ReadFile("testdata/submit/submit-req-reply.headers")
	if err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile("testdata/submit/submit-req-reply.body")
	if err != nil {
		t.Fatal(err)
	}
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(head)))
	if err != nil {
		t.Fatal(err)
	}
	tx := checkSubmitReq(t, r, body, wantSubmit{
		user: "xmpp-gw", pass: "vasp-secret",
		namespace: nsRel6, version: "6.8.0",
		vaspID: "xmpp-gw", vasID: "avatar",
		sender: "24273", senderElement: "ShortCode",
		to: "+12025550143", toElement: "Number",
		serviceCode: "avatar-ack", linkedID: "LNK-20240514-092107-4471",
		subject: "Profile updated", text: "Avatar updated. Reply STOP to opt out.",
		timeStamp: "2024-05-14T09:21:09Z", deliveryReport: true,
		hasImage: true, imageType: "image/jpeg",
	})
	if tx != "vasp-sub-000042" {
		t.Errorf("TransactionID %q", tx)
	}
}

// fakeMMSC is an MM7 relay server: it checks each SubmitReq against want
// and answers with answer(n, tx) for the n-th request (1-based).
type fakeMMSC struct {
	t      *testing.T
	want   wantSubmit
	answer func(w http.ResponseWriter, r *http.Request, n int, tx string)

	mu  sync.Mutex
	txs []string
	srv *httptest.Server
}

func newFakeMMSC(t *testing.T, want wantSubmit, answer func(w http.ResponseWriter, r *http.Request, n int, tx string)) *fakeMMSC {
	t.Helper()
	f := &fakeMMSC{t: t, want: want, answer: answer}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeMMSC) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		f.t.Errorf("fake MMSC: read body: %v", err)
		return
	}
	tx := checkSubmitReq(f.t, r, body, f.want)
	f.mu.Lock()
	for _, old := range f.txs {
		if old == tx {
			f.t.Errorf("TransactionID %q used twice", tx)
		}
	}
	f.txs = append(f.txs, tx)
	n := len(f.txs)
	f.mu.Unlock()
	f.answer(w, r, n, tx)
}

func (f *fakeMMSC) requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.txs)
}

func writeXML(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, body)
}

func submitRspXML(ns, tx string, code StatusCode, msgID string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/">
 <env:Header><mm7:TransactionID xmlns:mm7="` + ns + `" env:mustUnderstand="1">` + tx + `</mm7:TransactionID></env:Header>
 <env:Body><SubmitRsp xmlns="` + ns + `"><MM7Version>6.8.0</MM7Version>
  <Status><StatusCode>` + fmt.Sprint(int(code)) + `</StatusCode><StatusText>` + code.Text() + `</StatusText></Status>
  <MessageID>` + msgID + `</MessageID></SubmitRsp></env:Body>
</env:Envelope>`
}

func rsErrorFaultXML(ns, tx string, code StatusCode, details string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/">
 <env:Header><TransactionID xmlns="` + ns + `" env:mustUnderstand="1">` + tx + `</TransactionID></env:Header>
 <env:Body><env:Fault><faultcode>env:` + code.faultCode() + `</faultcode><faultstring>error</faultstring>
  <detail><RSErrorRsp xmlns="` + ns + `"><MM7Version>6.8.0</MM7Version>
   <Status><StatusCode>` + fmt.Sprint(int(code)) + `</StatusCode><StatusText>` + code.Text() + `</StatusText><Details>` + details + `</Details></Status>
  </RSErrorRsp></detail></env:Fault></env:Body>
</env:Envelope>`
}

var testNow = time.Date(2026, 3, 14, 15, 9, 26, 0, time.FixedZone("CET", 3600))

// testSubmitter returns a Submitter for f with fast retries.
func testSubmitter(t *testing.T, f *fakeMMSC, cfg SubmitConfig) *Submitter {
	t.Helper()
	cfg.URL = f.srv.URL + "/mm7"
	cfg.Username, cfg.Password = f.want.user, f.want.pass
	cfg.VASPID, cfg.VASID, cfg.SenderAddress = f.want.vaspID, f.want.vasID, f.want.sender
	cfg.ServiceCode = f.want.serviceCode
	if cfg.RetryMin == 0 {
		cfg.RetryMin, cfg.RetryMax = time.Millisecond, 4*time.Millisecond
	}
	s, err := NewSubmitter(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return testNow }
	return s
}

func testPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7)
	}
	img.Set(3, 3, color.RGBA{R: 255, A: 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// baseWant is a reply with every optional field set.
func baseWant(t *testing.T) (wantSubmit, Submission) {
	img := testPNG(t)
	w := wantSubmit{
		user: "vasp-user", pass: "s3cr3t:with colon",
		namespace: nsRel6, version: "6.8.0",
		vaspID: "mmsprofile", vasID: "avatar",
		sender: "24273", senderElement: "ShortCode",
		to: "+12025550143", toElement: "Number",
		serviceCode: "profile-reply", linkedID: "LNK-20260314-0001",
		subject: "Your link code <&>", text: "Code 4821 — reply LINK 4821 to confirm. Ünïcödé ✓\r\nSecond line.",
		timeStamp: "2026-03-14T14:09:26Z", deliveryReport: true,
		hasImage: true, image: img, imageType: "image/png",
	}
	sub := Submission{
		To: w.to, Subject: w.subject, Text: w.text, LinkedID: w.linkedID,
		Image: img, ImageType: "image/png", DeliveryReport: true,
	}
	return w, sub
}

func TestSubmitSuccess(t *testing.T) {
	want, sub := baseWant(t)
	f := newFakeMMSC(t, want, func(w http.ResponseWriter, r *http.Request, n int, tx string) {
		writeXML(w, 200, submitRspXML(nsRel6, tx, StatusSuccess, "MSG-0001"))
	})
	s := testSubmitter(t, f, SubmitConfig{})
	res, err := s.Submit(t.Context(), sub)
	if err != nil {
		t.Fatal(err)
	}
	if res != (SubmitResult{MessageID: "MSG-0001", Status: 1000, StatusText: "Success", Attempts: 1}) {
		t.Errorf("result %+v", res)
	}
}

func TestSubmitShapes(t *testing.T) {
	img := testPNG(t)
	for _, tc := range []struct {
		name   string
		cfg    SubmitConfig
		mutate func(w *wantSubmit, s *Submission)
	}{
		{"text only, REL-5 namespace", SubmitConfig{Namespace: nsRel5}, func(w *wantSubmit, s *Submission) {
			w.namespace, w.version = nsRel5, "5.3.0"
			w.hasImage, w.image, s.Image, s.ImageType = false, nil, nil, ""
		}},
		{"ASCII text only, no LinkedID, no subject, no delivery report", SubmitConfig{}, func(w *wantSubmit, s *Submission) {
			w.text, s.Text = "Send LINK 1234", "Send LINK 1234"
			w.linkedID, s.LinkedID = "", ""
			w.subject, s.Subject = "", ""
			w.deliveryReport, s.DeliveryReport = false, false
			w.hasImage, w.image, s.Image, s.ImageType = false, nil, nil, ""
		}},
		{"image only, type sniffed", SubmitConfig{}, func(w *wantSubmit, s *Submission) {
			w.text, s.Text, s.ImageType = "", "", ""
		}},
		{"number sender, short-code recipient, no ServiceCode or VASID", SubmitConfig{}, func(w *wantSubmit, s *Submission) {
			w.sender, w.senderElement = "+442071838750", "Number"
			w.to, w.toElement, s.To = "88888", "ShortCode", "88888"
			w.serviceCode, w.vasID = "", ""
			w.image, s.Image = img, img
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, sub := baseWant(t)
			tc.mutate(&want, &sub)
			f := newFakeMMSC(t, want, func(w http.ResponseWriter, r *http.Request, n int, tx string) {
				writeXML(w, 200, submitRspXML(want.namespace, tx, StatusSuccess, "M1"))
			})
			s := testSubmitter(t, f, tc.cfg)
			res, err := s.Submit(t.Context(), sub)
			if err != nil || res.MessageID != "M1" || res.Attempts != 1 {
				t.Fatalf("Submit = %+v, %v", res, err)
			}
		})
	}
}

func TestSubmitRetriesServiceUnavailable(t *testing.T) {
	want, sub := baseWant(t)
	f := newFakeMMSC(t, want, func(w http.ResponseWriter, r *http.Request, n int, tx string) {
		if n <= 2 {
			writeXML(w, 200, submitRspXML(nsRel6, tx, StatusServiceUnavailable, ""))
			return
		}
		writeXML(w, 200, submitRspXML(nsRel6, tx, StatusSuccess, "MSG-3"))
	})
	s := testSubmitter(t, f, SubmitConfig{Retries: 3})
	res, err := s.Submit(t.Context(), sub)
	if err != nil {
		t.Fatal(err)
	}
	if res.Attempts != 3 || res.MessageID != "MSG-3" || f.requests() != 3 {
		t.Errorf("result %+v after %d requests, want MSG-3 after 3", res, f.requests())
	}
}

func TestSubmitPermanentFault(t *testing.T) {
	want, sub := baseWant(t)
	f := newFakeMMSC(t, want, func(w http.ResponseWriter, r *http.Request, n int, tx string) {
		writeXML(w, 500, rsErrorFaultXML(nsRel6, tx, StatusAddressError, "unknown subscriber"))
	})
	s := testSubmitter(t, f, SubmitConfig{Retries: 5})
	res, err := s.Submit(t.Context(), sub)
	var se *SubmitError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want *SubmitError", err)
	}
	if se.Status != StatusAddressError || se.Temporary || se.HTTPStatus != 500 || se.Text != "Address Error: unknown subscriber" {
		t.Errorf("SubmitError %+v", se)
	}
	if res.Attempts != 1 || f.requests() != 1 || res.Status != StatusAddressError {
		t.Errorf("result %+v after %d requests, want 1 attempt", res, f.requests())
	}
	if !strings.HasPrefix(err.Error(), "mm7: submit to +12025550143: MMSC answered 2002") {
		t.Errorf("error text %q", err)
	}
}

func TestSubmitHTTPErrors(t *testing.T) {
	html := func(code int) func(w http.ResponseWriter, r *http.Request, n int, tx string) {
		return func(w http.ResponseWriter, r *http.Request, n int, tx string) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(code)
			_, _ = io.WriteString(w, "<html><body><h1>Error</h1></body></html>")
		}
	}
	t.Run("500 HTML then success", func(t *testing.T) {
		want, sub := baseWant(t)
		f := newFakeMMSC(t, want, func(w http.ResponseWriter, r *http.Request, n int, tx string) {
			if n == 1 {
				html(500)(w, r, n, tx)
				return
			}
			writeXML(w, 200, submitRspXML(nsRel6, tx, StatusSuccess, "M2"))
		})
		res, err := testSubmitter(t, f, SubmitConfig{}).Submit(t.Context(), sub)
		if err != nil || res.Attempts != 2 || res.MessageID != "M2" {
			t.Fatalf("Submit = %+v, %v", res, err)
		}
	})
	t.Run("503 every time", func(t *testing.T) {
		want, sub := baseWant(t)
		f := newFakeMMSC(t, want, html(503))
		res, err := testSubmitter(t, f, SubmitConfig{Retries: 2}).Submit(t.Context(), sub)
		var se *SubmitError
		if !errors.As(err, &se) || se.HTTPStatus != 503 || !se.Temporary || se.Status != 0 {
			t.Fatalf("err = %#v", err)
		}
		if res.Attempts != 3 || f.requests() != 3 {
			t.Errorf("%d attempts, %d requests, want 3", res.Attempts, f.requests())
		}
	})
	t.Run("401 is not retried", func(t *testing.T) {
		want, sub := baseWant(t)
		f := newFakeMMSC(t, want, html(401))
		res, err := testSubmitter(t, f, SubmitConfig{}).Submit(t.Context(), sub)
		var se *SubmitError
		if !errors.As(err, &se) || se.HTTPStatus != 401 || se.Temporary {
			t.Fatalf("err = %#v", err)
		}
		if res.Attempts != 1 {
			t.Errorf("%d attempts", res.Attempts)
		}
	})
	t.Run("redirect is not followed", func(t *testing.T) {
		want, sub := baseWant(t)
		f := newFakeMMSC(t, want, func(w http.ResponseWriter, r *http.Request, n int, tx string) {
			http.Redirect(w, r, "http://elsewhere.example/mm7", http.StatusTemporaryRedirect)
		})
		res, err := testSubmitter(t, f, SubmitConfig{}).Submit(t.Context(), sub)
		var se *SubmitError
		if !errors.As(err, &se) || se.HTTPStatus != 307 || se.Temporary || res.Attempts != 1 {
			t.Fatalf("Submit = %+v, %#v", res, err)
		}
	})
}

func TestSubmitConnectionRefused(t *testing.T) {
	want, sub := baseWant(t)
	f := newFakeMMSC(t, want, nil)
	s := testSubmitter(t, f, SubmitConfig{Retries: 2})
	f.srv.Close()
	res, err := s.Submit(t.Context(), sub)
	var se *SubmitError
	if !errors.As(err, &se) || !se.Temporary || se.Err == nil || se.HTTPStatus != 0 {
		t.Fatalf("err = %#v", err)
	}
	if res.Attempts != 3 {
		t.Errorf("%d attempts, want 3", res.Attempts)
	}
}

func TestSubmitTimeout(t *testing.T) {
	want, sub := baseWant(t)
	f := newFakeMMSC(t, want, func(w http.ResponseWriter, r *http.Request, n int, tx string) {
		<-r.Context().Done() // never answers; the client gives up
	})
	s := testSubmitter(t, f, SubmitConfig{Timeout: 50 * time.Millisecond, Retries: 1})
	res, err := s.Submit(t.Context(), sub)
	var se *SubmitError
	if !errors.As(err, &se) || !se.Temporary || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if res.Attempts != 2 {
		t.Errorf("%d attempts, want 2", res.Attempts)
	}
}

func TestSubmitContextCancelled(t *testing.T) {
	t.Run("during a request", func(t *testing.T) {
		want, sub := baseWant(t)
		arrived := make(chan struct{}, 1)
		f := newFakeMMSC(t, want, func(w http.ResponseWriter, r *http.Request, n int, tx string) {
			arrived <- struct{}{}
			<-r.Context().Done()
		})
		s := testSubmitter(t, f, SubmitConfig{Timeout: time.Hour, Retries: 5})
		ctx, cancel := context.WithCancel(t.Context())
		go func() {
			<-arrived
			cancel()
		}()
		res, err := s.Submit(ctx, sub)
		if !errors.Is(err, context.Canceled) || res.Attempts != 1 {
			t.Fatalf("Submit = %+v, %v", res, err)
		}
	})
	t.Run("during backoff", func(t *testing.T) {
		want, sub := baseWant(t)
		f := newFakeMMSC(t, want, func(w http.ResponseWriter, r *http.Request, n int, tx string) {
			writeXML(w, 200, submitRspXML(nsRel6, tx, StatusServiceUnavailable, ""))
		})
		s := testSubmitter(t, f, SubmitConfig{RetryMin: time.Hour, RetryMax: time.Hour, Retries: 5})
		ctx, cancel := context.WithCancel(t.Context())
		// Cancelled once the answer is in and the hour-long wait begun.
		s.sleep = func(ctx context.Context, d time.Duration) error {
			go cancel()
			return sleepCtx(ctx, d)
		}
		res, err := s.Submit(ctx, sub)
		var se *SubmitError
		if !errors.Is(err, context.Canceled) || !errors.As(err, &se) || se.Status != StatusServiceUnavailable || res.Attempts != 1 {
			t.Fatalf("Submit = %+v, %v", res, err)
		}
	})
	t.Run("before the first attempt", func(t *testing.T) {
		want, sub := baseWant(t)
		f := newFakeMMSC(t, want, func(w http.ResponseWriter, r *http.Request, n int, tx string) {
			t.Error("request sent with a cancelled context")
		})
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := testSubmitter(t, f, SubmitConfig{}).Submit(ctx, sub)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestSubmitBadSubmission(t *testing.T) {
	want, _ := baseWant(t)
	f := newFakeMMSC(t, want, func(w http.ResponseWriter, r *http.Request, n int, tx string) {
		t.Error("invalid submission was sent")
	})
	s := testSubmitter(t, f, SubmitConfig{})
	for _, sub := range []Submission{
		{To: "", Text: "x"},
		{To: "2025550143x", Text: "x"},
		{To: "+1202", Text: "x"},
		{To: "+12025550143"},
		{To: "+12025550143", Image: []byte("not an image")},
		{To: "+12025550143", Image: testPNG(t), ImageType: "text/html"},
	} {
		if _, err := s.Submit(t.Context(), sub); !errors.Is(err, ErrBadSubmission) {
			t.Errorf("Submit(%+v) = %v, want ErrBadSubmission", sub, err)
		}
	}
}

func TestNewSubmitterConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg         SubmitConfig
		wantErr     string
		wantVersion string
	}{
		{SubmitConfig{URL: "http://mmsc/mm7"}, "", "6.8.0"},
		{SubmitConfig{URL: "https://mmsc/mm7", Namespace: NSPrefix + "REL-5-MM7-1-3"}, "", "5.3.0"},
		{SubmitConfig{URL: "https://mmsc/mm7", Namespace: NSPrefix + "REL-5-MM7-1-0", MM7Version: "5.2.0"}, "", "5.2.0"},
		{SubmitConfig{URL: "https://mmsc/mm7", Namespace: NSPrefix + "REL-5-MM7-1-3", MM7Version: "6.8.0"}, "does not belong", ""},
		{SubmitConfig{URL: "https://mmsc/mm7", MM7Version: "5.3.0"}, "does not belong", ""},
		{SubmitConfig{URL: "https://mmsc/mm7", MM7Version: "six"}, "want x.y.z", ""},
		{SubmitConfig{URL: "https://mmsc/mm7", Namespace: "urn:example"}, "not a 3GPP", ""},
		{SubmitConfig{URL: "mmsc:8080/mm7"}, "want http(s)", ""},
		{SubmitConfig{URL: ""}, "want http(s)", ""},
		{SubmitConfig{URL: "https://mmsc/mm7", Username: "a:b"}, "must not contain", ""},
		{SubmitConfig{URL: "https://mmsc/mm7", SenderAddress: "2025550143x"}, "sender address", ""},
		{SubmitConfig{URL: "https://mmsc/mm7", RetryMin: time.Minute, RetryMax: time.Second}, "below RetryMin", ""},
		{SubmitConfig{URL: "https://mmsc/mm7", Timeout: -1}, "negative", ""},
	} {
		s, err := NewSubmitter(tc.cfg, nil)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%+v: %v", tc.cfg, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%+v: err = %v, want %q", tc.cfg, err, tc.wantErr)
		case err == nil && s.cfg.MM7Version != tc.wantVersion:
			t.Errorf("%+v: version %q, want %q", tc.cfg, s.cfg.MM7Version, tc.wantVersion)
		}
	}
	s, err := NewSubmitter(SubmitConfig{URL: "http://mmsc/mm7", Retries: -1}, nil)
	if err != nil || s.cfg.Retries != 0 || s.cfg.Timeout != DefaultSubmitTimeout || s.cfg.MaxResponseBytes != DefaultMaxResponseBytes {
		t.Errorf("defaults: %+v %v", s.cfg, err)
	}
}

func TestSubmitBackoff(t *testing.T) {
	s, err := NewSubmitter(SubmitConfig{URL: "http://mmsc/mm7", RetryMin: time.Second, RetryMax: 10 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for n, hi := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 8 * time.Second, 5: 10 * time.Second, 60: 10 * time.Second} {
		for range 50 {
			if d := s.backoff(n, 0); d < hi/2 || d > hi {
				t.Fatalf("backoff(%d) = %v, want in [%v, %v]", n, d, hi/2, hi)
			}
		}
	}
	if d := s.backoff(1, 7*time.Second); d != 7*time.Second {
		t.Errorf("Retry-After 7s: %v", d)
	}
	if d := s.backoff(1, time.Hour); d != 10*time.Second {
		t.Errorf("Retry-After capped: %v", d)
	}
}

// TestSubmitResponses reads the shared reference answers and the real
// captures through the response reader.
func TestSubmitResponses(t *testing.T) {
	type want struct {
		ok        bool
		status    StatusCode
		temporary bool
		messageID string
		tx        string
	}
	files := map[string]want{
		"submit/submit-rsp-1000.http":                                {ok: true, status: 1000, messageID: "041502073667", tx: "vasp-sub-000042"},
		"submit/rs-error-rsp-fault-2002.http":                        {status: 2002},
		"submit/rs-error-rsp-fault-3001-qualified-children-200.http": {status: 3001, temporary: true},
		"submit/vasp-error-rsp-fault-4004.http":                      {status: 4004},
		"submit/deliver-rsp-1000.http":                               {},
		"submit/deliver-rsp-2004-content-refused.http":               {},
		"submit/delivery-report-rsp-1000.http":                       {},
		"real/submit-rsp.xml":                                        {ok: true, status: 1000, messageID: "041502073667", tx: "vas00001-sub"},
		"real/fault.xml":                                             {status: 4002},
		"real/fault_02.xml":                                          {status: 2002},
	}
	for name, w := range files {
		t.Run(name, func(t *testing.T) {
			code, ct, body := readResponseFile(t, filepath.Join("testdata", name))
			a, err := readSubmitResponse(code, ct, body)
			checkSubmitAnswer(t, a, err)
			if w.ok {
				if err != nil || a.status != w.status || a.messageID != w.messageID || a.txID != w.tx {
					t.Fatalf("answer %+v, %v; want %+v", a, err, w)
				}
				return
			}
			var se *SubmitError
			if !errors.As(err, &se) || se.Status != w.status || se.Temporary != w.temporary {
				t.Fatalf("err = %#v, want status %d temporary %v", err, w.status, w.temporary)
			}
		})
	}
}

// readResponseFile reads an HTTP response (.http) or a bare envelope
// (taken as HTTP 200 text/xml).
func readResponseFile(t testing.TB, path string) (int, string, []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(path, ".http") {
		return 200, "text/xml", b
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(b)), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), body
}

func TestSubmitResponseQuirks(t *testing.T) {
	const env = `<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"><env:Body>%s</env:Body></env:Envelope>`
	rsp := func(inner string) string {
		return fmt.Sprintf(env, `<SubmitRsp xmlns="`+nsRel6+`">`+inner+`</SubmitRsp>`)
	}
	deep := strings.Repeat("<a>", 100) + strings.Repeat("</a>", 100)
	for _, tc := range []struct {
		name      string
		code      int
		ct, body  string
		ok        bool
		status    StatusCode
		temporary bool
	}{
		{"SubmitRsp 4006 with 200", 200, "text/xml", rsp(`<Status><StatusCode>4006</StatusCode></Status>`), false, 4006, true},
		{"SubmitRsp 4007 with 500", 500, "text/xml", rsp(`<Status><StatusCode>4007</StatusCode></Status>`), false, 4007, false},
		{"SubmitRsp 1000 with 500", 500, "text/xml", rsp(`<Status><StatusCode> 1000 </StatusCode></Status><MessageID>m</MessageID>`), true, 1000, false},
		{"partial success 1100", 200, "text/xml", rsp(`<Status><StatusCode>1100</StatusCode></Status><MessageID>m</MessageID>`), true, 1100, false},
		{"SubmitRsp without Status", 200, "text/xml", rsp(`<MessageID>m</MessageID>`), false, 0, false},
		{"SubmitRsp with a word for a code", 200, "text/xml", rsp(`<Status><StatusCode>OK</StatusCode></Status>`), false, 0, false},
		{"RSErrorRsp without Fault", 500, "text/xml", fmt.Sprintf(env, `<RSErrorRsp xmlns="`+nsRel6+`"><Status><StatusCode>3001</StatusCode></Status></RSErrorRsp>`), false, 3001, true},
		{"Fault Server without detail", 500, "text/xml", fmt.Sprintf(env, `<env:Fault><faultcode>env:Server</faultcode><faultstring>NullPointerException</faultstring></env:Fault>`), false, 0, true},
		{"Fault Client without detail", 500, "text/xml", fmt.Sprintf(env, `<env:Fault><faultcode>env:Client</faultcode></env:Fault>`), false, 0, false},
		{"Status straight in detail", 500, "text/xml", fmt.Sprintf(env, `<env:Fault><faultcode>Client</faultcode><detail><Status><StatusCode>2003</StatusCode></Status></detail></env:Fault>`), false, 2003, false},
		{"multipart answer", 200, `multipart/related; type="text/xml"; boundary=b`, "--b\r\nContent-Type: text/xml\r\n\r\n" + rsp(`<Status><StatusCode>1000</StatusCode></Status><MessageID>mp</MessageID>`) + "\r\n--b--\r\n", true, 1000, false},
		{"HTML 502", 502, "text/html", "<html><body>Bad Gateway</body></html>", false, 0, true},
		{"HTML 200", 200, "text/html", "<html><body>Welcome</body></html>", false, 0, false},
		{"empty 200", 200, "text/xml", "", false, 0, false},
		{"empty 429", 429, "", "", false, 0, true},
		{"DOCTYPE", 200, "text/xml", `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>` + rsp(`<Status><StatusCode>1000</StatusCode></Status>`), false, 0, false},
		{"too deep", 200, "text/xml", fmt.Sprintf(env, deep), false, 0, false},
		{"not an envelope", 200, "text/xml", `<SubmitRsp><Status><StatusCode>1000</StatusCode></Status></SubmitRsp>`, false, 0, false},
		{"UTF-16 declared over UTF-8", 200, "text/xml", `<?xml version="1.0" encoding="UTF-16"?>` + rsp(`<Status><StatusCode>1000</StatusCode></Status><MessageID>u</MessageID>`), true, 1000, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := readSubmitResponse(tc.code, tc.ct, []byte(tc.body))
			checkSubmitAnswer(t, a, err)
			if tc.ok {
				if err != nil || a.status != tc.status {
					t.Fatalf("answer %+v, %v", a, err)
				}
				return
			}
			var se *SubmitError
			if !errors.As(err, &se) || se.Status != tc.status || se.Temporary != tc.temporary || se.HTTPStatus != tc.code {
				t.Fatalf("err = %#v, want status %d temporary %v", err, tc.status, tc.temporary)
			}
		})
	}
}

// checkSubmitAnswer checks what holds for every answer: success is a 1xxx
// status, every failure a *SubmitError whose retry decision follows its
// status, and all text from the MMSC is clean and bounded.
func checkSubmitAnswer(t *testing.T, a submitAnswer, err error) {
	t.Helper()
	if err == nil {
		if a.status < 1000 || a.status >= 2000 {
			t.Fatalf("success with status %d", a.status)
		}
		checkClean(t, a.statusText)
		checkClean(t, a.messageID)
		return
	}
	var se *SubmitError
	if !errors.As(err, &se) {
		t.Fatalf("error %T is not a *SubmitError: %v", err, err)
	}
	if se.Status != 0 && se.Temporary != temporaryStatus(se.Status) {
		t.Fatalf("status %d with Temporary %v", se.Status, se.Temporary)
	}
	if se.Status >= 1000 && se.Status < 2000 {
		t.Fatalf("error with success status %d", se.Status)
	}
	checkClean(t, se.Text)
	if len(se.Text) > 4*maxDetails+100 {
		t.Fatalf("error text of %d bytes", len(se.Text))
	}
}

func checkClean(t *testing.T, s string) {
	t.Helper()
	if !strings.Contains(s, "\uFFFD") && !bytes.Equal([]byte(s), bytes.ToValidUTF8([]byte(s), nil)) {
		t.Fatalf("text not valid UTF-8: %q", s)
	}
	if strings.ContainsAny(s, "\r\n\x00\x1b") {
		t.Fatalf("control characters in %q", s)
	}
}

// FuzzSubmitResponse feeds the response reader arbitrary answers, seeded
// with the reference answers and captures. It must not panic and must
// keep the invariants of checkSubmitAnswer.
func FuzzSubmitResponse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/submit/*.http")
	seeds = append(seeds, "testdata/real/submit-rsp.xml", "testdata/real/fault.xml", "testdata/real/fault_02.xml")
	for _, p := range seeds {
		code, ct, body := readResponseFile(f, p)
		f.Add(code, ct, body)
	}
	f.Add(200, `multipart/related; type="text/xml"; boundary=b`, []byte("--b\r\nContent-Type: text/xml\r\n\r\n<a/>\r\n--b--\r\n"))
	f.Add(503, "text/html", []byte("<html>busy</html>"))
	f.Fuzz(func(t *testing.T, code int, ct string, body []byte) {
		if code < 100 || code > 999 {
			code = 200
		}
		a, err := readSubmitResponse(code, ct, body)
		checkSubmitAnswer(t, a, err)
	})
}
