package component_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"mellium.im/xmpp/jid"

	"mmsprofile/internal/testkit/ejabberd"
	"mmsprofile/xmpp/component"
	"mmsprofile/xmpp/pep"
)

// Privileged IQs on each ejabberd with XEP-0356 IQ permission, started
// from Debian 13 roots: 24.12 bounces a self-addressed wrapped IQ back
// (processone/ejabberd#4347) and drops the component's own IQs (#4336),
// 26.07 does neither. Both must carry out a vCard read and write and an
// avatar publish well within one IQ timeout.
func TestPrivilegedIQOnEjabberd(t *testing.T) {
	for _, g := range ejabberd.Generations() {
		if g.Root == "" {
			continue // 23.01 has no IQ permission; see the HTTP API tests
		}
		t.Run(g.Name, func(t *testing.T) {
			xs := ejabberd.StartT(t, ejabberd.Options{Root: g.Root})
			t.Logf("ejabberd %s from %s", xs.Version, g.Root)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			if err := xs.Register(ctx, "alice", "pw"); err != nil {
				t.Fatal(err)
			}
			c, err := component.New(component.Config{
				Domain: xs.Component, Server: xs.ComponentAddr, Secret: xs.Secret,
				ReconnectMin: 50 * time.Millisecond, ReconnectMax: 200 * time.Millisecond,
				IQTimeout: 20 * time.Second, OwnIQTimeout: 5 * time.Second,
			}, testLog(t))
			if err != nil {
				t.Fatal(err)
			}
			failures := map[string]int{}
			c.OnIQFailure = func(host, reason string) { failures[host+" "+reason]++ }
			rctx, stop := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- c.Run(rctx) }()
			defer func() { stop(); <-done }()

			perms, err := c.WaitPermissions(ctx, xs.Domain)
			if err != nil {
				t.Fatal(err)
			}
			if perms.Version != component.NSPrivilege || !perms.AllowsIQ("vcard-temp", "set") {
				t.Fatalf("perms %+v", perms)
			}
			// The first IQ goes out before the software probe has ended
			// (OwnIQTimeout is longer than the round trip), so on 24.12 it
			// is bounced, seen at once, and sent again respelled.
			alice := jid.MustParse("alice@" + xs.Domain)
			began := time.Now()
			_, err = c.PrivilegedIQ(ctx, alice, "get", []byte(`<vCard xmlns='vcard-temp'/>`))
			var iqErr *component.IQError
			if err != nil && !(errors.As(err, &iqErr) && iqErr.Inner) {
				t.Fatalf("vCard get: %v", err)
			}
			t.Logf("vCard get of an account without one: %v (%s, addressing %s, failures %v)", err, time.Since(began).Round(time.Millisecond), c.Addressing(xs.Domain), failures)
			old := strings.HasPrefix(xs.Version, "24.")
			wantAddr, wantBounces := component.AddressSelf, 0
			if old {
				wantAddr, wantBounces = component.AddressRespelled, 1
			}
			if a := c.Addressing(xs.Domain); a != wantAddr {
				t.Errorf("addressing %s after the first IQ, want %s", a, wantAddr)
			}
			if n := failures[xs.Domain+" bounced"]; n != wantBounces {
				t.Errorf("%d bounces counted, want %d", n, wantBounces)
			}
			srv, err := c.WaitServer(ctx, xs.Domain)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("server: %s", srv)
			if old {
				// Known as ejabberd from the bounce at once; the probe then
				// ends unanswered (#4336), after OwnIQTimeout.
				if !srv.Ejabberd() && !srv.Silent {
					t.Errorf("server %+v after a bounce, want ejabberd", srv)
				}
				for !srv.Silent && ctx.Err() == nil {
					time.Sleep(100 * time.Millisecond)
					srv, _ = c.Server(xs.Domain)
				}
				t.Logf("server after the probe: %s", srv)
				if !srv.Silent {
					t.Errorf("24.x answered the component's own IQ: %+v", srv)
				}
			}
			if !old && (!srv.Ejabberd() || srv.Version == "") {
				t.Errorf("server %+v, want ejabberd and its version", srv)
			}
			vc := `<vCard xmlns='vcard-temp'><NICKNAME>Ally</NICKNAME></vCard>`
			if _, err := c.PrivilegedIQ(ctx, alice, "set", []byte(vc)); err != nil {
				t.Fatalf("vCard set: %v", err)
			}
			got, err := c.PrivilegedIQ(ctx, alice, "get", []byte(`<vCard xmlns='vcard-temp'/>`))
			if err != nil || !strings.Contains(string(got), "Ally") {
				t.Fatalf("vCard read back: %q, %v", got, err)
			}
			if _, err := c.PrivilegedIQ(ctx, alice, "set", pep.AvatarData("0123456789abcdef0123456789abcdef01234567", []byte("x"))); err != nil {
				t.Fatalf("avatar data publish: %v", err)
			}
			t.Logf("failures seen: %v; addressing now %s", failures, c.Addressing(xs.Domain))
		})
	}
}

// A wrong secret is told apart from other failures on every ejabberd too:
// the alert on component handshake failures reads this reason.
func TestWrongSecretOnEjabberd(t *testing.T) {
	for _, g := range ejabberd.Generations() {
		t.Run(g.Name, func(t *testing.T) {
			xs := ejabberd.StartT(t, ejabberd.Options{Root: g.Root})
			c, err := component.New(component.Config{
				Domain: xs.Component, Server: xs.ComponentAddr, Secret: "wrong-" + xs.Secret,
				ReconnectMin: 50 * time.Millisecond, ReconnectMax: 200 * time.Millisecond, IQTimeout: 10 * time.Second,
			}, testLog(t))
			if err != nil {
				t.Fatal(err)
			}
			reasons := make(chan string, 64)
			c.OnHandshakeFailure = func(reason string) {
				select {
				case reasons <- reason:
				default:
				}
			}
			rctx, stop := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- c.Run(rctx) }()
			defer func() { stop(); <-done }()
			for i := range 2 { // and again after the reconnect
				select {
				case r := <-reasons:
					if r != component.HandshakeNotAuthorized {
						t.Errorf("ejabberd %s: handshake failure %d is %q, want %q", xs.Version, i, r, component.HandshakeNotAuthorized)
					}
				case <-time.After(20 * time.Second):
					t.Fatalf("ejabberd %s: no handshake failure %d reported", xs.Version, i)
				}
			}
			if c.Connected() {
				t.Fatal("connected with a wrong secret")
			}
		})
	}
}
