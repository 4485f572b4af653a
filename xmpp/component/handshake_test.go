package component

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"mellium.im/xmpp/stream"
)

func TestHandshakeReason(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{stream.NotAuthorized, HandshakeNotAuthorized},
		{fmt.Errorf("negotiate: %w", stream.Conflict), HandshakeConflict},
		{stream.HostUnknown, HandshakeHostUnknown},
		{stream.ImproperAddressing, HandshakeHostUnknown},
		{stream.HostGone, HandshakeHostUnknown},
		{stream.InternalServerError, HandshakeStreamError},
		{io.EOF, HandshakeOther},
		{context.DeadlineExceeded, HandshakeOther},
	}
	for _, tc := range tests {
		if got := handshakeReason(tc.err); got != tc.want {
			t.Errorf("handshakeReason(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

// refusingServer answers every XEP-0114 handshake on a loopback port with
// the stream error a server sends for a wrong secret.
func refusingServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				r := bufio.NewReader(conn)
				if _, err := r.ReadString('>'); err != nil { // <stream:stream …>
					return
				}
				fmt.Fprint(conn, `<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' `+
					`xmlns:stream='http://etherx.jabber.org/streams' id='s1' from='mms.example.org'>`)
				if _, err := r.ReadString('>'); err != nil { // <handshake>
					return
				}
				fmt.Fprint(conn, `<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>`)
				_, _ = io.Copy(io.Discard, r)
			}()
		}
	}()
	return ln.Addr().String()
}

func TestRunReportsRefusedHandshake(t *testing.T) {
	c, err := New(Config{
		Domain: "mms.example.org", Server: refusingServer(t), Secret: "wrong",
		ReconnectMin: 10 * time.Millisecond, ReconnectMax: 10 * time.Millisecond,
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	reasons := make(chan string, 16)
	c.OnHandshakeFailure = func(reason string) {
		select {
		case reasons <- reason:
		default:
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	select {
	case got := <-reasons:
		if got != HandshakeNotAuthorized {
			t.Errorf("OnHandshakeFailure(%q), want %q", got, HandshakeNotAuthorized)
		}
	case <-ctx.Done():
		t.Fatal("OnHandshakeFailure never called")
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run: %v", err)
	}
}
