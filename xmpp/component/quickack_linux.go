//go:build linux

package component

import (
	"net"
	"syscall"
)

// quickAck makes the kernel acknowledge what the server sends at once.
// Prosody leaves Nagle's algorithm on by default: the tail of a large
// answer (a vCard with its PHOTO) then waits for the ACK of what went
// before, which Linux delays by up to 40 ms, on every such answer. Linux
// drops quick-ACK mode on its own, so it is set again after each read.
type quickAck struct {
	*net.TCPConn
	raw syscall.RawConn
}

func withQuickAck(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	q := &quickAck{TCPConn: tc, raw: raw}
	q.set()
	return q
}

func (q *quickAck) Read(b []byte) (int, error) {
	n, err := q.TCPConn.Read(b)
	q.set()
	return n, err
}

func (q *quickAck) set() {
	// A failure only costs the delay this avoids.
	_ = q.raw.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
}
