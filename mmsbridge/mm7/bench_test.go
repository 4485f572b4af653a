package mm7

import (
	"bytes"
	"encoding/base64"
	"math/rand/v2"
	"strings"
	"testing"

	"mmsprofile/internal/testkit/mm7sample"
)

// benchDeliverReq builds a DeliverReq of about 300 KB: SOAP envelope,
// nested multipart/related with SMIL, a 220 KB base64 JPEG-sized image and
// a UTF-8 text, the shape of a typical photo MMS.
func benchDeliverReq() (string, []byte) {
	img := make([]byte, 220<<10)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range img {
		img[i] = byte(rng.Uint32())
	}
	enc := base64.StdEncoding.EncodeToString(img)
	var lines strings.Builder
	for len(enc) > 76 {
		lines.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	lines.WriteString(enc)
	inner := mimeBody("inner", "\r\n",
		"Content-Type: application/smil\nContent-ID: <smil>\n\n<smil><body><par><img src=\"cid:img\"/><text src=\"cid:txt\"/></par></body></smil>",
		"Content-Type: image/jpeg; name=photo.jpg\nContent-ID: <img>\nContent-Transfer-Encoding: base64\n\n"+lines.String(),
		"Content-Type: text/plain; charset=utf-8\nContent-ID: <txt>\n\nNew profile picture — call me after 6",
	)
	body := mimeBody("outer", "\r\n",
		soapPart(deliverXML(sender+`<Recipients><To><ShortCode>24273</ShortCode></To></Recipients><TimeStamp>2024-05-14T09:21:07Z</TimeStamp><Subject>pic</Subject><Content href="cid:content"/>`)),
		`Content-Type: multipart/related; type="application/smil"; start="<smil>"; boundary="inner"`+"\nContent-ID: <content>\n\n"+string(inner),
	)
	return `multipart/related; type="text/xml"; start="<soap>"; boundary="outer"`, body
}

func BenchmarkParseDeliverReq(b *testing.B) {
	ct, body := benchDeliverReq()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		req, err := Parse(ct, bytes.NewReader(body), Limits{})
		if err != nil || len(req.Message.Parts) != 2 {
			b.Fatalf("Parse: %v", err)
		}
	}
	b.ReportMetric(float64(len(body))/1024, "KB/req")
}

// BenchmarkParseSampleDeliver parses what the load benchmarks post (a
// 1280x960 photo, base64, as mm7sample builds it). Locating its inner
// multipart in the request took bytes.Index into Rabin-Karp here, where
// benchDeliverReq's bytes did not: half the parse went to it.
func BenchmarkParseSampleDeliver(b *testing.B) {
	d := mm7sample.Deliver{TransactionID: "t", Sender: "+12025550143", Text: "at the beach", Image: mm7sample.Photo(1280, 960, 77)}
	ct, body := d.Build()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		req, err := Parse(ct, bytes.NewReader(body), Limits{})
		if err != nil || len(req.Message.Parts) == 0 {
			b.Fatalf("Parse: %v", err)
		}
	}
}
