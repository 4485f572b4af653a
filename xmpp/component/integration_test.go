package component_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"mellium.im/xmpp/jid"

	"mmsprofile/internal/testkit/prosody"
	"mmsprofile/internal/testkit/xmppclient"
	"mmsprofile/xmpp/component"
	"mmsprofile/xmpp/pep"
)

func testLog(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(&tlogWriter{t}, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type tlogWriter struct{ t *testing.T }

func (w *tlogWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

// connect runs a component on xs until the test ends; setup, if given,
// sets its hooks before Run.
func connect(t *testing.T, xs *prosody.Server, secret string, setup ...func(*component.Component)) (*component.Component, context.CancelFunc, chan error) {
	t.Helper()
	c, err := component.New(component.Config{
		Domain: xs.Component, Server: xs.ComponentAddr, Secret: secret,
		ReconnectMin: 50 * time.Millisecond, ReconnectMax: 200 * time.Millisecond, IQTimeout: 10 * time.Second,
	}, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range setup {
		f(c)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return c, cancel, done
}

func TestPrivilegedPublishOnProsody(t *testing.T) {
	xs := prosody.StartT(t, prosody.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, u := range []string{"alice", "bob"} {
		if err := xs.Register(ctx, u, "pw"); err != nil {
			t.Fatal(err)
		}
	}
	c, _, _ := connect(t, xs, xs.Secret)
	perms, err := c.WaitPermissions(ctx, xs.Domain)
	if err != nil {
		t.Fatal(err)
	}
	// The software probe answers, and Prosody keeps the standard addressing.
	srv, err := c.WaitServer(ctx, xs.Domain)
	if err != nil {
		t.Fatal(err)
	}
	if srv.Name != "Prosody" || srv.Silent {
		t.Errorf("server = %+v, want Prosody", srv)
	}
	if a := c.Addressing(xs.Domain); a != component.AddressSelf {
		t.Errorf("addressing %s on Prosody, want %s", a, component.AddressSelf)
	}
	if perms.Version != component.NSPrivilege || !perms.AllowsIQ(pep.NSPubSub, "set") || !perms.AllowsIQ("vcard-temp", "get") || perms.Message != "outgoing" {
		t.Fatalf("unexpected permissions from Prosody: %s", perms)
	}

	alice := jid.MustParse("alice@" + xs.Domain)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ac, err := xmppclient.Dial(ctx, xs.C2SAddr, alice, "pw", log)
	if err != nil {
		t.Fatal(err)
	}
	bob, err := xmppclient.Dial(ctx, xs.C2SAddr, jid.MustParse("bob@"+xs.Domain), "pw", log)
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()
	if err := xmppclient.MutualSubscribe(ctx, ac, bob); err != nil {
		t.Fatal(err)
	}
	ac.Close()

	data := []byte("not really a png, but pubsub does not care")
	id := "0123456789abcdef0123456789abcdef01234567"
	if _, err := c.PrivilegedIQ(ctx, alice, "set", pep.AvatarData(id, data)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PrivilegedIQ(ctx, alice, "set", pep.AvatarMetadata(pep.AvatarInfo{ID: id, Type: "image/png", Bytes: len(data), Width: 1, Height: 1})); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-bob.AvatarEvents():
		if ev.ItemID != id || !ev.From.Equal(alice) {
			t.Fatalf("event %+v", ev)
		}
	case <-ctx.Done():
		t.Fatal("bob got no avatar event")
	}
	got, err := bob.FetchAvatarData(ctx, alice, id)
	if err != nil || string(got) != string(data) {
		t.Fatalf("data %q, %v", got, err)
	}

	// A failed wrapped IQ is reported as such, though Prosody's outer
	// answer says "result".
	_, err = c.PrivilegedIQ(ctx, alice, "get", []byte(`<vCard xmlns='vcard-temp'/>`))
	var inner *component.IQError
	if !errors.As(err, &inner) || !inner.Inner || inner.Stanza.Condition != "item-not-found" {
		t.Fatalf("vcard get before any vcard: %v, want inner item-not-found", err)
	}
	// A privileged get returns the inner answer's payload.
	if _, err := c.PrivilegedIQ(ctx, alice, "set", []byte(`<vCard xmlns='vcard-temp'><FN>Alice Example</FN></vCard>`)); err != nil {
		t.Fatalf("vcard set: %v", err)
	}
	vc, err := c.PrivilegedIQ(ctx, alice, "get", []byte(`<vCard xmlns='vcard-temp'/>`))
	if err != nil || !strings.Contains(string(vc), "Alice Example") || !strings.Contains(string(vc), "vcard-temp") {
		t.Fatalf("vcard get: %q, %v", vc, err)
	}

	// Not granted: refused here, never sent (Debian's module would break
	// the stream).
	_, err = c.PrivilegedIQ(ctx, alice, "set", []byte(`<query xmlns='jabber:iq:roster'/>`))
	if !errors.Is(err, component.ErrNotGranted) {
		t.Fatalf("roster set: %v, want ErrNotGranted", err)
	}
	// An account that does not exist: the server refuses, and we say so.
	_, err = c.PrivilegedIQ(ctx, jid.MustParse("nobody@"+xs.Domain), "set", pep.AvatarData(id, data))
	var iqErr *component.IQError
	if !errors.As(err, &iqErr) {
		t.Fatalf("unknown user: %v, want *IQError", err)
	}
	t.Logf("unknown user: %v", iqErr)
	if !c.Connected() {
		t.Fatal("session dropped after the refusals")
	}
}

func TestWrongSecretKeepsRetrying(t *testing.T) {
	xs := prosody.StartT(t, prosody.Options{})
	// The metrics tell a wrong secret from other failures by this reason.
	reasons := make(chan string, 64)
	c, cancel, done := connect(t, xs, "wrong-"+xs.Secret, func(c *component.Component) {
		c.OnHandshakeFailure = func(reason string) {
			select {
			case reasons <- reason:
			default:
			}
		}
	})
	select {
	case r := <-reasons:
		if r != component.HandshakeNotAuthorized {
			t.Errorf("handshake failure %q, want %q", r, component.HandshakeNotAuthorized)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no handshake failure reported")
	}
	ctx, stop := context.WithTimeout(context.Background(), 2*time.Second)
	defer stop()
	if _, err := c.WaitPermissions(ctx, xs.Domain); err == nil {
		t.Fatal("permissions with a wrong secret")
	}
	if c.Connected() {
		t.Fatal("connected with a wrong secret")
	}
	select {
	case err := <-done:
		t.Fatalf("Run gave up: %v", err)
	default:
	}
	cancel()
}
