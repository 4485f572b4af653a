package postfix_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"mmsprofile/internal/testkit/daemon"
	"mmsprofile/internal/testkit/postfix"
)

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// lmtpSink is the far end of the relay: a go-smtp LMTP server that keeps
// what it is given and refuses mail from refuse@… with 550 5.7.1. It
// tests the harness, so the real LMTP server under test is not needed.
type lmtpSink struct {
	addr string
	mu   sync.Mutex
	got  [][]byte
}

func startSink(t *testing.T) *lmtpSink {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	k := &lmtpSink{addr: l.Addr().String()}
	srv := smtp.NewServer(k)
	srv.LMTP = true
	srv.Domain = "sink.test"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return k
}

func (k *lmtpSink) NewSession(*smtp.Conn) (smtp.Session, error) { return &sinkSession{k: k}, nil }

func (k *lmtpSink) messages() [][]byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([][]byte(nil), k.got...)
}

type sinkSession struct {
	k    *lmtpSink
	from string
}

func (s *sinkSession) AuthPlain(string, string) error { return smtp.ErrAuthUnsupported }
func (s *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}
func (s *sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *sinkSession) Reset()                               {}
func (s *sinkSession) Logout() error                        { return nil }
func (s *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if strings.HasPrefix(s.from, "refuse@") {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "sender not wanted here"}
	}
	s.k.mu.Lock()
	s.k.got = append(s.k.got, b)
	s.k.mu.Unlock()
	return nil
}

// send speaks SMTP to addr and returns the server's last answer: to DATA's
// end, or to whichever command was refused.
func send(t *testing.T, addr, from, to, body string) string {
	t.Helper()
	c, err := textproto.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// step sends line (none for the greeting and DATA's end) and reads
	// the answer, which is ok if it has the code wanted.
	step := func(code int, line string) (string, bool) {
		if line != "" {
			if err := c.PrintfLine("%s", line); err != nil {
				t.Fatal(err)
			}
		}
		got, msg, err := c.ReadResponse(code)
		return fmt.Sprintf("%d %s", got, msg), err == nil
	}
	for _, s := range []struct {
		code int
		line string
	}{{220, ""}, {250, "EHLO client.test"}, {250, "MAIL FROM:<" + from + ">"}, {250, "RCPT TO:<" + to + ">"}, {354, "DATA"}} {
		if reply, ok := step(s.code, s.line); !ok {
			return reply
		}
	}
	w := c.DotWriter()
	if _, err := io.WriteString(w, body); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	reply, _ := step(250, "")
	_, _ = step(221, "QUIT")
	return reply
}

func TestPostfixRelaysOverLMTP(t *testing.T) {
	sink := startSink(t)
	pf := postfix.StartT(t, postfix.Options{Routes: map[string]string{"relay.test": "lmtp:inet:" + sink.addr}})
	ctx := testContext(t)

	reply := send(t, pf.SMTPAddr, "someone@sender.test", "box@relay.test", "Subject: hi\r\n\r\nhello\r\n")
	id, ok := postfix.QueuedAs(reply)
	if !ok {
		t.Fatalf("not queued: %s", reply)
	}
	d, err := pf.WaitDelivery(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != "sent" || d.To != "box@relay.test" || !strings.HasSuffix(d.Relay, "]:"+sink.addr[strings.LastIndexByte(sink.addr, ':')+1:]) {
		t.Fatalf("delivery %+v", d)
	}
	msgs := sink.messages()
	if len(msgs) != 1 {
		t.Fatalf("sink got %d messages", len(msgs))
	}
	// The Received line an LMTP server behind this MTA trusts.
	if want := "by " + pf.Hostname + " (Postfix)"; !bytes.Contains(msgs[0], []byte(want)) || !bytes.Contains(msgs[0], []byte("[127.0.0.1]")) {
		t.Fatalf("no %q with the client's address in:\n%s", want, msgs[0])
	}

	// Refused by the LMTP server: bounced, with its reason in the log.
	reply = send(t, pf.SMTPAddr, "refuse@sender.test", "box@relay.test", "Subject: no\r\n\r\nno\r\n")
	if id, ok = postfix.QueuedAs(reply); !ok {
		t.Fatalf("not queued: %s", reply)
	}
	if d, err = pf.WaitDelivery(ctx, id); err != nil {
		t.Fatal(err)
	}
	if d.Status != "bounced" || d.DSN != "5.7.1" || !strings.Contains(d.Detail, "said: 550 5.7.1 ") || !strings.Contains(d.Detail, "sender not wanted here") {
		t.Fatalf("delivery %+v", d)
	}

	// Not a routed domain: refused at RCPT, nothing relayed anywhere.
	if reply := send(t, pf.SMTPAddr, "someone@sender.test", "x@elsewhere.test", "x"); !strings.HasPrefix(reply, "5") {
		t.Fatalf("foreign domain: %s", reply)
	}
}

// instanceProcesses lists the pids of processes that belong to the
// instance configured in dir: master names dir on its command line and
// hands it to its daemons as MAIL_CONFIG.
func instanceProcesses(t *testing.T, dir string) []string {
	t.Helper()
	procs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		t.Fatal(err)
	}
	var pids []string
	for _, p := range procs {
		cmdline, _ := os.ReadFile(filepath.Join(p, "cmdline"))
		environ, _ := os.ReadFile(filepath.Join(p, "environ"))
		if bytes.Contains(cmdline, []byte(dir)) || bytes.Contains(environ, []byte("MAIL_CONFIG="+dir+"\x00")) {
			pids = append(pids, filepath.Base(p))
		}
	}
	return pids
}

func skipUnlessInstalled(t *testing.T) {
	t.Helper()
	daemon.Require(t, postfix.Installed())
	if _, err := os.Stat("/proc/self/environ"); err != nil {
		t.Skip("no /proc to look for processes in")
	}
}

func TestPostfixCloseLeavesNothing(t *testing.T) {
	skipUnlessInstalled(t)
	pf, err := postfix.Start(testContext(t), postfix.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, dir := pf.ConfigDir, pf.Dir
	// A session makes master start an smtpd besides its resident daemons.
	send(t, pf.SMTPAddr, "a@b.test", "c@d.test", "x")
	if pids := instanceProcesses(t, cfg); len(pids) < 2 {
		pf.Close()
		t.Fatalf("processes %v of %s while it is up, want master and daemons", pids, cfg)
	}
	if err := pf.Close(); err != nil {
		t.Fatal(err)
	}
	if pids := instanceProcesses(t, cfg); len(pids) != 0 {
		t.Errorf("processes %v of %s still run after Close", pids, cfg)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still there after Close: %v", dir, err)
	}
}

// A test binary killed by `go test -timeout` never calls Close: the
// instance must go with it. The child is this test binary again, which
// starts an instance, prints its config directory and waits to be killed.
func TestPostfixDiesWithItsStarter(t *testing.T) {
	if os.Getenv("POSTFIX_TEST_CHILD") == "1" {
		pf, err := postfix.Start(context.Background(), postfix.Options{})
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("config:", pf.ConfigDir)
		select {}
	}
	skipUnlessInstalled(t)
	ctx := testContext(t)
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestPostfixDiesWithItsStarter$")
	cmd.Env = append(os.Environ(), "POSTFIX_TEST_CHILD=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "config: ") {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("child: %q %v", line, err)
	}
	cfg := strings.TrimSpace(strings.TrimPrefix(line, "config: "))
	t.Cleanup(func() { os.RemoveAll(filepath.Dir(cfg)) }) // Close never ran
	if pids := instanceProcesses(t, cfg); len(pids) == 0 {
		t.Fatalf("no process of %s while the child runs", cfg)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for {
		pids := instanceProcesses(t, cfg)
		if len(pids) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes %v of %s outlive the process that started them", pids, cfg)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
