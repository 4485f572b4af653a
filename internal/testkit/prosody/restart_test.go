package prosody_test

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"mellium.im/xmpp/component"
	"mellium.im/xmpp/jid"

	"mmsprofile/internal/testkit/prosody"
)

// Stop is an outage: the ports close, the data stays, and Restart brings
// the same server back on the same ports.
func TestStopRestart(t *testing.T) {
	s := prosody.StartT(t, prosody.Options{})
	ctx := testContext(t)
	if err := s.Register(ctx, "alice", "pw"); err != nil {
		t.Fatal(err)
	}
	c2s, comp := s.C2SAddr, s.ComponentAddr
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if c, err := net.Dial("tcp", c2s); err == nil {
		c.Close()
		t.Fatal("c2s port still accepts connections after Stop")
	}
	if err := s.Stop(); err == nil {
		t.Error("second Stop succeeded")
	}
	if err := s.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if s.C2SAddr != c2s || s.ComponentAddr != comp {
		t.Errorf("ports moved: %s %s, were %s %s", s.C2SAddr, s.ComponentAddr, c2s, comp)
	}
	if err := s.Restart(ctx); err == nil {
		t.Error("Restart of a running server succeeded")
	}
	if _, err := os.Stat(filepath.Join(s.Dir, "localhost", "accounts", "alice.dat")); err != nil {
		t.Errorf("account lost over the restart: %v", err)
	}
	conn, err := net.Dial("tcp", s.ComponentAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := component.NewSession(ctx, jid.MustParse(s.Component), []byte(s.Secret), conn); err != nil {
		t.Fatalf("component handshake after restart: %v", err)
	}
}
