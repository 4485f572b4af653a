package prosody_test

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mellium.im/xmpp/component"
	"mellium.im/xmpp/jid"

	"mmsprofile/internal/testkit/daemon"
	"mmsprofile/internal/testkit/prosody"
)

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestStartCloseLeavesNothing(t *testing.T) {
	daemon.Require(t, prosody.Installed())
	if _, err := os.Stat("/proc/self/cmdline"); err != nil {
		t.Skip("no /proc to look for processes in")
	}
	s, err := prosody.Start(testContext(t), prosody.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, dir := s.ConfigFile, s.Dir
	if pids := daemon.Processes(t, cfg); len(pids) == 0 {
		s.Close()
		t.Fatalf("no process runs with %s while the server is up", cfg)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if pids := daemon.Processes(t, cfg); len(pids) != 0 {
		t.Errorf("processes %v still run with %s after Close", pids, cfg)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still there after Close: %v", dir, err)
	}
	for _, addr := range []string{s.C2SAddr, s.ComponentAddr} {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after Close", addr)
		}
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestRegister(t *testing.T) {
	for _, g := range prosody.Generations() {
		t.Run(g.Name, func(t *testing.T) {
			s := prosody.StartT(t, prosody.Options{Root: g.Root})
			ctx := testContext(t)
			if err := s.Register(ctx, "alice", "pw"); err != nil {
				t.Fatal(err)
			}
			// Internal storage keeps one file per account under Dir.
			if _, err := os.Stat(filepath.Join(s.Dir, "localhost", "accounts", "alice.dat")); err != nil {
				t.Errorf("account file: %v", err)
			}
		})
	}
}

// TestComponentPrivileges connects as the component with the secret and
// reads the XEP-0356 advertisement Prosody sends after the handshake.
func TestComponentPrivileges(t *testing.T) {
	for _, g := range prosody.Generations() {
		for _, vcard := range []string{"vcard", "vcard_legacy"} {
			t.Run(g.Name+"/"+vcard, func(t *testing.T) {
				s := prosody.StartT(t, prosody.Options{VCardModule: vcard, Root: g.Root})
				ctx := testContext(t)
				conn, err := net.Dial("tcp", s.ComponentAddr)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				sess, err := component.NewSession(ctx, jid.MustParse(s.Component), []byte(s.Secret), conn)
				if err != nil {
					t.Fatalf("component handshake: %v", err)
				}
				defer sess.Close()
				conn.SetReadDeadline(time.Now().Add(10 * time.Second))
				r := sess.TokenReader()
				defer r.Close()
				// The first element is the <message/> with <privilege/>.
				var msg privilegeMessage
				if err := xml.NewTokenDecoder(r).Decode(&msg); err != nil {
					t.Fatal(err)
				}
				got := map[string]string{}
				for _, p := range msg.Perms {
					if p.Access != "iq" {
						got[p.Access] = p.Type
					}
					walkNamespaces(p.Namespaces, func(n namespacePerm) { got[n.NS] = n.Type })
				}
				want := map[string]string{
					"roster":                                "get",
					"message":                               "outgoing",
					"http://jabber.org/protocol/pubsub":     "set",
					"vcard-temp":                            "both",
					"http://jabber.org/protocol/disco#info": "get",
				}
				if msg.From != s.Domain || !maps.Equal(got, want) {
					t.Errorf("privileges from %q: %v, want from %q: %v", msg.From, got, s.Domain, want)
				}
			})
		}
	}
}

type privilegeMessage struct {
	From  string `xml:"from,attr"`
	Perms []struct {
		Access     string          `xml:"access,attr"`
		Type       string          `xml:"type,attr"`
		Namespaces []namespacePerm `xml:"namespace"`
	} `xml:"urn:xmpp:privilege:2 privilege>perm"`
}

// namespacePerm nests because Debian's mod_privilege forgets an :up() and
// puts each <namespace/> inside the previous one.
type namespacePerm struct {
	NS       string          `xml:"ns,attr"`
	Type     string          `xml:"type,attr"`
	Children []namespacePerm `xml:"namespace"`
}

func walkNamespaces(ns []namespacePerm, f func(namespacePerm)) {
	for _, n := range ns {
		f(n)
		walkNamespaces(n.Children, f)
	}
}

func TestWrongSecretRefused(t *testing.T) {
	s := prosody.StartT(t, prosody.Options{Secret: "right"})
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
	if err := prosody.Installed(); err != nil {
		t.Skip(err)
	}
	for _, opts := range []prosody.Options{
		{VCardModule: "vcard4"},
		{LogLevel: "loud"},
		{Domain: "local\nhost"},
	} {
		if s, err := prosody.Start(testContext(t), opts); err == nil {
			s.Close()
			t.Errorf("Start(%+v) succeeded", opts)
		}
	}
}

func TestLogToWriter(t *testing.T) {
	var buf lockedBuffer
	s := prosody.StartT(t, prosody.Options{Log: &buf, LogLevel: "info"})
	if s.LogFile != "" {
		t.Errorf("LogFile = %q with Options.Log set", s.LogFile)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "Activated service 'component'") {
		t.Errorf("log lacks the component port line:\n%s", buf.String())
	}
}

// TestAbandonedServerDies: a test binary that dies without calling Close
// (as on `go test -timeout`) must not leave prosody running.
func TestAbandonedServerDies(t *testing.T) {
	if os.Getenv("PROSODY_TEST_ABANDON") == "1" {
		s, err := prosody.Start(testContext(t), prosody.Options{})
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(2)
		}
		fmt.Printf("config=%s dir=%s\n", s.ConfigFile, s.Dir)
		os.Exit(0) // no Close, no cleanups
	}
	daemon.Require(t, prosody.Installed())
	if _, err := os.Stat("/proc/self/cmdline"); err != nil {
		t.Skip("no /proc to look for processes in")
	}
	ctx := testContext(t)
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestAbandonedServerDies$")
	cmd.Env = append(os.Environ(), "PROSODY_TEST_ABANDON=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helper: %v: %s", err, out)
	}
	var cfg, dir string
	if _, err := fmt.Sscanf(string(out), "config=%s dir=%s", &cfg, &dir); err != nil {
		t.Fatalf("helper said %q: %v", out, err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// The kernel delivers the signal when the helper exits; wait for the
	// process to be reaped rather than for a fixed time.
	for len(daemon.Processes(t, cfg)) > 0 {
		select {
		case <-ctx.Done():
			t.Fatalf("processes %v still run with %s after their parent died", daemon.Processes(t, cfg), cfg)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
