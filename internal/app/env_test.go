package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mellium.im/xmpp/jid"

	"mmsprofile/config"
	"mmsprofile/internal/app"
	"mmsprofile/internal/testkit/mm7sample"
	"mmsprofile/internal/testkit/pgtest"
	"mmsprofile/internal/testkit/xmppclient"
	"mmsprofile/storage/postgres"
	"mmsprofile/storage/sqlite"
)

const (
	mm7User     = "mmsc-relay"
	mm7Password = "Rel@y-2024"
	aliceNumber = "+12025550143"
)

// env is a real XMPP server (Prosody or ejabberd), a contact's client and
// a running mmsprofile.
type env struct {
	t      testing.TB
	xmpp   *xmppServer
	bob    *xmppclient.Client
	alice  jid.JID
	mm7URL string
	srv    *app.Server
	// cfgPath is the configuration file, for commands run beside serve.
	cfgPath string
	// driver and dsn are the service's database: SQLite, or PostgreSQL
	// with envOptions.postgres.
	driver, dsn string
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// envOptions vary the environment.
type envOptions struct {
	// ejabberd runs the test against ejabberd instead of Prosody.
	ejabberd bool
	// ejabberdRoot, with ejabberd, is the Debian root whose ejabberd to
	// run (ejabberd.Generations); "" is the system's 23.01.
	ejabberdRoot string
	// vcardModule is Prosody's vCard module: "vcard" or "vcard_legacy".
	vcardModule string
	// prosodyRoot is the Debian root whose Prosody to run
	// (prosody.Generations); "" is the system's 0.12.
	prosodyRoot string
	// ownerOnline keeps alice's session open while the MMS arrives;
	// otherwise she is offline (bob has seen her leave), and Prosody still
	// notifies her contacts (ejabberd does not: TestEjabberdOwnerOffline).
	// Tests that need her online later dial again.
	ownerOnline bool
	// moodFromStatus sets [profile] status_as_mood.
	moodFromStatus bool
	// unlinked leaves alice's number unlinked.
	unlinked bool
	// roster is the XEP-0356 roster permission the server grants the
	// component: "get" (the harness's default), "set" or "both".
	roster string
	// postgres stores in a fresh PostgreSQL database (pgtest) instead of
	// SQLite.
	postgres bool
	// extra is appended to the configuration file.
	extra string
	// submitURL is the fake MMSC that takes replies to phones.
	submitURL string
	// beforeStart runs with alice's client online and subscribed to bob,
	// before the service starts (e.g. to set her own vCard or add
	// contacts).
	beforeStart func(ctx context.Context, xs *xmppServer, alice *xmppclient.Client)
}

func start(t testing.TB) *env { return startWith(t, envOptions{}) }

func startWith(t testing.TB, opts envOptions) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var xs *xmppServer
	if opts.ejabberd {
		xs = startEjabberd(t, opts.ejabberdRoot, opts.roster)
	} else {
		xs = startProsody(t, opts.vcardModule, opts.prosodyRoot, opts.roster)
	}
	for _, u := range []string{"alice", "bob"} {
		if err := xs.Register(ctx, u, "pw-"+u); err != nil {
			t.Fatal(err)
		}
	}
	log := testLogger(t)
	aliceC := xs.dial(ctx, t, "alice", log)
	bob := xs.dial(ctx, t, "bob", log)
	t.Cleanup(func() { bob.Close() })
	xs.makeContacts(ctx, t, aliceC, bob)
	if opts.beforeStart != nil {
		opts.beforeStart(ctx, xs, aliceC)
	}
	alice := aliceC.JID().Bare()
	if opts.ownerOnline {
		t.Cleanup(func() { aliceC.Close() })
	} else {
		aliceC.Close()
		if _, err := bob.WaitPresence(ctx, alice, func(p xmppclient.Presence) bool { return p.Type == "unavailable" }); err != nil {
			t.Fatal(err)
		}
	}

	dir := t.TempDir()
	driver, dsn := "sqlite", filepath.Join(dir, "state.db")
	if opts.postgres {
		driver, dsn = "postgres", pgtest.StartT(t).NewDatabaseT(t)
	}
	if !strings.Contains(opts.extra, "[email]") {
		opts.extra += "\n[email]\nlisten = \"\"\n"
	}
	if !strings.Contains(opts.extra, "[http]") {
		opts.extra += "\n[http]\nlisten = \"\"\n"
	}
	raw := serviceTOML(xs, dsn, serviceSections{
		driver: driver,
		mm7:    fmt.Sprintf("submit_url = %q\nsender_address = \"12345\"\nvaspid = \"mmsprofile-test\"\n", opts.submitURL),
		tail:   fmt.Sprintf("[profile]\nservice_number = \"12345\"\nstatus_as_mood = %t\n%s\n", opts.moodFromStatus, opts.extra),
	})
	cfgPath := filepath.Join(dir, "mmsprofile.toml")
	if err := os.WriteFile(cfgPath, []byte(raw), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte(raw), "test.toml")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, xmpp: xs, bob: bob, alice: alice, cfgPath: cfgPath, driver: driver, dsn: cfg.Storage.DSN}
	// Provision the link as an operator would, before the service starts.
	if !opts.unlinked {
		e.link(ctx, aliceNumber)
	}
	e.srv = runServer(ctx, t, cfg, log)
	if _, err := e.srv.Component().WaitPermissions(ctx, xs.Domain); err != nil {
		t.Fatal(err)
	}
	e.mm7URL = "http://" + e.srv.MM7Addr().String() + "/mm7"
	return e
}

// serviceSections are what a test adds to serviceTOML's configuration:
// lines of its [mm7] and [publish] tables, and whole tables after them.
type serviceSections struct {
	driver             string // storage.driver; "" is sqlite
	mm7, publish, tail string
}

// serviceTOML is the configuration the tests of this package run the
// service with: the harness's XMPP server, SQLite at dsn and MM7 on a free
// port, with the server's own settings (xs.config) and the sections added.
func serviceTOML(xs *xmppServer, dsn string, add serviceSections) string {
	if add.driver == "" {
		add.driver = "sqlite"
	}
	return fmt.Sprintf(`
[xmpp]
component = %q
server = %q
secret = %q
domains = [%q]
reconnect_min = "100ms"
reconnect_max = "2s"
[storage]
driver = %q
dsn = %q
[mm7]
listen = "127.0.0.1:0"
path = "/mm7"
username = %q
password = %q
%s
[publish]
retry_min = "200ms"
poll = "1s"
%s
%s
%s
`, xs.Component, xs.ComponentAddr, xs.Secret, xs.Domain, add.driver, dsn, mm7User, mm7Password, add.mm7, add.publish, xs.config, add.tail)
}

// runServer runs the service until the test ends, and returns it once it
// is ready.
func runServer(ctx context.Context, t testing.TB, cfg config.Config, log *slog.Logger) *app.Server {
	t.Helper()
	srv, err := app.New(ctx, cfg, log, "test")
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
	return srv
}

// link links numbers to alice in the service's database, as the CLI
// would, whether or not the service runs.
func (e *env) link(ctx context.Context, numbers ...string) {
	e.t.Helper()
	var st interface {
		AddLink(ctx context.Context, jid, number, by string) error
		Close() error
	}
	var err error
	if e.driver == "postgres" {
		st, err = postgres.Open(ctx, e.dsn, postgres.Options{})
	} else {
		st, err = sqlite.Open(ctx, e.dsn)
	}
	if err != nil {
		e.t.Fatal(err)
	}
	defer st.Close()
	for _, n := range numbers {
		if err := st.AddLink(ctx, e.alice.String(), n, "test"); err != nil {
			e.t.Fatal(err)
		}
	}
}

// post delivers d to the service's MM7 endpoint and returns the HTTP code
// and the MM7 status code.
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

// accept posts d, the message what, and fails the test unless the service
// takes it (HTTP 200, status 1000).
func (e *env) accept(what string, d mm7sample.Deliver) {
	e.t.Helper()
	if code, status := e.post(d); code != http.StatusOK || status != "1000" {
		e.t.Fatalf("%s: HTTP %d status %q, want 200/1000", what, code, status)
	}
}

// fixture is the path of one of the MM7 package's captured requests.
func fixture(name string) string {
	return filepath.Join("..", "..", "mmsbridge", "mm7", "testdata", "fixtures", name)
}

// postFixture replays a captured request (NAME.headers + NAME.body)
// against the service's MM7 endpoint.
func (e *env) postFixture(t testing.TB, base string) (int, string) {
	t.Helper()
	req, err := mm7sample.ReadCapture(base)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(e.mm7URL)
	req.URL, req.Host = u, u.Host
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, mm7sample.StatusCode(rb)
}
