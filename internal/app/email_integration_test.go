package app_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mmsprofile/internal/testkit/mm7sample"
)

// carrierMail is an MMS as AT&T's gateway mails it: blank subject, the
// text as a text_0.txt attachment, the picture beside it.
func carrierMail(msgID string, photo []byte, text string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "From: 2025550143@mms.att.net\r\nTo: avatar@example.org\r\nSubject: \r\nMessage-ID: <%s@mms.att.net>\r\n", msgID)
	b.WriteString("Date: Thu, 26 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n")
	fmt.Fprintf(&b, "--b1\r\nContent-Type: text/plain; charset=utf-8; name=text_0.txt\r\nContent-Disposition: attachment; filename=text_0.txt\r\n\r\n%s\r\n", text)
	b.WriteString("--b1\r\nContent-Type: image/jpeg; name=IMG_0001.jpg\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=IMG_0001.jpg\r\n\r\n")
	enc := base64.StdEncoding.EncodeToString(photo)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n--b1--\r\n")
	return b.String()
}

func swaks(t *testing.T, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("swaks"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("swaks is not installed (apt-get install swaks)")
		}
		t.Skip("swaks is not installed (apt-get install swaks)")
	}
	out, err := exec.Command("swaks", append([]string{"--timeout", "30"}, args...)...).CombinedOutput()
	if err != nil {
		t.Logf("swaks: %v", err)
	}
	return string(out)
}

// A carrier's mail, delivered by a real SMTP client over LMTP and over
// SMTP, ends as the avatar at the contact's client; a refused one gets a
// 5xx the sending MTA can bounce with.
func TestEmailBecomesAvatar(t *testing.T) {
	for _, proto := range []string{"lmtp", "smtp"} {
		t.Run(proto, func(t *testing.T) {
			e := startWith(t, envOptions{extra: fmt.Sprintf(`
[email]
listen = "127.0.0.1:0"
protocol = %q
recipients = ["avatar@example.org"]
allowed_relays = ["127.0.0.1"]
`, proto)})
			addr := e.srv.EmailAddr().String()
			host, port, _ := strings.Cut(addr, ":")
			dir := t.TempDir()
			mail := filepath.Join(dir, "mms.eml")
			if err := os.WriteFile(mail, []byte(carrierMail("m1-"+proto, mm7sample.Photo(640, 480, 21), "From my phone")), 0o600); err != nil {
				t.Fatal(err)
			}
			send := func(from, to, file string) string {
				args := []string{"--server", host, "--port", port, "--from", from, "--to", to, "--data", file}
				if proto == "lmtp" {
					args = append(args, "--protocol", "LMTP")
				}
				return swaks(t, args...)
			}
			if out := send("2025550143@mms.att.net", "avatar@example.org", mail); !accepted(out) {
				t.Fatalf("mail not accepted:\n%s", out)
			}
			ev := e.nextAvatar()
			if len(ev.Infos) != 1 || ev.Infos[0].Width != 128 {
				t.Fatalf("avatar %+v", ev)
			}
			// Not our recipient: refused at RCPT.
			if out := send("2025550143@mms.att.net", "someone@else.example", mail); !strings.Contains(out, "<** 550") {
				t.Fatalf("foreign recipient not refused:\n%s", out)
			}
			// Unlinked number: refused with a reason the sender can read.
			other := filepath.Join(dir, "other.eml")
			if err := os.WriteFile(other, []byte(strings.ReplaceAll(carrierMail("m2-"+proto, mm7sample.Photo(64, 64, 22), "hi"), "2025550143@", "2025550199@")), 0o600); err != nil {
				t.Fatal(err)
			}
			if out := send("2025550199@mms.att.net", "avatar@example.org", other); !strings.Contains(out, "550") || !strings.Contains(out, "not linked") {
				t.Fatalf("unlinked sender not refused with a reason:\n%s", out)
			}
		})
	}
}

// accepted reports whether swaks saw the message taken (250 after DATA).
func accepted(out string) bool {
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "<-") && strings.Contains(line, " 250") && strings.Contains(strings.ToLower(line), "queued") {
			return true
		}
	}
	return false
}

// The MTA pipe path: `mmsprofile ingest-email` as Postfix's pipe(8) would
// run it, with its sysexits code.
func TestIngestEmailCommand(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "mmsprofile")
	if out, err := exec.Command("go", "build", "-o", bin, "mmsprofile/cmd/mmsprofile").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	e := startWith(t, envOptions{extra: `
[email]
listen = ""
allowed_relays = ["192.0.2.0/24"]
`})
	run := func(mail string, clientIP string) (int, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "ingest-email", "-config", e.cfgPath, "-from", "2025550143@mms.att.net", "-to", "avatar@example.org", "-client-ip", clientIP)
		cmd.Stdin = strings.NewReader(mail)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), stderr.String()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0, stderr.String()
	}
	if code, out := run(carrierMail("p1", mm7sample.Photo(320, 240, 31), "piped"), "192.0.2.10"); code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	// The serving process polls the outbox the pipe committed to.
	if ev := e.nextAvatar(); len(ev.Infos) != 1 {
		t.Fatalf("avatar %+v", ev)
	}
	// A part the build cannot read does not lose the rest: the pipe exits
	// 0, the text is published; a mail of nothing usable is a data error.
	if code, out := run(phoneMail("p3", "Piped partly", "image/tiff", "scan.tif", readServerTestdata(t, "scan.tiff")), "192.0.2.10"); code != 0 {
		t.Fatalf("TIFF and text: exit %d, want 0:\n%s", code, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	waitVCard4(ctx, t, e.bob, e.alice, "Piped partly")
	if code, out := run(phoneMail("p4", "", "image/tiff", "scan.tif", readServerTestdata(t, "scan.tiff")), "192.0.2.10"); code != 65 {
		t.Fatalf("TIFF alone: exit %d, want 65:\n%s", code, out)
	}
	// From a relay nobody vouches for: the sender is not proven.
	if code, out := run(carrierMail("p2", mm7sample.Photo(32, 32, 32), "x"), "203.0.113.9"); code != 67 {
		t.Fatalf("unauthenticated mail: exit %d, want 67:\n%s", code, out)
	}
	// Broken MIME: a data error.
	if code, out := run("From: 2025550143@mms.att.net\r\nContent-Type: multipart/mixed\r\n\r\nno boundary", "192.0.2.10"); code != 65 {
		t.Fatalf("broken mail: exit %d, want 65:\n%s", code, out)
	}
}
