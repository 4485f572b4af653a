package email

import (
	"bytes"
	"encoding/base64"
	"math/rand/v2"
	"strings"
	"testing"
)

// carrierMail300K builds a T-Mobile-style multipart/related mail of about
// 300 KB: quoted-printable HTML, two decoration GIFs and a 220 KB photo.
func carrierMail300K() []byte {
	photo := make([]byte, 220<<10)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range photo {
		photo[i] = byte(r.Uint32())
	}
	copy(photo, "\xff\xd8\xff\xe0\x00\x10JFIF\x00")
	b64 := func(p []byte) string {
		s := base64.StdEncoding.EncodeToString(p)
		var sb strings.Builder
		for len(s) > 76 {
			sb.WriteString(s[:76] + "\r\n")
			s = s[76:]
		}
		sb.WriteString(s + "\r\n")
		return sb.String()
	}
	gif := []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
	var m bytes.Buffer
	m.WriteString("Return-Path: <2065550123@tmomail.net>\r\nFrom: 2065550123@tmomail.net\r\nTo: avatar@xmpp.example.com\r\n" +
		"Subject: new avatar\r\nMessage-ID: <bench@tmomail.net>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/related; type=\"text/html\"; boundary=\"b1\"\r\n\r\n")
	m.WriteString("--b1\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
		"<html><body><table><tr><td><img src=3D\"cid:tmobilelogo.gif\"></td></tr>\r\n" +
		"<tr><td class=3D\"msg\">Status: benchmarking =E2=98=95</td></tr>\r\n" +
		"<tr><td>This message was sent from a T-Mobile phone.</td></tr></table></body></html>\r\n")
	for _, n := range []string{"tmobilelogo.gif", "dottedline600.gif"} {
		m.WriteString("--b1\r\nContent-Type: image/gif; name=" + n + "\r\nContent-Transfer-Encoding: base64\r\nContent-ID: <" + n + ">\r\n\r\n" + b64(gif))
	}
	m.WriteString("--b1\r\nContent-Type: image/jpeg; name=IMG_0001.jpg\r\nContent-Transfer-Encoding: base64\r\nContent-ID: <IMG_0001.jpg>\r\n\r\n" + b64(photo))
	m.WriteString("--b1--\r\n")
	return m.Bytes()
}

func BenchmarkExtract(b *testing.B) {
	raw := carrierMail300K()
	m, err := Extract(bytes.NewReader(raw), Limits{})
	if err != nil || len(m.Images()) != 1 || m.Text() != "Status: benchmarking ☕" {
		b.Fatalf("setup: %v %+v", err, m)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Extract(bytes.NewReader(raw), Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}
