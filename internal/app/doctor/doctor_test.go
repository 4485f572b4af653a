package doctor

import (
	"bufio"
	"context"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mmsprofile/config"
	"mmsprofile/internal/testkit/prosody"
	"mmsprofile/storage/postgres"
	"mmsprofile/storage/sqlite"
	"mmsprofile/xmpp/component"
)

// baseConfig is a complete configuration whose listeners bind to free
// ports and whose database is a fresh SQLite file.
func baseConfig(t *testing.T, srv *prosody.Server) (config.Config, Options) {
	t.Helper()
	cfg := config.Default()
	cfg.XMPP.Component = prosody.DefaultComponent
	cfg.XMPP.Server = "127.0.0.1:1"
	cfg.XMPP.Secret = "whatever"
	cfg.XMPP.Domains = []string{prosody.DefaultDomain}
	if srv != nil {
		cfg.XMPP.Component, cfg.XMPP.Server, cfg.XMPP.Secret = srv.Component, srv.ComponentAddr, srv.Secret
		cfg.XMPP.Domains = []string{srv.Domain}
	}
	cfg.MM7.Listen, cfg.Email.Listen, cfg.HTTP.Listen = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.Storage.DSN = filepath.Join(t.TempDir(), "state.db")
	open := func(ctx context.Context) (Store, error) { return sqlite.Open(ctx, cfg.Storage.DSN) }
	// Created beforehand, as serve or migrate would have: doctor does not
	// create a database that does not exist.
	st, err := open(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	return cfg, Options{OpenStore: open, Timeout: 3 * time.Second, PrivilegeWait: 3 * time.Second}
}

func run(t *testing.T, cfg config.Config, opts Options) (bool, string) {
	t.Helper()
	var b strings.Builder
	ok := Run(t.Context(), cfg, &b, opts)
	t.Logf("doctor output:\n%s", b.String())
	return ok, b.String()
}

func wantIn(t *testing.T, out string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q", s)
		}
	}
}

// A good setup passes on every Prosody generation: the configuration of
// docs/prosody.md is the same on 0.12 and 13.
func TestAllGood(t *testing.T) {
	for _, g := range prosody.Generations() {
		t.Run(g.Name, func(t *testing.T) {
			srv := prosody.StartT(t, prosody.Options{Root: g.Root})
			cfg, opts := baseConfig(t, srv)
			ok, out := run(t, cfg, opts)
			if !ok {
				t.Fatal("doctor failed on a good setup")
			}
			wantIn(t, out,
				"handshake as mms.localhost accepted",
				"localhost grants what publishing needs",
				"sqlite database reachable, schema at version",
				"mm7.listen 127.0.0.1:0 can be bound",
				"All checks passed.")
			if strings.Contains(out, srv.Secret) {
				t.Error("doctor printed the component secret")
			}
		})
	}
}

func TestWrongSecret(t *testing.T) {
	srv := prosody.StartT(t, prosody.Options{})
	cfg, opts := baseConfig(t, srv)
	cfg.XMPP.Secret = "not-the-secret"
	ok, out := run(t, cfg, opts)
	if ok {
		t.Fatal("doctor passed with a wrong secret")
	}
	wantIn(t, out, "the server refused the secret for mms.localhost (not-authorized)",
		`component_secret in the Component "mms.localhost" block`, "FAILED")
}

func TestUnknownComponent(t *testing.T) {
	srv := prosody.StartT(t, prosody.Options{})
	cfg, opts := baseConfig(t, srv)
	cfg.XMPP.Component = "nope.localhost"
	ok, out := run(t, cfg, opts)
	if ok {
		t.Fatal("doctor passed with an undeclared component")
	}
	wantIn(t, out, "the server does not know the component nope.localhost (host-unknown)",
		`Component "nope.localhost"`, `modules_enabled = { "privilege" }`, "module: ejabberd_service")
}

// Missing privileges are named, with the lines to add, on every Prosody
// generation.
func TestMissingPrivileges(t *testing.T) {
	for _, g := range prosody.Generations() {
		t.Run(g.Name, func(t *testing.T) { missingPrivileges(t, g.Root) })
	}
}

func missingPrivileges(t *testing.T, root string) {
	srv := prosody.StartT(t, prosody.Options{
		Root: root,
		// Only PEP: no vCard, no disco#info, and presence on top.
		Privileges: `{ presence = "managed_entity"; iq = { ["http://jabber.org/protocol/pubsub"] = "set" } }`,
	})
	cfg, opts := baseConfig(t, srv)
	ok, out := run(t, cfg, opts)
	if ok {
		t.Fatal("doctor passed with missing privileges")
	}
	wantIn(t, out,
		"localhost grants too little: missing iq vcard-temp \"both\" (granted: none)",
		`privileged_entities = {`,
		`["mms.localhost"] = {`,
		`["vcard-temp"] = "both";`,
		"mod_privilege:",
		`"vcard-temp":`,
		`grants presence "managed_entity", which mmsprofile does not use`,
		// Needed while xmpp.vcard_conversion = "auto".
		`iq http://jabber.org/protocol/disco#info "get" (granted: none)`)

	// Without "auto", disco#info is no longer needed: only a note.
	cfg.XMPP.VCardConversion = "on"
	_, out = run(t, cfg, opts)
	wantIn(t, out, `note  localhost does not grant iq http://jabber.org/protocol/disco#info "get"`)
}

func TestHostWithoutPrivileges(t *testing.T) {
	srv := prosody.StartT(t, prosody.Options{})
	cfg, opts := baseConfig(t, srv)
	cfg.XMPP.Domains = []string{srv.Domain, "elsewhere.example"}
	opts.PrivilegeWait = time.Second
	ok, out := run(t, cfg, opts)
	if ok {
		t.Fatal("doctor passed with a domain the server does not host")
	}
	wantIn(t, out, "localhost grants what publishing needs",
		"elsewhere.example advertised no privileges to mms.localhost within 1s",
		`VirtualHost "elsewhere.example"`)
}

func TestServeAlreadyConnected(t *testing.T) {
	srv := prosody.StartT(t, prosody.Options{})
	cfg, opts := baseConfig(t, srv)
	comp, err := component.New(component.Config{Domain: srv.Component, Server: srv.ComponentAddr, Secret: srv.Secret}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); _ = comp.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if _, err := comp.WaitPermissions(wctx, srv.Domain); err != nil {
		t.Fatal(err)
	}
	// serve also holds the HTTP port.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg.HTTP.Listen = ln.Addr().String()

	ok, out := run(t, cfg, opts)
	if !ok {
		t.Fatal("doctor failed while serve runs")
	}
	wantIn(t, out, "the secret is right, but mms.localhost is already connected (conflict)",
		"http.listen "+cfg.HTTP.Listen+" is in use: fine if mmsprofile serve is running")
}

func TestNothingListens(t *testing.T) {
	cfg, opts := baseConfig(t, nil)
	cfg.XMPP.Server = closedPort(t)
	ok, out := run(t, cfg, opts)
	if ok {
		t.Fatal("doctor passed without a server")
	}
	wantIn(t, out, "cannot connect to the component port", "connection refused", "component_ports = {")
}

func TestUnreachableDatabase(t *testing.T) {
	cfg, opts := baseConfig(t, nil)
	cfg.XMPP.Server = closedPort(t)
	cfg.Storage.Driver = "postgres"
	cfg.Storage.DSN = "postgres://mmsprofile:pw@" + closedPort(t) + "/mmsprofile"
	cfg.Storage.ConnectTimeout = time.Second
	opts.OpenStore = func(ctx context.Context) (Store, error) {
		return postgres.Open(ctx, cfg.Storage.DSN, postgres.Options{ConnectTimeout: cfg.Storage.ConnectTimeout})
	}
	ok, out := run(t, cfg, opts)
	if ok {
		t.Fatal("doctor passed without a database")
	}
	wantIn(t, out, "cannot use the postgres database", "is PostgreSQL running")
	if strings.Contains(out, ":pw@") {
		t.Error("doctor printed the database password")
	}
}

func TestMissingSQLiteDirectory(t *testing.T) {
	cfg, opts := baseConfig(t, nil)
	cfg.XMPP.Server = closedPort(t)
	cfg.Storage.DSN = filepath.Join(t.TempDir(), "no", "such", "state.db")
	_, out := run(t, cfg, opts)
	wantIn(t, out, "does not exist", "StateDirectory=mmsprofile")
}

func TestListenerProblems(t *testing.T) {
	cfg, opts := baseConfig(t, nil)
	cfg.XMPP.Server = closedPort(t)
	cfg.MM7.Listen = "192.0.2.1:8080" // TEST-NET-1: on no machine
	cfg.Email.Listen = filepath.Join(t.TempDir(), "missing", "lmtp.sock")
	cfg.HTTP.Listen = ""
	_, out := run(t, cfg, opts)
	wantIn(t, out, "mm7.listen 192.0.2.1:8080: that address is not on this machine",
		"email.listen "+cfg.Email.Listen+": the directory",
		"http.listen is empty")
}

func TestReplyPaths(t *testing.T) {
	cfg, opts := baseConfig(t, nil)
	cfg.XMPP.Server = closedPort(t)
	cfg.MM7.SubmitURL = "http://" + closedPort(t) + "/mm7"
	// A fake smarthost greeting like Postfix.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.Write([]byte("220 relay.example ESMTP Postfix\r\n"))
		bufio.NewReader(c).ReadString('\n')
	}()
	cfg.Email.Smarthost = ln.Addr().String()
	_, out := run(t, cfg, opts)
	wantIn(t, out, "mm7.submit_url: cannot reach", "connection refused",
		"email.smarthost "+cfg.Email.Smarthost+" greets: 220 relay.example ESMTP Postfix")
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
