package email

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"mmsprofile/mmsbridge"
)

// A message read whole is committed even when the session ends under it
// (the server closing, which calls the session's Logout): the commit runs
// under its own deadline, not the connection's.
func TestDeliveryOutlivesTheSession(t *testing.T) {
	entered, closed, result := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	rcv := mmsbridge.ReceiverFunc(func(ctx context.Context, _ *mmsbridge.Message) error {
		close(entered)
		select { // the server closes meanwhile
		case <-closed:
		case <-time.After(10 * time.Second):
		}
		result <- ctx.Err()
		return ctx.Err()
	})
	cfg := NewConfig()
	cfg.RequireAuth = false
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(cfg, rcv, false, slog.New(slog.DiscardHandler))
	go s.Serve(GuardListener(l))
	c := dialSMTP(t, l.Addr().String())
	for _, line := range []string{"EHLO a.test", "MAIL FROM:<2025550143@mms.att.net>", "RCPT TO:<mms@example.org>", "DATA"} {
		c.cmd(line)
	}
	io.WriteString(c.c, "From: 2025550143@mms.att.net\r\nSubject: hi\r\n\r\nAt the beach\r\n.\r\n")
	<-entered
	s.Close()
	close(closed)
	if err := <-result; err != nil {
		t.Fatalf("the commit saw %v: it ran under the session's context", err)
	}
}
