package server_test

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mellium.im/xmpp/jid"

	"mmsprofile/config"
	"mmsprofile/internal/mm7sample"
	"mmsprofile/internal/prosody"
	"mmsprofile/internal/server"
	"mmsprofile/internal/xmppclient"
	"mmsprofile/storage/sqlite"
)

const (
	mm7User     = "mmsc-relay"
	mm7Password = "Rel@y-2024"
	aliceNumber = "+12025550143"
)

// env is a real Prosody, a contact's client and a running mmsprofile.
type env struct {
	t      testing.TB
	xmpp   *prosody.Server
	bob    *xmppclient.Client
	alice  jid.JID
	mm7URL string
	srv    *server.Server
	// cfgPath is the configuration file, for commands run beside serve.
	cfgPath string
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// envOptions vary the environment.
type envOptions struct {
	// unlinked leaves alice's number unlinked.
	unlinked bool
	// extra is appended to the configuration file.
	extra string
	// submitURL is the fake MMSC that takes replies to phones.
	submitURL string
	// vcardModule is Prosody's vCard module: "vcard" or "vcard_legacy".
	vcardModule string
	// beforeStart runs with alice's client online, before the service
	// starts (e.g. to set her own vCard or add contacts).
	beforeStart func(ctx context.Context, xs *prosody.Server, alice *xmppclient.Client)
}

func start(t testing.TB) *env { return startWith(t, envOptions{}) }

func startWith(t testing.TB, opts envOptions) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	xs := prosody.StartT(t, prosody.Options{VCardModule: opts.vcardModule})
	for _, u := range []string{"alice", "bob"} {
		if err := xs.Register(ctx, u, "pw-"+u); err != nil {
			t.Fatal(err)
		}
	}
	alice := jid.MustParse("alice@" + xs.Domain)
	bobJID := jid.MustParse("bob@" + xs.Domain)
	log := testLogger(t)
	aliceC, err := xmppclient.Dial(ctx, xs.C2SAddr, alice, "pw-alice", log)
	if err != nil {
		t.Fatal(err)
	}
	bob, err := xmppclient.Dial(ctx, xs.C2SAddr, bobJID, "pw-bob", log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bob.Close() })
	if err := xmppclient.MutualSubscribe(ctx, aliceC, bob); err != nil {
		t.Fatal(err)
	}
	if opts.beforeStart != nil {
		opts.beforeStart(ctx, xs, aliceC)
	}
	// The owner is offline when the MMS arrives: Prosody still notifies
	// her contacts. Tests that need her online dial again.
	aliceC.Close()

	dir := t.TempDir()
	if !strings.Contains(opts.extra, "[email]") {
		opts.extra += "\n[email]\nlisten = \"\"\n"
	}
	raw := fmt.Sprintf(`
[xmpp]
component = %q
server = %q
secret = %q
domains = [%q]
reconnect_min = "100ms"
reconnect_max = "2s"
[storage]
driver = "sqlite"
dsn = %q
[mm7]
listen = "127.0.0.1:0"
path = "/mm7"
username = %q
password = %q
submit_url = %q
sender_address = "12345"
vaspid = "mmsprofile-test"
[http]
listen = ""
[publish]
retry_min = "200ms"
poll = "1s"
[profile]
service_number = "12345"
%s
`, xs.Component, xs.ComponentAddr, xs.Secret, xs.Domain, filepath.Join(dir, "state.db"), mm7User, mm7Password, opts.submitURL, opts.extra)
	cfgPath := filepath.Join(dir, "mmsprofile.toml")
	if err := os.WriteFile(cfgPath, []byte(raw), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte(raw), "test.toml")
	if err != nil {
		t.Fatal(err)
	}
	// Provision the link as an operator would, before the service starts.
	st, err := sqlite.Open(ctx, cfg.Storage.DSN)
	if err != nil {
		t.Fatal(err)
	}
	if !opts.unlinked {
		if err := st.AddLink(ctx, alice.String(), aliceNumber, "test"); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	select {
	case <-srv.Ready:
	case err := <-done:
		t.Fatalf("server stopped: %v", err)
	}
	if _, err := srv.Component().WaitPermissions(ctx, xs.Domain); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, xmpp: xs, bob: bob, alice: alice, srv: srv, cfgPath: cfgPath,
		mm7URL: "http://" + srv.MM7Addr().String() + "/mm7"}
}

func (e *env) post(d mm7sample.Deliver) (int, string) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code, body, err := mm7sample.Post(ctx, http.DefaultClient, e.mm7URL, mm7User, mm7Password, d)
	if err != nil {
		e.t.Fatal(err)
	}
	return code, mm7sample.StatusCode(body)
}

// nextAvatar waits for bob's next avatar event from alice.
func (e *env) nextAvatar() xmppclient.AvatarEvent {
	e.t.Helper()
	select {
	case ev := <-e.bob.AvatarEvents():
		if !ev.From.Equal(e.alice) {
			e.t.Fatalf("event from %s, want %s", ev.From, e.alice)
		}
		return ev
	case <-time.After(30 * time.Second):
		e.t.Fatal("no avatar event reached bob")
	}
	return xmppclient.AvatarEvent{}
}

func TestMM7PhotoBecomesAvatar(t *testing.T) {
	e := start(t)
	photo := mm7sample.Photo(1280, 960, 1)
	code, status := e.post(mm7sample.Deliver{TransactionID: "tx-1", MessageID: "msg-1", Sender: aliceNumber, Text: "At the beach", Image: photo})
	if code != http.StatusOK || status != "1000" {
		t.Fatalf("answer HTTP %d status %q, want 200/1000", code, status)
	}
	ev := e.nextAvatar()
	if len(ev.Infos) != 1 {
		t.Fatalf("metadata infos %+v", ev.Infos)
	}
	info := ev.Infos[0]
	if info.ID != ev.ItemID || info.Type != "image/png" || info.Width != 128 || info.Height != 128 {
		t.Fatalf("info %+v (item %s)", info, ev.ItemID)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	data, err := e.bob.FetchAvatarData(ctx, e.alice, ev.ItemID)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha1.Sum(data)
	if hex.EncodeToString(sum[:]) != ev.ItemID || len(data) != info.Bytes {
		t.Fatalf("data sha1 %x, %d bytes; metadata says %s, %d bytes", sum, len(data), ev.ItemID, info.Bytes)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("avatar is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 128 || b.Dy() != 128 {
		t.Fatalf("avatar %v, want 128x128", b)
	}
}

// Refused and repeated messages publish nothing: the next event bob sees
// is the one from the next good message.
func TestMM7RefusalsPublishNothing(t *testing.T) {
	e := start(t)
	tests := []struct {
		name   string
		d      mm7sample.Deliver
		status string
	}{
		{"unknown number", mm7sample.Deliver{TransactionID: "tx-u", MessageID: "m-u", Sender: "+12025550199", Image: mm7sample.Photo(64, 48, 2)}, "2003"},
		{"corrupt picture", mm7sample.Deliver{TransactionID: "tx-c", MessageID: "m-c", Sender: aliceNumber, Image: []byte("\xff\xd8\xff\xe0 not really a jpeg")}, "2004"},
	}
	for _, tc := range tests {
		code, status := e.post(tc.d)
		if code != http.StatusOK || status != tc.status {
			t.Errorf("%s: HTTP %d status %q, want 200/%s", tc.name, code, status, tc.status)
		}
	}
	first := mm7sample.Deliver{TransactionID: "tx-1", MessageID: "m-1", Sender: aliceNumber, Image: mm7sample.Photo(640, 480, 3)}
	if code, status := e.post(first); code != http.StatusOK || status != "1000" {
		t.Fatalf("good message: HTTP %d status %q", code, status)
	}
	ev1 := e.nextAvatar()
	// The MMSC retries the same message: answered as before, nothing new.
	if code, status := e.post(first); code != http.StatusOK || status != "1000" {
		t.Fatalf("repeated message: HTTP %d status %q", code, status)
	}
	second := mm7sample.Deliver{TransactionID: "tx-2", MessageID: "m-2", Sender: aliceNumber, Image: mm7sample.Photo(480, 640, 4)}
	if code, status := e.post(second); code != http.StatusOK || status != "1000" {
		t.Fatalf("second message: HTTP %d status %q", code, status)
	}
	ev2 := e.nextAvatar()
	if ev2.ItemID == ev1.ItemID {
		t.Fatalf("the repeated message was published again (%s)", ev2.ItemID)
	}
}
