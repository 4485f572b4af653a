package app

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"mmsprofile/config"
	"mmsprofile/internal/testkit/hostiletest"
	"mmsprofile/mmsbridge"
	"mmsprofile/mmsbridge/mm7"
)

// testLimits are the defaults with timeouts short enough for a test.
func testLimits() httpLimits {
	l := httpLimitsOf(config.Default().Limits)
	l.HeaderTimeout, l.ReadTimeout = 300*time.Millisecond, 600*time.Millisecond
	return l
}

// serveHardened runs the MM7 handler (taking every message) behind
// hardenHTTP on a loopback port until the test ends. Its ConnState counts
// the connections open at once.
func serveHardened(t *testing.T, lim httpLimits) (addr string, peak func() int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := mm7.NewHandler(mm7.Config{Username: "u", Password: "p"},
		mmsbridge.ReceiverFunc(func(context.Context, *mmsbridge.Message) error { return nil }), slog.New(slog.DiscardHandler))
	srv, ln := hardenHTTP(h, ln, lim, log.New(io.Discard, "", 0))
	// Counted at the listener, not in ConnState: net/http runs the
	// StateClosed hook after the socket's Close has already freed the
	// limiter's slot, so a hook count can briefly see one too many.
	counted := &countingListener{Listener: ln}
	ln = counted
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return ln.Addr().String(), counted.peak
}

// trickle writes head then one byte of drip every step until the server
// closes the connection or total passes; it reports whether the server cut
// the client off, and what it answered before that.
func trickle(t *testing.T, addr, head, drip string, total time.Duration) (cut bool, answer string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	closed := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(c) // returns once the server closes
		closed <- string(b)
	}()
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	step := 20 * time.Millisecond
	for i := 0; time.Duration(i)*step < total; i++ {
		select {
		case a := <-closed:
			return true, a
		case <-time.After(step):
		}
		if _, err := io.WriteString(c, drip[i%len(drip):i%len(drip)+1]); err != nil {
			return true, <-closed
		}
	}
	return false, ""
}

// A client sending its request head a byte at a time is cut off at the
// header timeout instead of holding the connection for as long as it likes.
func TestHTTPSlowHeaderIsCut(t *testing.T) {
	addr, _ := serveHardened(t, testLimits())
	start := time.Now()
	cut, _ := trickle(t, addr, "POST /mm7 HTTP/1.1\r\nHost: x\r\n", "X-Slow: aaaaaaaaaaaaaaaaaaaaa\r\n", 5*time.Second)
	if !cut {
		t.Fatal("a head trickled for 5s was not cut off")
	}
	hostiletest.Report(t, "http-slow-header", time.Since(start), "closed")
}

// A client sending its body a byte at a time is cut off at the read
// timeout (answered 400 by the handler whose read failed, or closed).
func TestHTTPSlowBodyIsCut(t *testing.T) {
	addr, _ := serveHardened(t, testLimits())
	head := "POST /mm7 HTTP/1.1\r\nHost: x\r\nAuthorization: Basic dTpw\r\nContent-Type: text/xml\r\nContent-Length: 100000\r\n\r\n"
	start := time.Now()
	cut, answer := trickle(t, addr, head, "<", 5*time.Second)
	if !cut {
		t.Fatal("a body trickled for 5s was not cut off")
	}
	hostiletest.Report(t, "http-slow-body", time.Since(start), firstLine(answer))
	if answer != "" && !strings.HasPrefix(answer, "HTTP/1.1 400") {
		t.Errorf("answer %q, want 400 or a closed connection", firstLine(answer))
	}
}

// A request head of 1 MB is refused with 431 before it is all buffered.
func TestHTTPHugeHeaderRefused(t *testing.T) {
	addr, _ := serveHardened(t, testLimits())
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(20 * time.Second)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	go func() {
		fmt.Fprintf(c, "POST /mm7 HTTP/1.1\r\nHost: x\r\nX-Junk: %s\r\nContent-Length: 0\r\n\r\n", strings.Repeat("a", 1_000_000))
	}()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("HTTP %d, want 431", resp.StatusCode)
	}
	hostiletest.Report(t, "http-header-1MB", time.Since(start), resp.StatusCode)
}

// Many clients that make one request and then keep their connection idle
// hold no more than MaxConns connections; the others wait and are served
// as connections free up.
func TestHTTPIdleKeepAlivesCapped(t *testing.T) {
	lim := testLimits()
	lim.MaxConns = 4
	addr, peak := serveHardened(t, lim)
	start := time.Now()
	const clients = 20
	answered := make(chan net.Conn, clients)
	for range clients {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		go func() {
			if _, err := io.WriteString(c, "GET /mm7 HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
				return
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				return
			}
			resp.Body.Close()
			answered <- c // kept open: an idle keep-alive connection
		}()
	}
	var idle []net.Conn
	for range lim.MaxConns {
		idle = append(idle, <-answered)
	}
	// The rest are connected (in the backlog) and have sent their request;
	// give the server every chance to take more than it should.
	time.Sleep(300 * time.Millisecond)
	if p := peak(); p > lim.MaxConns {
		t.Fatalf("%d connections open at once, cap %d", p, lim.MaxConns)
	}
	// Freeing the idle ones lets the others through, a few at a time.
	for served := lim.MaxConns; served < clients; served++ {
		idle[0].Close()
		idle = append(idle[1:], <-answered)
	}
	if p := peak(); p > lim.MaxConns {
		t.Fatalf("%d connections open at once, cap %d", p, lim.MaxConns)
	}
	hostiletest.Report(t, "http-idle-keepalive-20", time.Since(start), fmt.Sprintf("peak %d conns", peak()))
}

// A thousand clients connecting at once and sending nothing hold no more
// than the default cap of connections (and their goroutines and file
// descriptors) in the server; the rest wait in the backlog.
func TestHTTPThousandConnections(t *testing.T) {
	lim := httpLimitsOf(config.Default().Limits)
	addr, peak := serveHardened(t, lim)
	start := time.Now()
	conns := make([]net.Conn, 0, 1000)
	for range 1000 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("after %d connections: %v", len(conns), err)
		}
		conns = append(conns, c)
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	time.Sleep(300 * time.Millisecond) // let the server take what it will
	if p := peak(); p > lim.MaxConns {
		t.Fatalf("%d connections open at once, cap %d", p, lim.MaxConns)
	}
	fds, _ := os.ReadDir("/proc/self/fd")
	hostiletest.Report(t, "http-1000-conns", time.Since(start), fmt.Sprintf("peak %d conns, %d goroutines, %d fds (both ends)", peak(), runtime.NumGoroutine(), len(fds)))
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\r\n")
	return l
}

// countingListener counts the connections open at once; a connection
// leaves the count before its Close reaches the listener underneath, so
// the limiter can only admit the next one after it is counted out.
type countingListener struct {
	net.Listener
	mu         sync.Mutex
	open, most int
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.open++
	l.most = max(l.most, l.open)
	l.mu.Unlock()
	return &countedConn{Conn: c, l: l}, nil
}

func (l *countingListener) peak() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.most
}

type countedConn struct {
	net.Conn
	l    *countingListener
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		c.l.open--
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}
