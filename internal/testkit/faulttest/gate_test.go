package faulttest

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// gate sits on the component link between serve and Prosody: open, it
// forwards; cut, it drops every forwarded connection and closes new ones
// at once, as a network that lost its route would. Tests use it to decide
// when a component may (re)connect.
type gate struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	open  bool
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// newGate listens on a free loopback port and forwards to target; it is
// open and is closed when t ends.
func newGate(t testing.TB, target string) *gate {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{ln: ln, target: target, open: true, conns: map[net.Conn]struct{}{}}
	g.wg.Add(1)
	go g.serve()
	t.Cleanup(g.close)
	return g
}

// Addr is where serve connects instead of Prosody's component port.
func (g *gate) Addr() string { return g.ln.Addr().String() }

// Open lets connections through again.
func (g *gate) Open() {
	g.mu.Lock()
	g.open = true
	g.mu.Unlock()
}

// Cut drops every forwarded connection and refuses new ones until Open.
func (g *gate) Cut() {
	g.mu.Lock()
	g.open = false
	for c := range g.conns {
		c.Close()
	}
	g.mu.Unlock()
}

func (g *gate) close() {
	g.ln.Close()
	g.Cut()
	g.wg.Wait()
}

func (g *gate) serve() {
	defer g.wg.Done()
	for {
		c, err := g.ln.Accept()
		if err != nil {
			return
		}
		g.wg.Add(1)
		go g.forward(c)
	}
}

func (g *gate) forward(down net.Conn) {
	defer g.wg.Done()
	g.mu.Lock()
	open := g.open
	g.mu.Unlock()
	if !open {
		down.Close()
		return
	}
	up, err := net.DialTimeout("tcp", g.target, 5*time.Second)
	if err != nil {
		down.Close()
		return
	}
	g.mu.Lock()
	if !g.open { // cut while dialling
		g.mu.Unlock()
		down.Close()
		up.Close()
		return
	}
	g.conns[down], g.conns[up] = struct{}{}, struct{}{}
	g.mu.Unlock()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		// Either side ending ends both, as a TCP proxy must.
		dst.Close()
		src.Close()
		done <- struct{}{}
	}
	go pipe(up, down)
	go pipe(down, up)
	<-done
	<-done
	g.mu.Lock()
	delete(g.conns, down)
	delete(g.conns, up)
	g.mu.Unlock()
}
