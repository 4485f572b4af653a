package ejabberd

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/template"

	"mmsprofile/internal/testkit/daemon"
	"mmsprofile/xmpp/ejabberdapi"
)

// Defaults applied by Start to empty Options fields.
const (
	DefaultDomain    = "localhost"
	DefaultComponent = "mms.localhost"
	DefaultLogLevel  = "info"
	// DefaultAPIUser is the local part of the account the HTTP API grants
	// the publisher's commands to; Start registers it.
	DefaultAPIUser = "mmsapi"
)

// PublisherCommands are the mod_http_api commands the API account may call:
// what mmsprofile's publisher needs on ejabberd 23.01 and nothing more. The
// vCard setters (set_vcard, set_vcard2) are left out on purpose: they write
// the database directly and skip the hooks that feed PEP and presence.
func PublisherCommands() []string {
	return []string{"send_stanza", "get_vcard", "get_vcard2", "get_vcard2_multi"}
}

// Options says what server to start. The zero value is a usable default.
type Options struct {
	Domain    string // the virtual host; default "localhost"
	Component string // the XEP-0114 component's domain; default "mms.localhost"
	Secret    string // the component secret; default random
	// Log receives what the Erlang VM prints: ejabberd's log lines and
	// boot failures that happen before its logger runs. Nil means the file
	// Server.ConsoleFile. ejabberd writes Server.LogFile either way.
	Log io.Writer
	// LogLevel is ejabberd's loglevel: none, emergency, alert, critical,
	// error, warning, notice, info (default) or debug (which logs stanzas).
	LogLevel string
	// APICommands are the commands api_permissions grants the API account;
	// nil means PublisherCommands(). Tests of a config that grants too
	// little set fewer; an empty, non-nil list is refused, as ejabberd
	// would refuse a rule without commands.
	APICommands []string
	// Root is a Debian root (built with mmdebstrap) whose ejabberd to run
	// instead of the system's: Debian 13's 24.12, or 26.07 from
	// trixie-backports, which Debian 12 cannot install beside its own.
	// The VM then runs chrooted there, in a mount namespace of its own
	// with /proc mounted, which needs root. Empty means the system's.
	Root string
	// APIAdmin also lets the API account match the configure access rule:
	// from 26.07, ejabberd runs a command with a host argument (get_vcard,
	// get_vcard2) for an authenticated account only when it does, whatever
	// api_permissions say.
	APIAdmin bool
	// Roster is the XEP-0356 roster permission mod_privilege grants the
	// component: "get" (default), "set" or "both".
	Roster string
}

// Server is a running ejabberd. Its exported fields are read-only.
type Server struct {
	Domain        string
	Component     string
	Secret        string
	C2SAddr       string // host:port of the client port (plain TCP, PLAIN auth allowed)
	ComponentAddr string // host:port of the XEP-0114 (ejabberd_service) port
	APIURL        string // mod_http_api base URL, e.g. http://127.0.0.1:PORT/api
	APIUser       string // the bare JID granted Options.APICommands, for HTTP Basic
	APIPassword   string
	Node          string // the Erlang node name, e.g. ejabberd-1a2b3c@localhost
	Version       string // ejabberd's version as packaged, e.g. 23.01 or 24.12
	Dir           string // temporary directory: config, spool, logs, HOME
	ConfigFile    string // ejabberd.yml
	LogFile       string // ejabberd's own log (error.log sits beside it)
	ConsoleFile   string // the VM's stdout and stderr when Options.Log was nil, else ""

	proc        *daemon.Process // nil when not running
	consoleFile *os.File        // closed after the process has exited
}

// installation is where Debian's ejabberd keeps its pieces, as its
// ejabberdctl script knows them.
type installation struct {
	root    string // the Debian root it is in, "" for the system
	erl     string // the erl launcher, as seen from root
	erlLibs string // the directory holding ejabberd-VERSION/ and its dependencies, as seen from root
	version string // from the ejabberd-VERSION directory name
}

// Installed reports whether ejabberd is installed. Its error names the
// Debian package that provides it.
func Installed() error {
	_, err := findInstallation("")
	return err
}

// InstalledIn reports whether the Debian root at root holds an ejabberd
// that Start can run with Options.Root.
func InstalledIn(root string) error {
	_, err := findInstallation(root)
	return err
}

func findInstallation(root string) (installation, error) {
	hint := "install the Debian package ejabberd (apt-get install ejabberd)"
	ctl := ""
	if root == "" {
		var err error
		if ctl, err = exec.LookPath("ejabberdctl"); err != nil {
			// Debian puts it in /usr/sbin, which a user's PATH may lack.
			ctl = "/usr/sbin/ejabberdctl"
		}
	} else {
		hint = "build the Debian root " + root + " with ejabberd in it (scripts/install-deps.sh)"
		if os.Geteuid() != 0 {
			return installation{}, fmt.Errorf("ejabberd: running the one in %s needs root (chroot)", root)
		}
		ctl = filepath.Join(root, "usr/sbin/ejabberdctl")
	}
	if _, err := os.Stat(ctl); err != nil {
		return installation{}, fmt.Errorf("ejabberd: ejabberdctl not found: %s", hint)
	}
	inst, err := readCtlScript(ctl)
	if err != nil {
		return installation{}, fmt.Errorf("ejabberd: %s: %w: %s", ctl, err, hint)
	}
	inst.root = root
	if _, err := os.Stat(filepath.Join(root, inst.erl)); err != nil {
		return installation{}, fmt.Errorf("ejabberd: erl: %w: %s", err, hint)
	}
	apps, err := filepath.Glob(filepath.Join(root, inst.erlLibs, "ejabberd-*", "ebin", "ejabberd.app"))
	if err != nil || len(apps) == 0 {
		return installation{}, fmt.Errorf("ejabberd: no ejabberd-*/ebin/ejabberd.app in %s: %s", filepath.Join(root, inst.erlLibs), hint)
	}
	// The shortest name is the plain version (Debian 13 has both
	// ejabberd-24.12 and ejabberd-24.12-3+deb13u2).
	for _, a := range apps {
		v := strings.TrimPrefix(filepath.Base(filepath.Dir(filepath.Dir(a))), "ejabberd-")
		if inst.version == "" || len(v) < len(inst.version) {
			inst.version = v
		}
	}
	return inst, nil
}

// readCtlScript reads the ERL and ERL_LIBS assignments from ejabberdctl:
// the script is the package's own record of where they are, and they
// differ between Debian's layout and ejabberd's installers.
func readCtlScript(path string) (installation, error) {
	f, err := os.Open(path)
	if err != nil {
		return installation{}, err
	}
	defer f.Close()
	var inst installation
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		value = strings.Trim(value, `"'`)
		switch {
		case name == "ERL" && inst.erl == "":
			inst.erl = value
		case name == "ERL_LIBS" && inst.erlLibs == "":
			inst.erlLibs = value
		}
	}
	if err := sc.Err(); err != nil {
		return installation{}, err
	}
	if inst.erl == "" || inst.erlLibs == "" || strings.Contains(inst.erl+inst.erlLibs, "$") {
		return installation{}, errors.New("no plain ERL= and ERL_LIBS= lines")
	}
	return inst, nil
}

// Start writes a config into a new temporary directory, starts ejabberd on
// free loopback ports (c2s, component, HTTP API, Erlang distribution) and
// registers the API account. It returns once the server answers. ctx
// bounds only the start: the server runs until Close, which the caller
// must call even when the test fails.
//
// The VM is started directly rather than through ejabberdctl: as root,
// ejabberdctl runs erl through su, which puts the VM in a session of its
// own where Close could not reach it by process group, and it refuses to
// run at all for other users. The ejabberdctl.cfg written into Dir still
// lets a person attach: ejabberdctl --config-dir DIR status.
func Start(ctx context.Context, opts Options) (*Server, error) {
	// When a port was taken before ejabberd could bind it, the VM stops
	// with eaddrinuse, which logTail puts into the error.
	taken := func(err error) bool { return strings.Contains(err.Error(), "eaddrinuse") }
	s, err := daemon.Retry(ctx, taken, func() (*Server, error) { return start(ctx, opts) })
	if err != nil {
		return nil, fmt.Errorf("ejabberd: start: %w", err)
	}
	return s, nil
}

func start(ctx context.Context, opts Options) (*Server, error) {
	inst, err := findInstallation(opts.Root)
	if err != nil {
		return nil, err
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	cfg.IQPrivileges = versionAtLeast(inst.version, 24, 10)
	// In a root, the VM sees only the root: its directory must be there.
	tmp := ""
	if inst.root != "" {
		tmp = filepath.Join(inst.root, "tmp")
	}
	dir, err := os.MkdirTemp(tmp, "ejabberd-")
	if err != nil {
		return nil, err
	}
	s := &Server{
		Domain:      cfg.Domain,
		Component:   cfg.Component,
		Secret:      cfg.Secret,
		APIUser:     cfg.APIUser,
		APIPassword: cfg.APIPassword,
		Node:        cfg.Node,
		Version:     inst.version,
		Dir:         dir,
		ConfigFile:  filepath.Join(dir, "ejabberd.yml"),
		LogFile:     filepath.Join(dir, "logs", "ejabberd.log"),
	}
	ok := false
	defer func() {
		if !ok {
			_ = s.Close()
		}
	}()

	ports, err := daemon.FreePorts(4)
	if err != nil {
		return nil, err
	}
	cfg.C2SPort, cfg.ComponentPort, cfg.HTTPPort, cfg.DistPort = ports[0], ports[1], ports[2], ports[3]
	s.C2SAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.C2SPort))
	s.ComponentAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.ComponentPort))
	httpAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.HTTPPort))
	s.APIURL = "http://" + httpAddr + "/api"

	// inner is a path in dir as the VM sees it.
	inner := func(path string) string {
		if inst.root == "" {
			return path
		}
		return "/" + strings.TrimPrefix(strings.TrimPrefix(path, inst.root), "/")
	}
	cfg.Dir = dir
	for _, sub := range []string{"spool", "logs", "modules", "modules.d"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, err
		}
	}
	files := []struct {
		name string
		tmpl *template.Template
	}{
		{"ejabberd.yml", configTemplate},
		{"ejabberdctl.cfg", ctlConfigTemplate},
		{"inetrc", inetrcTemplate},
	}
	for _, f := range files {
		if err := writeTemplate(filepath.Join(dir, f.name), f.tmpl, cfg); err != nil {
			return nil, err
		}
	}

	// The same VM arguments ejabberdctl foreground builds, minus epmd: with
	// -erl_epmd_port and -start_epmd false the node listens on a port of
	// our choosing and no epmd daemon is started that could outlive Close
	// or be shared with the system's ejabberd.
	args := []string{
		"-sname", cfg.Node,
		"-setcookie", cfg.Cookie,
		"-kernel", "inet_dist_use_interface", "{127,0,0,1}",
		"-erl_epmd_port", strconv.Itoa(cfg.DistPort),
		"-start_epmd", "false",
		"+K", "true",
		"-env", "ERL_CRASH_DUMP_BYTES", "0",
		"-mnesia", "dir", erlString(inner(filepath.Join(dir, "spool"))),
		"-s", "ejabberd",
		"-noinput",
	}
	cmd := exec.Command(inst.erl, args...)
	if inst.root != "" {
		// A mount namespace of its own, so the /proc mounted for the VM
		// goes away with it and never shows on the host; exec keeps one
		// process, the VM, at the head of the group Close kills.
		script := `mount -t proc proc "$0/proc" && exec chroot "$0" "$@"`
		cmd = exec.Command("unshare", append([]string{"--mount", "--propagation", "private", "--", "/bin/sh", "-c", script, inst.root, inst.erl}, args...)...)
	}
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		// HOME is where erl reads .erlang and .erlang.cookie and where
		// ejabberd puts contributed modules: keep all of it in Dir.
		"HOME="+inner(dir),
		"ERL_LIBS="+inst.erlLibs,
		"ERL_INETRC="+inner(filepath.Join(dir, "inetrc")),
		"ERL_CRASH_DUMP="+inner(filepath.Join(dir, "logs", "erl_crash.dump")),
		"EJABBERD_CONFIG_PATH="+inner(s.ConfigFile),
		"EJABBERD_LOG_PATH="+inner(s.LogFile),
		"CONTRIB_MODULES_PATH="+inner(filepath.Join(dir, "modules")),
		"CONTRIB_MODULES_CONF_DIR="+inner(filepath.Join(dir, "modules.d")),
	)
	// Its own process group, so that Close can kill the VM and its port
	// programs (erl_child_setup, inet_gethost) together, and a Ctrl-C meant
	// for the test binary does not hit it first. Set here rather than left
	// to daemon.Start, which would add the parent-death signal as well.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if opts.Log != nil {
		cmd.Stdout, cmd.Stderr = opts.Log, opts.Log
	} else {
		s.ConsoleFile = filepath.Join(dir, "logs", "console.log")
		f, err := os.Create(s.ConsoleFile)
		if err != nil {
			return nil, err
		}
		s.consoleFile = f
		cmd.Stdout, cmd.Stderr = f, f
	}
	if s.proc, err = daemon.Start(cmd); err != nil {
		return nil, err
	}

	// ejabberd opens its listeners last, once every module has started, so
	// an open port means the server is ready.
	for _, addr := range []string{s.C2SAddr, s.ComponentAddr, httpAddr} {
		if err := daemon.WaitListening(ctx, addr, s.proc, nil, s.logTail); err != nil {
			return nil, err
		}
	}
	if err := s.register(ctx, DefaultAPIUser, s.APIPassword); err != nil {
		return nil, fmt.Errorf("API account: %w%s", err, s.logTail())
	}
	ok = true
	return s, nil
}

// logTail returns the end of the logs, to put the reason for a failed
// start into the error itself. Boot failures (a bad config) land in the
// console output, later ones in ejabberd's log.
func (s *Server) logTail() string {
	const max = 2048
	var b strings.Builder
	for _, name := range []string{s.ConsoleFile, s.LogFile} {
		if name == "" {
			continue
		}
		data, err := os.ReadFile(name)
		if err != nil || len(data) == 0 {
			continue
		}
		if len(data) > max {
			data = data[len(data)-max:]
		}
		fmt.Fprintf(&b, "\n%s (end):\n%s", filepath.Base(name), data)
	}
	return b.String()
}

// ReadLog returns ejabberd's log so far, its error log, and the console
// output when it went to ConsoleFile, each under a header line.
func (s *Server) ReadLog() ([]byte, error) {
	if s.Dir == "" {
		return nil, errors.New("ejabberd: log: server closed")
	}
	var out bytes.Buffer
	names := []string{s.LogFile, filepath.Join(filepath.Dir(s.LogFile), "error.log")}
	if s.ConsoleFile != "" {
		names = append(names, s.ConsoleFile)
	}
	for _, name := range names {
		b, err := os.ReadFile(name)
		if errors.Is(err, os.ErrNotExist) {
			continue // error.log appears only with the first error
		}
		if err != nil {
			return nil, fmt.Errorf("ejabberd: log: %w", err)
		}
		fmt.Fprintf(&out, "==> %s <==\n%s", name, b)
	}
	return out.Bytes(), nil
}

// Close kills ejabberd and removes Dir. It is safe to call more than once.
//
// It sends SIGKILL to the process group at once instead of asking for a
// clean stop: ejabberd takes one to three seconds to stop cleanly, and
// everything that stop would flush lives in Dir, which goes next.
func (s *Server) Close() error {
	var errs []error
	if s.proc != nil {
		// The group, not just the VM: its port programs must go too, even
		// when the VM died by itself.
		if err := s.proc.Stop(0); err != nil {
			errs = append(errs, err)
		}
		s.proc = nil
	}
	if s.consoleFile != nil {
		if err := s.consoleFile.Close(); err != nil {
			errs = append(errs, err)
		}
		s.consoleFile = nil
	}
	if s.Dir != "" {
		if err := os.RemoveAll(s.Dir); err != nil {
			errs = append(errs, err)
		}
		s.Dir = ""
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("ejabberd: close: %w", err)
	}
	return nil
}

// Register creates the account user@Domain through the HTTP API's
// register command, which the config grants to loopback callers for this
// purpose alone. It takes milliseconds, where ejabberdctl register boots a
// second Erlang VM and takes one to four seconds.
func (s *Server) Register(ctx context.Context, user, password string) error {
	if err := s.register(ctx, user, password); err != nil {
		return fmt.Errorf("ejabberd: %w", err)
	}
	return nil
}

func (s *Server) register(ctx context.Context, user, password string) error {
	api := ejabberdapi.Client{URL: s.APIURL}
	args := map[string]string{"user": user, "host": s.Domain, "password": password}
	if err := api.Call(ctx, "register", args, nil); err != nil {
		return fmt.Errorf("register %s@%s: %w", user, s.Domain, err)
	}
	return nil
}

// config is what the templates need.
type config struct {
	Domain, Component, Secret string
	APIUser, APIPassword      string
	Commands                  []string
	LogLevel                  string
	IQPrivileges              bool // ejabberd ≥ 24.10: mod_privilege has iq
	APIAdmin                  bool
	Roster                    string
	Node, Cookie              string
	Dir                       string
	C2SPort, ComponentPort    int
	HTTPPort, DistPort        int
}

func newConfig(opts Options) (*config, error) {
	c := &config{
		Domain:    opts.Domain,
		Component: opts.Component,
		Secret:    opts.Secret,
		LogLevel:  opts.LogLevel,
		Commands:  opts.APICommands,
		APIAdmin:  opts.APIAdmin,
		Roster:    opts.Roster,
	}
	switch c.Roster {
	case "":
		c.Roster = "get"
	case "get", "set", "both":
	default:
		return nil, fmt.Errorf("roster permission %q: want get, set or both", c.Roster)
	}
	if c.Commands == nil {
		c.Commands = PublisherCommands()
	}
	if len(c.Commands) == 0 {
		return nil, errors.New("APICommands: empty; leave it nil for the publisher's commands")
	}
	for _, cmd := range c.Commands {
		if cmd == "" || strings.ContainsFunc(cmd, func(r rune) bool { return !(r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') }) {
			return nil, fmt.Errorf("APICommands: %q is not a command name", cmd)
		}
	}
	if c.Domain == "" {
		c.Domain = DefaultDomain
	}
	if c.Component == "" {
		c.Component = DefaultComponent
	}
	if c.LogLevel == "" {
		c.LogLevel = DefaultLogLevel
	}
	switch c.LogLevel {
	case "none", "emergency", "alert", "critical", "error", "warning", "notice", "info", "debug":
	default:
		return nil, fmt.Errorf("log level %q: want none, emergency, alert, critical, error, warning, notice, info or debug", c.LogLevel)
	}
	for _, v := range []string{c.Domain, c.Component, c.Secret} {
		if strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return nil, fmt.Errorf("control character in %q", v)
		}
	}
	c.APIUser = DefaultAPIUser + "@" + c.Domain
	random := func() (string, error) {
		b := make([]byte, 12)
		if _, err := rand.Read(b); err != nil {
			return "", err
		}
		return hex.EncodeToString(b), nil
	}
	var err error
	for _, p := range []*string{&c.Secret, &c.APIPassword, &c.Cookie, &c.Node} {
		if *p != "" {
			continue
		}
		if *p, err = random(); err != nil {
			return nil, err
		}
	}
	// A name of its own, so that it never meets the system's ejabberd@localhost.
	c.Node = "ejabberd-" + c.Node[:8] + "@localhost"
	return c, nil
}

func writeTemplate(path string, t *template.Template, data any) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if err := t.Execute(f, data); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return f.Close()
}

// versionAtLeast reports whether ejabberd's version v (23.01, 24.12,
// 26.07) is year.month or later.
func versionAtLeast(v string, year, month int) bool {
	parts := strings.SplitN(strings.SplitN(v, "-", 2)[0], ".", 3)
	if len(parts) < 2 {
		return false
	}
	y, err1 := strconv.Atoi(parts[0])
	m, err2 := strconv.Atoi(parts[1])
	return err1 == nil && err2 == nil && (y > year || y == year && m >= month)
}

// yamlString quotes s as a double-quoted YAML scalar. newConfig has
// refused control characters, so only backslash and quote need escaping.
func yamlString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// erlString quotes s as an Erlang string term, the form erl wants for
// application parameters such as mnesia's dir.
func erlString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// configTemplate is the whole ejabberd.yml: loopback only, no TLS, no s2s,
// plain auth allowed, everything stored in Dir.
var configTemplate = template.Must(template.New("ejabberd.yml").
	Funcs(template.FuncMap{"yaml": yamlString}).
	Parse(`# Written by mmsprofile's test harness; removed on Close.
hosts:
  - {{yaml .Domain}}
loglevel: {{.LogLevel}}
hide_sensitive_log_data: false
# No TLS anywhere, and no certificate requests to Let's Encrypt.
certfiles: []
acme:
  auto: false
auth_method: internal
s2s_access: none
listen:
  -
    port: {{.C2SPort}}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    starttls: false
    starttls_required: false
  -
    port: {{.ComponentPort}}
    ip: "127.0.0.1"
    module: ejabberd_service
    access: all
    hosts:
      {{yaml .Component}}:
        password: {{yaml .Secret}}
  -
    port: {{.HTTPPort}}
    ip: "127.0.0.1"
    module: ejabberd_http
    request_handlers:
      /api: mod_http_api
acl:
  mms_component:
    server: {{yaml .Component}}
{{- if .APIAdmin}}
  admin:
    user: {{yaml (print "admin@" .Domain)}}
  mmsprofile_api:
    user: {{yaml .APIUser}}
{{- end}}
access_rules:
  mms_component:
    allow: mms_component
{{- if .APIAdmin}}
  # As docs/ejabberd.md has it for 26.07.
  configure:
    - allow: admin
    - allow: mmsprofile_api
{{- end}}
# Replaces ejabberd's default permissions, so ejabberdctl is granted again.
api_permissions:
  "ejabberdctl":
    from: ejabberd_ctl
    who: all
    what: "*"
  "mmsprofile publisher":
    from: mod_http_api
    who:
      user: {{yaml .APIUser}}
    what:
{{- range .Commands}}
      - {{.}}
{{- end}}
  # The harness registers accounts this way (Server.Register); a
  # production config has no such rule.
  "test harness":
    from: mod_http_api
    who:
      ip: 127.0.0.1/32
    what:
      - register
modules:
  mod_roster: {}
  mod_disco: {}
  mod_caps: {}
  mod_pubsub:
    plugins:
      - flat
      - pep
  mod_vcard: {}
  mod_avatar: {}
  mod_vcard_xupdate: {}
  mod_http_api: {}
  # Defines send_stanza and the vCard commands; without it mod_http_api
  # answers 400 unknown_command. api_permissions limits what is callable.
  mod_admin_extra: {}
  mod_version: {}
  # XEP-0356 v0.2 on 23.01: roster and message only, no IQ permission;
  # v0.4 with IQ permission from 24.10.
  mod_privilege:
    roster:
      {{.Roster}}: mms_component
    message:
      outgoing: mms_component
{{- if .IQPrivileges}}
    iq:
      "http://jabber.org/protocol/pubsub":
        set: mms_component
      "vcard-temp":
        both: mms_component
      "http://jabber.org/protocol/disco#info":
        get: mms_component
{{- end}}
`))

// ctlConfigTemplate lets a person attach to the node while a test runs:
// ejabberdctl --config-dir DIR --spool DIR/spool --logs DIR/logs status.
var ctlConfigTemplate = template.Must(template.New("ejabberdctl.cfg").Parse(`# Written by mmsprofile's test harness; removed on Close.
ERLANG_NODE={{.Node}}
ERL_DIST_PORT={{.DistPort}}
ERL_OPTIONS="-setcookie {{.Cookie}} -kernel inet_dist_use_interface {127,0,0,1}"
`))

// inetrcTemplate makes localhost, the host part of the node name, resolve
// to loopback whatever the machine's resolver says.
var inetrcTemplate = template.Must(template.New("inetrc").Parse(`{lookup, [file, native]}.
{host, {127,0,0,1}, ["localhost"]}.
`))
