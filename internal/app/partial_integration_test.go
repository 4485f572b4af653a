package app_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"mmsprofile/internal/testkit/daemon"
	"mmsprofile/internal/testkit/mm7sample"
	"mmsprofile/internal/testkit/postfix"
)

// phoneMail is a carrier mail of a text and one picture part of the given
// type and name, as an iPhone's MMS reaches a carrier gateway.
func phoneMail(msgID, text, ctype, name string, picture []byte) string {
	var b strings.Builder
	fmt.Fprintf(&b, "From: 2025550143@mms.att.net\r\nTo: avatar@example.org\r\nSubject: \r\nMessage-ID: <%s@mms.att.net>\r\n", msgID)
	b.WriteString("Date: Thu, 26 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n")
	fmt.Fprintf(&b, "--b1\r\nContent-Type: text/plain; charset=utf-8; name=text_0.txt\r\nContent-Disposition: attachment; filename=text_0.txt\r\n\r\n%s\r\n", text)
	fmt.Fprintf(&b, "--b1\r\nContent-Type: %s; name=%s\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=%s\r\n\r\n", ctype, name, name)
	enc := base64.StdEncoding.EncodeToString(picture)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n--b1--\r\n")
	return b.String()
}

func readServerTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// An iPhone's HEIC with a text, mailed through the carrier's gateway over
// LMTP and over SMTP: whichever the build, the avatar is published from the
// HEIC and the text as the status. A picture the build cannot read (TIFF,
// which neither build takes) with a text: the MTA gets 250, the text is
// published, and the phone gets one reply by mail, through a real Postfix
// as the smarthost, saying what was skipped and what would work.
func TestEmailPartialMMS(t *testing.T) {
	for _, proto := range []string{"lmtp", "smtp"} {
		t.Run(proto, func(t *testing.T) {
			// The carrier's gateway for the reply: a port where nothing
			// listens, so Postfix keeps the reply in its queue for the test
			// to read.
			closed, err := daemon.FreePorts(1)
			if err != nil {
				t.Fatal(err)
			}
			pf := postfix.StartT(t, postfix.Options{
				Routes: map[string]string{"mms.att.net": fmt.Sprintf("lmtp:inet:127.0.0.1:%d", closed[0])},
			})
			e := startWith(t, envOptions{extra: fmt.Sprintf(`
[email]
listen = "127.0.0.1:0"
protocol = %q
recipients = ["avatar@example.org"]
allowed_relays = ["127.0.0.1"]
smarthost = %q
reply_from = "avatar@example.org"
`, proto, pf.SMTPAddr)})
			host, port, _ := net.SplitHostPort(e.srv.EmailAddr().String())
			dir := t.TempDir()
			send := func(name, mail string) string {
				t.Helper()
				file := filepath.Join(dir, name)
				if err := os.WriteFile(file, []byte(mail), 0o600); err != nil {
					t.Fatal(err)
				}
				args := []string{"--server", host, "--port", port, "--from", "2025550143@mms.att.net", "--to", "avatar@example.org", "--data", file}
				if proto == "lmtp" {
					args = append(args, "--protocol", "LMTP")
				}
				return swaks(t, args...)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()

			// The HEIC: the avatar is made from it, in either build.
			if out := send("heic.eml", phoneMail("h1-"+proto, "Fresh from my iPhone", "image/heic", "IMG_0001.HEIC", readServerTestdata(t, "iphone.heic"))); !accepted(out) {
				t.Fatalf("HEIC mail not accepted:\n%s", out)
			}
			ev := e.nextAvatar()
			if len(ev.Infos) != 1 || ev.Infos[0].Width != 128 {
				t.Fatalf("avatar %+v", ev)
			}
			waitVCard4(ctx, t, e.bob, e.alice, "Fresh from my iPhone")

			// A picture no build reads, and a text.
			out := send("tiff.eml", phoneMail("t1-"+proto, "Scanned it for you", "image/tiff", "scan.tif", readServerTestdata(t, "scan.tiff")))
			if !accepted(out) {
				t.Fatalf("mail with an unreadable picture and a text not accepted (want 250):\n%s", out)
			}
			waitVCard4(ctx, t, e.bob, e.alice, "Scanned it for you")
			reply := queuedReply(ctx, t, pf, "2025550143@mms.att.net")
			for _, want := range []string{"Applied: status.", "Picture skipped: TIFF is not supported here; send a JPEG.", "In-Reply-To: <t1-" + proto + "@mms.att.net>"} {
				if !strings.Contains(reply, want) {
					t.Errorf("reply to the phone lacks %q:\n%s", want, reply)
				}
			}
			// One reply only: the HEIC's mail needed none.
			if n := strings.Count(readLog(t, pf), "to=<2025550143@mms.att.net>, relay="); n == 0 {
				t.Error("no delivery attempt of the reply in Postfix's log")
			}
			if ids := queueIDsTo(t, pf, "2025550143@mms.att.net"); len(ids) != 1 {
				t.Errorf("replies queued for the phone: %v, want one", ids)
			}

			// A picture alone that cannot be used is still refused.
			if out := send("alone.eml", phoneMail("a1-"+proto, "", "image/tiff", "scan.tif", readServerTestdata(t, "scan.tiff"))); !strings.Contains(out, "<** 554") {
				t.Fatalf("mail with only an unreadable picture not refused 554:\n%s", out)
			}
		})
	}
}

// The same over MM7: a DeliverReq of a TIFF and a text is answered 1000,
// the text published, and the phone gets one SubmitReq saying why the
// picture was skipped.
func TestMM7PartialMMS(t *testing.T) {
	mmsc := newFakeMMSC(t)
	e := startWith(t, envOptions{submitURL: mmsc.srv.URL})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e.accept("TIFF and text", mm7sample.Deliver{TransactionID: "tx-p", MessageID: "m-p", Sender: aliceNumber,
		Image: readServerTestdata(t, "scan.tiff"), ImageType: "image/tiff", Text: "Partly there"})
	waitVCard4(ctx, t, e.bob, e.alice, "Partly there")
	if got := mmsc.next(t); !strings.Contains(got, "TIFF is not supported here; send a JPEG") {
		t.Fatalf("SubmitReq to the phone:\n%s", got)
	}
}

var queueIDRE = regexp.MustCompile(` ([0-9A-F]{6,}): to=<([^>]+)>`)

func readLog(t *testing.T, pf *postfix.Server) string {
	t.Helper()
	b, err := pf.ReadLog()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// queueIDsTo lists the queue IDs of messages Postfix tried to deliver to rcpt.
func queueIDsTo(t *testing.T, pf *postfix.Server, rcpt string) []string {
	t.Helper()
	seen := map[string]bool{}
	var ids []string
	for _, m := range queueIDRE.FindAllStringSubmatch(readLog(t, pf), -1) {
		if m[2] == rcpt && !seen[m[1]] {
			seen[m[1]] = true
			ids = append(ids, m[1])
		}
	}
	return ids
}

// queuedReply waits for Postfix to have tried the reply to rcpt, which the
// closed gateway port defers, and returns the message from the queue.
func queuedReply(ctx context.Context, t *testing.T, pf *postfix.Server, rcpt string) string {
	t.Helper()
	line, err := pf.WaitLog(ctx, func(l string) bool {
		return strings.Contains(l, ": to=<"+rcpt+">") && strings.Contains(l, "status=deferred")
	})
	if err != nil {
		t.Fatalf("no reply to %s reached Postfix: %v", rcpt, err)
	}
	m := queueIDRE.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("no queue ID in %q", line)
	}
	out, err := exec.CommandContext(ctx, "/usr/sbin/postcat", "-c", pf.ConfigDir, "-bh", "-q", m[1]).CombinedOutput()
	if err != nil {
		t.Fatalf("postcat %s: %v\n%s", m[1], err, out)
	}
	return string(out)
}
