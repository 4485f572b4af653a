package email

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
	"unicode/utf8"
)

func FuzzExtract(f *testing.F) {
	for _, pat := range []string{"testdata/email/*.eml", "testdata/bad/*.eml", "testdata/real/*.mail"} {
		names, _ := filepath.Glob(pat)
		for _, n := range names {
			b, err := os.ReadFile(n)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte("Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\r\nhi\r\n--x--\r\n"))
	lim := Limits{MaxMessageBytes: 1 << 20, MaxMIMEDepth: 8, MaxParts: 64}
	f.Fuzz(func(t *testing.T, raw []byte) {
		// A hang is a bug too: crash the worker so the input is kept.
		watchdog := time.AfterFunc(20*time.Second, func() { panic(fmt.Sprintf("Extract still running after 20s on %d bytes", len(raw))) })
		defer watchdog.Stop()
		m, err := Extract(bytes.NewReader(raw), lim)
		if err != nil {
			return
		}
		if len(m.Parts) > lim.MaxParts {
			t.Fatalf("%d parts over the limit", len(m.Parts))
		}
		if !utf8.ValidString(m.Subject) || !utf8.ValidString(m.Text()) {
			t.Fatalf("invalid UTF-8: %q %q", m.Subject, m.Text())
		}
		if m.Key == "" {
			t.Fatal("empty key")
		}
	})
}
