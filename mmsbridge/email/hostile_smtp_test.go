package email

import (
	"bufio"
	"context"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"mmsprofile/internal/testkit/hostiletest"
	"mmsprofile/mmsbridge"
)

// smtpClient is a raw-socket SMTP client: it writes what the test says
// and reads whole (multi-line) replies.
type smtpClient struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dialSMTP(t *testing.T, addr string) *smtpClient {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.SetDeadline(time.Now().Add(20 * time.Second)); err != nil {
		t.Fatal(err)
	}
	s := &smtpClient{t: t, c: c, r: bufio.NewReader(c)}
	if code, _ := s.reply(); code != "220" {
		t.Fatalf("greeting %s", code)
	}
	return s
}

// reply reads one reply and returns its code and last line ("" at EOF).
func (s *smtpClient) reply() (string, string) {
	s.t.Helper()
	for {
		l, err := s.r.ReadString('\n')
		if err != nil {
			return "", ""
		}
		if len(l) >= 4 && l[3] == ' ' {
			return l[:3], strings.TrimSpace(l)
		}
	}
}

func (s *smtpClient) cmd(line string) (string, string) {
	s.t.Helper()
	if _, err := io.WriteString(s.c, line+"\r\n"); err != nil {
		return "", ""
	}
	return s.reply()
}

// stillServes checks that the listener takes a new client and a message.
func stillServes(t *testing.T, addr string) {
	t.Helper()
	s := dialSMTP(t, addr)
	for _, step := range []struct{ cmd, code string }{
		{"EHLO ok.test", "250"}, {"MAIL FROM:<2025550143@mms.att.net>", "250"}, {"RCPT TO:<mms@example.org>", "250"}, {"QUIT", "221"},
	} {
		if code, l := s.cmd(step.cmd); code != step.code {
			t.Fatalf("after the hostile client, %s: %q", step.cmd, l)
		}
	}
}

func hostileServer(t *testing.T) (string, Config) {
	cfg := NewConfig()
	cfg.RequireAuth = false
	cfg.ReadTimeout, cfg.WriteTimeout = 300*time.Millisecond, 300*time.Millisecond
	rcv := mmsbridge.ReceiverFunc(func(context.Context, *mmsbridge.Message) error { return nil })
	return startServer(t, cfg, rcv, false), cfg
}

// 10,000 RCPT: the 51st and later get 452 4.5.3, the session goes on.
func TestHostileSMTPRecipients(t *testing.T) {
	addr, cfg := hostileServer(t)
	s := dialSMTP(t, addr)
	s.cmd("EHLO flood.test")
	s.cmd("MAIL FROM:<2025550143@mms.att.net>")
	start := time.Now()
	var w strings.Builder
	for i := range 10000 {
		w.WriteString("RCPT TO:<r" + strconv.Itoa(i) + "@example.org>\r\n")
	}
	go io.WriteString(s.c, w.String()) // pipelined
	ok, refused := 0, 0
	for range 10000 {
		switch code, l := s.reply(); code {
		case "250":
			ok++
		case "452":
			refused++
		default:
			t.Fatalf("RCPT answered %q", l)
		}
	}
	if ok != cfg.MaxRecipients || refused != 10000-cfg.MaxRecipients {
		t.Fatalf("%d recipients taken, %d refused; want %d taken", ok, refused, cfg.MaxRecipients)
	}
	hostiletest.Report(t, "smtp-rcpt-10000", time.Since(start), 452)
	stillServes(t, addr)
}

// A 1 MB command line gets 500 5.4.0 and the connection is closed.
func TestHostileSMTPLongLine(t *testing.T) {
	addr, _ := hostileServer(t)
	s := dialSMTP(t, addr)
	start := time.Now()
	go io.WriteString(s.c, "EHLO "+strings.Repeat("a", 1<<20)+"\r\n")
	code, l := s.reply()
	if code != "500" {
		t.Fatalf("answer %q, want 500", l)
	}
	hostiletest.Report(t, "smtp-line-1MB", time.Since(start), code)
	stillServes(t, addr)
}

// A client that pipelines commands without ever reading the answers is
// dropped once its answers cannot be written (WriteTimeout), and does not
// hold up other clients meanwhile.
func TestHostileSMTPPipeliningFlood(t *testing.T) {
	addr, _ := hostileServer(t)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	dropped := make(chan struct{})
	go func() {
		defer close(dropped)
		line := []byte(strings.Repeat("NOOP\r\n", 10000))
		for {
			if err := c.SetWriteDeadline(time.Now().Add(time.Second)); err != nil {
				return
			}
			if _, err := c.Write(line); err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					continue // the buffers are full: keep pushing
				}
				return // closed by the server
			}
		}
	}()
	stillServes(t, addr)
	select {
	case <-dropped:
	case <-time.After(15 * time.Second):
		t.Fatal("a client flooding commands without reading the answers was still connected after 15s")
	}
	hostiletest.Report(t, "smtp-pipelining-flood", time.Since(start), "closed")
}

// A client that starts DATA and never sends "." gets a 4xx once the read
// timeout passes, and the listener serves others.
func TestHostileSMTPNeverDot(t *testing.T) {
	addr, _ := hostileServer(t)
	s := dialSMTP(t, addr)
	s.cmd("EHLO slow.test")
	s.cmd("MAIL FROM:<2025550143@mms.att.net>")
	s.cmd("RCPT TO:<mms@example.org>")
	if code, l := s.cmd("DATA"); code != "354" {
		t.Fatalf("DATA: %q", l)
	}
	start := time.Now()
	io.WriteString(s.c, "Subject: hi\r\n\r\nand then nothing")
	code, l := s.reply()
	if !strings.HasPrefix(code, "4") {
		t.Fatalf("answer %q, want a 4xx when the client stalls", l)
	}
	hostiletest.Report(t, "smtp-never-dot", time.Since(start), code)
	stillServes(t, addr)
}

// MAIL with a SIZE over the limit gets 552 before any data is sent.
func TestHostileSMTPSizeOverLimit(t *testing.T) {
	addr, cfg := hostileServer(t)
	s := dialSMTP(t, addr)
	s.cmd("EHLO big.test")
	start := time.Now()
	code, l := s.cmd("MAIL FROM:<2025550143@mms.att.net> SIZE=" + strconv.Itoa(int(cfg.MaxMessageBytes)+1))
	if code != "552" {
		t.Fatalf("answer %q, want 552", l)
	}
	hostiletest.Report(t, "smtp-size-over-limit", time.Since(start), code)
	stillServes(t, addr)
}
