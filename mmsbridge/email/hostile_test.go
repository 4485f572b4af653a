package email

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"mmsprofile/internal/testkit/hostiletest"
	"mmsprofile/internal/testkit/mm7sample"
)

// hostileMIME are carrier mails built to cost the extractor more than
// their bytes, and the SMTP code each must get.
func hostileMIME() map[string]struct {
	raw  func() string
	code int
	want error
} {
	const from = "From: 2025550143@mms.att.net\r\nMIME-Version: 1.0\r\n"
	photo := wrap76(base64.StdEncoding.EncodeToString(mm7sample.Photo(64, 48, 1)))
	return map[string]struct {
		raw  func() string
		code int
		want error
	}{
		"parts-100000": {func() string {
			var b strings.Builder
			b.WriteString(from + "Content-Type: multipart/mixed; boundary=x\r\n\r\n")
			for range 100000 {
				b.WriteString("--x\r\n\r\nhi\r\n")
			}
			return b.String() + "--x--\r\n"
		}, 554, ErrLimit},
		"header-line-1MB": {func() string {
			return from + "Subject: " + strings.Repeat("a", 1<<20) + "\r\n\r\nhi\r\n"
		}, 554, ErrLimit},
		"boundary-never-closes": {func() string {
			return from + "Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n--x\r\nContent-Type: image/jpeg\r\nContent-Transfer-Encoding: base64\r\n\r\n" + photo + "\r\n"
		}, 554, ErrMalformed},
		"charset-utf-7": {func() string {
			return from + "Content-Type: text/plain; charset=utf-7\r\n\r\nHi +ADw-script+AD4-\r\n"
		}, 554, nil},
	}
}

func TestHostileMIME(t *testing.T) {
	for name, tc := range hostileMIME() {
		t.Run(name, func(t *testing.T) {
			raw := tc.raw()
			start := time.Now()
			_, err := Extract(strings.NewReader(raw), Limits{})
			elapsed := time.Since(start)
			if err == nil {
				t.Fatal("accepted")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			o := outcomeFor(err)
			if o.smtp == nil || o.smtp.Code != tc.code || o.exit != ExitDataErr {
				t.Fatalf("outcome %+v for %v, want %d", o.smtp, err, tc.code)
			}
			hostiletest.Report(t, "mime-"+name, elapsed, o.smtp.Code)
		})
	}
}

func wrap76(s string) string {
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	return b.String() + s
}

// Base64 with junk in it (spaces, tabs, characters outside the
// alphabet) still yields the picture as far as it goes:
// the text and the usable bytes are kept, nothing panics.
func TestHostileBase64Junk(t *testing.T) {
	photo := mm7sample.Photo(64, 48, 1)
	enc := base64.StdEncoding.EncodeToString(photo)
	var junk strings.Builder
	for i := 0; i < len(enc); i += 60 {
		junk.WriteString(enc[i:min(i+60, len(enc))] + " \t!*\r\n")
	}
	raw := "From: 2025550143@mms.att.net\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n" +
		"--x\r\nContent-Type: text/plain\r\n\r\nAt the beach\r\n" +
		"--x\r\nContent-Type: image/jpeg\r\nContent-Transfer-Encoding: base64\r\n\r\n" + junk.String() + "\r\n--x--\r\n"
	m, err := Extract(strings.NewReader(raw), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Text() != "At the beach" || len(m.Images()) != 1 || string(m.Images()[0].Data) != string(photo) {
		t.Fatalf("text %q, %d images", m.Text(), len(m.Images()))
	}
}
