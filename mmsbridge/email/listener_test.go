package email

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mmsprofile/mmsbridge"
)

// requireSwaks finds Debian's swaks SMTP client; a missing one skips the
// test locally and fails it under CI=true.
func requireSwaks(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("swaks")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("swaks not installed (apt-get install -y swaks)")
		}
		t.Skip("swaks not installed (apt-get install -y swaks)")
	}
	return p
}

// startServer runs NewServer on a free loopback port until the test ends.
func startServer(t *testing.T, cfg Config, rcv mmsbridge.Receiver, lmtp bool) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(cfg, rcv, lmtp, slog.New(slog.DiscardHandler))
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Serve(GuardListener(l))
	}()
	t.Cleanup(func() {
		s.Close()
		<-done
	})
	return l.Addr().String()
}

// swaks sends the file through the listener and returns its transcript.
func swaks(t *testing.T, bin, addr string, lmtp bool, from, to string, data []byte) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "msg.eml")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(addr)
	proto := "ESMTP"
	if lmtp {
		proto = "LMTP"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--server", host, "--port", port, "--protocol", proto,
		"--from", from, "--to", to, "--helo", "mms-gw.test", "--data", "@"+file,
		"--timeout", "30", "--suppress-data", "--hide-informational")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("swaks: %v\n%s", err, out)
	}
	return string(out)
}

// reply finds the server's answer with code in a swaks transcript.
func hasReply(transcript, reply string) bool {
	sc := bufio.NewScanner(strings.NewReader(transcript))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		for _, p := range []string{"<~ ", "<**", "<- "} {
			l = strings.TrimSpace(strings.TrimPrefix(l, p))
		}
		if strings.HasPrefix(l, reply) {
			return true
		}
	}
	return false
}

func TestListenersWithSwaks(t *testing.T) {
	bin := requireSwaks(t)
	dns := newFakeDNS()
	key := newDKIMKey(t, dns, "tmomail.net")
	tmo := stripTrace(t, fixture(t, "testdata/email/04-tmobile-related-html-png.eml"))
	signed := key.sign(t, tmo)
	const rcpt = "avatar@xmpp.example.com"
	const from = "2065550123@tmomail.net"

	for _, lmtp := range []bool{true, false} {
		name := map[bool]string{true: "LMTP", false: "SMTP"}[lmtp]
		t.Run(name, func(t *testing.T) {
			cfg := testConfig(dns)
			cfg.AllowedRelays = nil // 127.0.0.1 proves nothing: DKIM must
			cfg.MaxMessageBytes = 256 << 10

			t.Run("dkim signed accepted", func(t *testing.T) {
				rec := &recorder{}
				out := swaks(t, bin, startServer(t, cfg, rec, lmtp), lmtp, from, rcpt, signed)
				if !hasReply(out, "250") || len(rec.got()) != 1 {
					t.Fatalf("not accepted (%d received):\n%s", len(rec.got()), out)
				}
				m := rec.got()[0]
				if m.Sender != "+12065550123" || m.Text() != "Status: new avatar, who dis?" || len(m.Images()) != 1 || m.Images()[0].ContentType != "image/png" {
					t.Errorf("got sender %q text %q images %d", m.Sender, m.Text(), len(m.Images()))
				}
			})
			t.Run("unsigned refused", func(t *testing.T) {
				rec := &recorder{}
				out := swaks(t, bin, startServer(t, cfg, rec, lmtp), lmtp, from, rcpt, tmo)
				if !hasReply(out, "550 5.7.1") || len(rec.got()) != 0 {
					t.Fatalf("want 550 5.7.1 and nothing received (%d):\n%s", len(rec.got()), out)
				}
			})
			t.Run("wrong recipient", func(t *testing.T) {
				rec := &recorder{}
				out := swaks(t, bin, startServer(t, cfg, rec, lmtp), lmtp, from, "postmaster@elsewhere.example", signed)
				if !hasReply(out, "550 5.1.1") || len(rec.got()) != 0 {
					t.Fatalf("want 550 5.1.1:\n%s", out)
				}
			})
			t.Run("unlinked sender", func(t *testing.T) {
				rec := &recorder{err: mmsbridge.Refuse(mmsbridge.ReasonUnknownSender, "No account is linked to +12065550123; send LINK and your code")}
				out := swaks(t, bin, startServer(t, cfg, rec, lmtp), lmtp, from, rcpt, signed)
				if !hasReply(out, "550 5.1.0") || !strings.Contains(out, "No account is linked") {
					t.Fatalf("want 550 5.1.0 with the reason:\n%s", out)
				}
			})
			t.Run("store down", func(t *testing.T) {
				rec := &recorder{err: errors.New("database is locked")}
				out := swaks(t, bin, startServer(t, cfg, rec, lmtp), lmtp, from, rcpt, signed)
				if !hasReply(out, "451 4.3.0") {
					t.Fatalf("want 451 4.3.0:\n%s", out)
				}
			})
			t.Run("truncated MIME", func(t *testing.T) {
				rec := &recorder{}
				out := swaks(t, bin, startServer(t, cfg, rec, lmtp), lmtp, from, rcpt, fixture(t, "testdata/bad/email-01-truncated-mime.eml"))
				if !hasReply(out, "554 5.6.0") || len(rec.got()) != 0 {
					t.Fatalf("want 554 5.6.0:\n%s", out)
				}
			})
			t.Run("too large", func(t *testing.T) {
				rec := &recorder{}
				big := append(append([]byte{}, signed...), []byte(strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef\r\n", 8000))...)
				out := swaks(t, bin, startServer(t, cfg, rec, lmtp), lmtp, from, rcpt, big)
				if !hasReply(out, "552") || len(rec.got()) != 0 {
					t.Fatalf("want 552:\n%s", out)
				}
			})
		})
	}
}

// TestLMTPUnixSocket is how Postfix usually delivers: lmtp:unix:path.
func TestLMTPUnixSocket(t *testing.T) {
	bin := requireSwaks(t)
	dns := newFakeDNS()
	key := newDKIMKey(t, dns, "mms.att.net")
	cfg := testConfig(dns)
	sock := filepath.Join(t.TempDir(), "lmtp.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	s := NewServer(cfg, rec, true, slog.New(slog.DiscardHandler))
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Serve(GuardListener(l))
	}()
	t.Cleanup(func() {
		s.Close()
		<-done
	})
	file := filepath.Join(t.TempDir(), "msg.eml")
	if err := os.WriteFile(file, key.sign(t, stripTrace(t, fixture(t, attFixture))), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command(bin, "--socket", sock, "--protocol", "LMTP", "--from", "2025550143@mms.att.net",
		"--to", "avatar@xmpp.example.com", "--data", "@"+file, "--suppress-data", "--hide-informational").CombinedOutput()
	if !hasReply(string(out), "250") || len(rec.got()) != 1 || rec.got()[0].Text() != "New pic for my profile 📸" {
		t.Fatalf("not delivered (%d):\n%s", len(rec.got()), out)
	}
}

func TestMaxSessions(t *testing.T) {
	cfg := testConfig(newFakeDNS())
	cfg.MaxSessions = 1
	addr := startServer(t, cfg, &recorder{}, false)
	ehlo := func() (net.Conn, string) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(10 * time.Second))
		r := bufio.NewReader(c)
		if _, err := r.ReadString('\n'); err != nil { // greeting
			t.Fatal(err)
		}
		c.Write([]byte("EHLO test\r\n"))
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		return c, l
	}
	first, l := ehlo()
	if !strings.HasPrefix(l, "250") {
		t.Fatalf("first session: %q", l)
	}
	if _, l := ehlo(); !strings.HasPrefix(l, "421 4.3.2") {
		t.Fatalf("second session: %q, want 421 4.3.2", l)
	}
	// Once the first goes, its slot is free again.
	first.Write([]byte("QUIT\r\n"))
	first.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, l := ehlo()
		if strings.HasPrefix(l, "250") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot not released: %q", l)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
