//go:build linux

package component

import (
	"io"
	"net"
	"syscall"
	"testing"
)

// The option only matters if it is really on the socket after each read:
// Linux leaves quick-ACK mode by itself once the connection looks
// interactive.
func TestQuickAckAfterRead(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		// Request and answer, as IQs go: what makes Linux delay ACKs.
		one := make([]byte, 1)
		for i := 0; i < 20; i++ {
			if _, err := c.Read(one); err != nil {
				return
			}
			if _, err := c.Write(make([]byte, 1000)); err != nil {
				return
			}
		}
	}()
	raw, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c := withQuickAck(raw)
	defer c.Close()
	if _, ok := c.(*quickAck); !ok {
		t.Fatalf("a TCP connection was not wrapped: %T", c)
	}
	buf := make([]byte, 1000)
	for i := 0; i < 20; i++ {
		if _, err := c.Write([]byte{'?'}); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			t.Fatal(err)
		}
		sc, _ := raw.(*net.TCPConn).SyscallConn()
		var on int
		var gerr error
		_ = sc.Control(func(fd uintptr) {
			on, gerr = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK)
		})
		if gerr != nil {
			t.Fatal(gerr)
		}
		if on != 1 {
			t.Fatalf("read %d: TCP_QUICKACK is %d after the read", i, on)
		}
	}
}
