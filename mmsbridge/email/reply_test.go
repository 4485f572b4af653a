package email

import (
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"
)

// smarthost is a go-smtp server that keeps what it is sent.
type smarthost struct {
	mu   sync.Mutex
	from string
	to   []string
	data []byte
}

func (h *smarthost) NewSession(*smtp.Conn) (smtp.Session, error) { return &smarthostSession{h: h}, nil }

type smarthostSession struct{ h *smarthost }

func (s *smarthostSession) Reset()        {}
func (s *smarthostSession) Logout() error { return nil }
func (s *smarthostSession) Mail(from string, _ *smtp.MailOptions) error {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	s.h.from = from
	return nil
}
func (s *smarthostSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	s.h.to = append(s.h.to, to)
	return nil
}
func (s *smarthostSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	s.h.data = b
	return err
}

func TestReplier(t *testing.T) {
	h := &smarthost{}
	srv := smtp.NewServer(h)
	srv.Domain = "smarthost.test"
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })

	rp := &Replier{Smarthost: l.Addr().String(), From: "avatar@xmpp.example.com", Hostname: "mms.example.org", Timeout: 10 * time.Second}
	err = rp.Send(context.Background(), Reply{
		To:        "2025550143@mms.att.net",
		Subject:   "Link your number – code 4821",
		Text:      "Reply with LINK 4821 to link this phone to jani@example.org.\nÜmlauts stay.",
		InReplyTo: "1715692872117.88213.JavaMail.mms@mms-relay-14",
	})
	if err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.from != "avatar@xmpp.example.com" || len(h.to) != 1 || h.to[0] != "2025550143@mms.att.net" {
		t.Fatalf("envelope %q %q", h.from, h.to)
	}
	mr, err := mail.CreateReader(bytes.NewReader(h.data))
	if err != nil {
		t.Fatal(err)
	}
	subj, _ := mr.Header.Subject()
	if subj != "Link your number – code 4821" {
		t.Errorf("subject %q", subj)
	}
	if got := mr.Header.Get("Auto-Submitted"); got != "auto-replied" {
		t.Errorf("Auto-Submitted %q", got)
	}
	if got := mr.Header.Get("In-Reply-To"); got != "<1715692872117.88213.JavaMail.mms@mms-relay-14>" {
		t.Errorf("In-Reply-To %q", got)
	}
	p, err := mr.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(p.Body)
	if got := strings.ReplaceAll(strings.TrimSpace(string(body)), "\r\n", "\n"); got != "Reply with LINK 4821 to link this phone to jani@example.org.\nÜmlauts stay." {
		t.Errorf("body %q", got)
	}
}

func TestReplierRefusesHeaderInjection(t *testing.T) {
	rp := &Replier{Smarthost: "127.0.0.1:1", From: "a@b.example"}
	if err := rp.Send(context.Background(), Reply{To: "x@y.example\r\nBcc: z@w.example", Text: "hi"}); err == nil {
		t.Fatal("no error for a line break in To")
	}
}

func TestReplierSmarthostDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	rp := &Replier{Smarthost: addr, From: "a@b.example", Timeout: 2 * time.Second}
	if err := rp.Send(context.Background(), Reply{To: "x@y.example", Text: "hi"}); err == nil || !strings.Contains(err.Error(), "email: reply to x@y.example") {
		t.Fatalf("err %v", err)
	}
}
