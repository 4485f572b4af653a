package redact

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestMaskNumbers(t *testing.T) {
	for in, want := range map[string]string{
		"+12025550143":                          "+1••••••••43",
		"sender +12025550143/TYPE=PLMN refused": "sender +1••••••••43/TYPE=PLMN refused",
		"2025550143@mms.att.net":                "2•••••••43@mms.att.net",
		"tx 20250301120000 id 42":               "tx 20250301120000 id 42",
		"+1••••••••43":                          "+1••••••••43",
		"+123":                                  "+123",
	} {
		if got := MaskNumbers(in); got != want {
			t.Errorf("MaskNumbers(%q) = %q, want %q", in, got, want)
		}
	}
}

// MaskNumber masks one sender, which may be a personal address: unlike
// MaskNumbers it hides the local part of any address.
func TestMaskNumber(t *testing.T) {
	for in, want := range map[string]string{
		"+12025550143":           "+1••••••••43",
		"+447700900123":          "+4•••••••••23",
		"+12345":                 "+1••45",
		"+1234":                  "…",
		"2025550143":             "…",
		"":                       "",
		"alice@example.org":      "a…@example.org",
		"2025550143@mms.att.net": "2…@mms.att.net",
	} {
		if got := MaskNumber(in); got != want {
			t.Errorf("MaskNumber(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReplaceAttr(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: Options{}.ReplaceAttr()}))
	log.Info("mms",
		"sender", "+12025550143",
		"err", fmt.Errorf("profile: unlink %s: %w", "+447700900123", errors.New("gone")),
		"password", "hunter2",
		slog.Group("mm7", "submit_password", "s3cret", "from", "2025550143@mms.att.net"),
		"image", make([]byte, 4096),
		"id", []byte("short"),
		"key", "relay-1/20250301120000",
	)
	out := buf.String()
	for _, leak := range []string{"12025550143", "447700900123", "hunter2", "s3cret", "2025550143@"} {
		if strings.Contains(out, leak) {
			t.Errorf("log leaks %q:\n%s", leak, out)
		}
	}
	for _, want := range []string{"sender=+1••••••••43", "password=[redacted]", "mm7.submit_password=[redacted]", `image="[4096 bytes]"`, `id="short"`, "key=relay-1/20250301120000"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

func TestShowNumbers(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: Options{ShowNumbers: true}.ReplaceAttr()}))
	log.Info("mms", "sender", "+12025550143", "secret", "x")
	out := buf.String()
	if !strings.Contains(out, `"sender":"+12025550143"`) || !strings.Contains(out, `"secret":"[redacted]"`) {
		t.Fatalf("got %s", out)
	}
}
