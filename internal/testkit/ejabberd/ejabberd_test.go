package ejabberd_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"maps"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"mellium.im/xmpp/component"
	"mellium.im/xmpp/jid"

	"mmsprofile/internal/testkit/daemon"
	"mmsprofile/internal/testkit/ejabberd"
	"mmsprofile/internal/testkit/xmppclient"
)

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestStartCloseLeavesNothing(t *testing.T) {
	daemon.Require(t, ejabberd.Installed())
	if _, err := os.Stat("/proc/self/cmdline"); err != nil {
		t.Skip("no /proc to look for processes in")
	}
	began := time.Now()
	s, err := ejabberd.Start(testContext(t), ejabberd.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("started in %v", time.Since(began).Round(time.Millisecond))
	node, dir := s.Node, s.Dir
	if pids := daemon.Processes(t, node); len(pids) == 0 {
		s.Close()
		t.Fatalf("no process runs as node %s while the server is up", node)
	}
	began = time.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("closed in %v", time.Since(began).Round(time.Millisecond))
	if pids := daemon.Processes(t, node); len(pids) != 0 {
		t.Errorf("processes %v still run as node %s after Close", pids, node)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still there after Close: %v", dir, err)
	}
	for _, addr := range []string{s.C2SAddr, s.ComponentAddr, strings.TrimSuffix(strings.TrimPrefix(s.APIURL, "http://"), "/api")} {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after Close", addr)
		}
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestRegisterAndLogin registers an account and logs in with it over the
// plain c2s port, which is how every other test uses the server.
func TestRegisterAndLogin(t *testing.T) {
	s := ejabberd.StartT(t, ejabberd.Options{})
	ctx := testContext(t)
	if err := s.Register(ctx, "alice", "pw"); err != nil {
		t.Fatal(err)
	}
	if err := s.Register(ctx, "alice", "pw"); err == nil {
		t.Error("registering alice twice succeeded")
	}
	c, err := xmppclient.Dial(ctx, s.C2SAddr, jid.MustParse("alice@"+s.Domain), "pw", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Error(err)
	}
	if _, err := xmppclient.Dial(ctx, s.C2SAddr, jid.MustParse("alice@"+s.Domain), "wrong", nil); err == nil {
		t.Error("login with a wrong password succeeded")
	}
}

// TestComponentPrivileges connects as the component with the secret and
// reads the XEP-0356 advertisement ejabberd sends after the handshake.
// 23.01 speaks v0.2 (urn:xmpp:privilege:1): no IQ permission exists.
func TestComponentPrivileges(t *testing.T) {
	s := ejabberd.StartT(t, ejabberd.Options{})
	ctx := testContext(t)
	c, err := net.Dial("tcp", s.ComponentAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	conn := &recordingConn{Conn: c}
	sess, err := component.NewSession(ctx, jid.MustParse(s.Component), []byte(s.Secret), conn)
	if err != nil {
		t.Fatalf("component handshake: %v", err)
	}
	defer sess.Close()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	r := sess.TokenReader()
	defer r.Close()
	var msg privilegeMessage
	if err := xml.NewTokenDecoder(r).Decode(&msg); err != nil {
		t.Fatal(err)
	}
	// What came over the wire, for whoever writes the parser.
	if raw := conn.String(); strings.Contains(raw, "<message") {
		t.Logf("privilege advertisement: %s", raw[strings.Index(raw, "<message"):])
	}
	got := map[string]string{}
	for _, p := range msg.Perms {
		got[p.Access] = p.Type
	}
	// 23.01 names every access, "none" included.
	want := map[string]string{"roster": "get", "message": "outgoing", "presence": "none"}
	if msg.From != s.Domain || !maps.Equal(got, want) {
		t.Errorf("privileges from %q: %v, want from %q: %v", msg.From, got, s.Domain, want)
	}
}

type privilegeMessage struct {
	From  string `xml:"from,attr"`
	Perms []struct {
		Access string `xml:"access,attr"`
		Type   string `xml:"type,attr"`
	} `xml:"urn:xmpp:privilege:1 privilege>perm"`
}

// recordingConn keeps what it reads, to show the server's XML verbatim.
type recordingConn struct {
	net.Conn
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *recordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.buf.Write(p[:n])
	c.mu.Unlock()
	return n, err
}

func (c *recordingConn) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

func TestWrongSecretRefused(t *testing.T) {
	s := ejabberd.StartT(t, ejabberd.Options{Secret: "right"})
	conn, err := net.Dial("tcp", s.ComponentAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := component.NewSession(testContext(t), jid.MustParse(s.Component), []byte("wrong"), conn); err == nil {
		t.Fatal("handshake with a wrong secret succeeded")
	}
}

func TestOptionsValidated(t *testing.T) {
	if err := ejabberd.Installed(); err != nil {
		t.Skip(err)
	}
	for _, opts := range []ejabberd.Options{
		{LogLevel: "loud"},
		{Domain: "local\nhost"},
	} {
		if s, err := ejabberd.Start(testContext(t), opts); err == nil {
			s.Close()
			t.Errorf("Start(%+v) succeeded", opts)
		}
	}
}
