package prosody

import (
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
	"text/template"
	"time"

	"mmsprofile/internal/testkit/daemon"
)

// Defaults applied by Start to empty Options fields.
const (
	DefaultDomain    = "localhost"
	DefaultComponent = "mms.localhost"
	DefaultLogLevel  = "debug"

	// DefaultPrivileges is the Lua privileged_entities table granted to the
	// component: what mmsprofile's publisher needs and nothing more. Presence
	// is left out on purpose: with it, Prosody forwards every user presence to
	// the component and bounces them while it is offline.
	DefaultPrivileges = `{ roster = "get"; message = "outgoing"; ` +
		`iq = { ["http://jabber.org/protocol/pubsub"] = "set"; ["vcard-temp"] = "both"; ` +
		`["http://jabber.org/protocol/disco#info"] = "get" } }`
)

// How long Close waits after SIGTERM before it kills the process group.
const stopGrace = 5 * time.Second

// Options says what server to start. The zero value is a usable default.
type Options struct {
	Domain      string // the VirtualHost; default "localhost"
	Component   string // the XEP-0114 component's domain; default "mms.localhost"
	Secret      string // the component secret; default random
	VCardModule string // "vcard" (default: vcard-temp storage only) or "vcard_legacy" (vcard-temp ↔ PEP conversion)
	// Privileges replaces the Lua table given to the component in
	// privileged_entities; default DefaultPrivileges.
	Privileges string
	// Roster is the roster permission in DefaultPrivileges: "get"
	// (default), "set" or "both". Privileges, when set, says it instead.
	Roster string
	// Log receives prosody's log (and anything it prints). Nil means the
	// file Server.LogFile in Dir, which Close removes.
	Log io.Writer
	// LogLevel is prosody's minimum log level; default "debug".
	LogLevel string
	// Root is a Debian root (built with mmdebstrap, see
	// scripts/debian13-roots.sh) whose prosody and prosody-modules to run,
	// chrooted; "" runs the system's.
	Root string
	// NoNagle sets network_settings.nagle = false, which Prosody's
	// default leaves on; the benchmarks compare both.
	NoNagle bool
}

// Server is a running Prosody. Its exported fields are read-only.
type Server struct {
	Domain        string
	Component     string
	Secret        string
	C2SAddr       string // host:port of the client port (plain TCP, PLAIN auth allowed)
	ComponentAddr string // host:port of the XEP-0114 component port
	Dir           string // temporary directory: config, data, pid file, log
	ConfigFile    string
	LogFile       string // prosody's log when Options.Log was nil, else ""

	root    string          // Options.Root
	proc    *daemon.Process // nil when not running
	log     io.Writer       // prosody's stdout and stderr
	logFile *os.File        // closed after the process has exited
}

// Installed reports whether prosody, prosodyctl and mod_privilege are
// available. Its error names the Debian packages that provide them.
func Installed() error {
	return InstalledIn("")
}

// InstalledIn reports whether the Debian root at root ("" for the system)
// holds a prosody with mod_privilege that Start can run with Options.Root.
func InstalledIn(root string) error {
	if root == "" {
		for _, name := range []string{"prosody", "prosodyctl"} {
			if _, err := exec.LookPath(name); err != nil {
				return fmt.Errorf("prosody: %s not found in PATH: install the Debian packages prosody prosody-modules", name)
			}
		}
	} else {
		if os.Geteuid() != 0 {
			return fmt.Errorf("prosody: running the one in %s needs root (chroot)", root)
		}
		for _, name := range []string{"usr/bin/prosody", "usr/bin/prosodyctl"} {
			if _, err := os.Stat(filepath.Join(root, name)); err != nil {
				return fmt.Errorf("prosody: %s not found in %s: build the Debian root with scripts/debian13-roots.sh (scripts/install-deps.sh runs it)", name, root)
			}
		}
	}
	if _, err := moduleDir(root, "privilege"); err != nil {
		return err
	}
	return nil
}

// builtinModuleDir is where Debian's prosody looks for modules by itself.
const builtinModuleDir = "/usr/lib/prosody/modules"

// moduleDir finds the directory holding mod_NAME, either as NAME.lua or as
// NAME/NAME.lua, among the places Debian and source installs put
// prosody-modules. Debian's prosody-modules installs into prosody's own
// module directory, but older packages and hand installs do not.
func moduleDir(root, name string) (string, error) {
	dirs := []string{
		builtinModuleDir,
		"/usr/share/prosody-modules",
		"/usr/lib/prosody-modules",
		"/usr/local/lib/prosody/modules",
	}
	for _, dir := range dirs {
		for _, p := range []string{
			filepath.Join(root, dir, "mod_"+name+".lua"),
			filepath.Join(root, dir, "mod_"+name, "mod_"+name+".lua"),
		} {
			if _, err := os.Stat(p); err == nil {
				return dir, nil
			}
		}
	}
	return "", fmt.Errorf("prosody: mod_%s not found in %s%s: install the Debian package prosody-modules", name, root, strings.Join(dirs, ", "))
}

// Start writes a config into a new temporary directory and starts prosody on
// two free loopback ports (c2s and component). It returns once both ports
// accept connections. ctx bounds only the start: the server runs until
// Close, which the caller must call even when the test fails.
func Start(ctx context.Context, opts Options) (*Server, error) {
	// When a port was taken before prosody could bind it, prosody logs so
	// and runs on without it; portTaken turns that into errPortTaken.
	taken := func(err error) bool { return errors.Is(err, errPortTaken) }
	s, err := daemon.Retry(ctx, taken, func() (*Server, error) { return start(ctx, opts) })
	if err != nil {
		return nil, fmt.Errorf("prosody: start: %w", err)
	}
	return s, nil
}

// errPortTaken: a port chosen for this server was bound by someone else
// before prosody could.
var errPortTaken = errors.New("a chosen port was taken by another process")

func start(ctx context.Context, opts Options) (*Server, error) {
	if err := InstalledIn(opts.Root); err != nil {
		return nil, err
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	// In a root, prosody sees only the root: its directory must be there.
	tmp := ""
	if opts.Root != "" {
		tmp = filepath.Join(opts.Root, "tmp")
	}
	dir, err := os.MkdirTemp(tmp, "prosody-")
	if err != nil {
		return nil, err
	}
	s := &Server{
		Domain:     cfg.Domain,
		Component:  cfg.Component,
		Secret:     cfg.Secret,
		Dir:        dir,
		ConfigFile: filepath.Join(dir, "prosody.cfg.lua"),
		root:       opts.Root,
	}
	ok := false
	defer func() {
		if !ok {
			_ = s.Close()
		}
	}()

	ports, err := daemon.FreePorts(2)
	if err != nil {
		return nil, err
	}
	cfg.C2SPort, cfg.ComponentPort = ports[0], ports[1]
	s.C2SAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.C2SPort))
	s.ComponentAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.ComponentPort))
	cfg.Dir = s.inner(dir)
	// An empty certs directory: without it prosody logs an error about
	// indexing certificates that would mislead whoever reads a failed
	// test's log. No TLS is used.
	if err := os.Mkdir(filepath.Join(dir, "certs"), 0o700); err != nil {
		return nil, err
	}
	if err := cfg.write(s.ConfigFile); err != nil {
		return nil, err
	}

	if opts.Log != nil {
		s.log = opts.Log
	} else {
		s.LogFile = filepath.Join(dir, "prosody.log")
		f, err := os.Create(s.LogFile)
		if err != nil {
			return nil, err
		}
		s.logFile = f
		s.log = f
	}
	if err := s.launch(ctx); err != nil {
		return nil, err
	}
	ok = true
	return s, nil
}

// launch runs prosody with s's config in its own process group and waits
// until both ports accept connections.
func (s *Server) launch(ctx context.Context) error {
	// -F keeps it in the foreground (the config option daemonize is
	// deprecated in 0.12).
	cmd := s.command("prosody", "-F", "--config", s.inner(s.ConfigFile))
	cmd.Dir = s.Dir
	cmd.Stdout, cmd.Stderr = s.log, s.log
	p, err := daemon.Start(cmd)
	if err != nil {
		return err
	}
	s.proc = p
	for _, addr := range []string{s.C2SAddr, s.ComponentAddr} {
		if err := daemon.WaitListening(ctx, addr, p, s.portTaken(addr), s.logTail); err != nil {
			return err
		}
	}
	// A port another process held may answer for prosody: only the log
	// tells, and by now prosody has tried every port.
	if check := s.portTaken(s.C2SAddr + ", " + s.ComponentAddr); check != nil {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// portTaken returns the check for WaitListening that reads prosody's log
// for a port it could not open (it runs on without it), or nil when the
// log goes elsewhere.
func (s *Server) portTaken(addr string) func() error {
	if s.LogFile == "" {
		return nil
	}
	return func() error {
		if b, err := os.ReadFile(s.LogFile); err == nil && bytes.Contains(b, []byte("Failed to open server port")) {
			return fmt.Errorf("%w: %s%s", errPortTaken, addr, s.logTail())
		}
		return nil
	}
}

// logTail returns the end of the log file, to put the reason for a failed
// start into the error itself.
func (s *Server) logTail() string {
	if s.LogFile == "" {
		return " (see prosody's log)"
	}
	b, err := os.ReadFile(s.LogFile)
	if err != nil {
		return ""
	}
	const max = 2048
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return "\nprosody log (end):\n" + string(b)
}

// ReadLog returns prosody's log so far, when it goes to LogFile.
func (s *Server) ReadLog() ([]byte, error) {
	if s.LogFile == "" {
		return nil, errors.New("prosody: log: written to Options.Log, not to a file")
	}
	b, err := os.ReadFile(s.LogFile)
	if err != nil {
		return nil, fmt.Errorf("prosody: log: %w", err)
	}
	return b, nil
}

// Close stops prosody (SIGTERM, then SIGKILL to its process group after a
// grace period) and removes Dir. It is safe to call more than once.
func (s *Server) Close() error {
	var errs []error
	if s.proc != nil {
		if err := s.stop(); err != nil {
			errs = append(errs, err)
		}
		s.proc = nil
	}
	if s.logFile != nil {
		if err := s.logFile.Close(); err != nil {
			errs = append(errs, err)
		}
		s.logFile = nil
	}
	if s.Dir != "" {
		if err := os.RemoveAll(s.Dir); err != nil {
			errs = append(errs, err)
		}
		s.Dir = ""
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("prosody: close: %w", err)
	}
	return nil
}

// stop ends prosody and anything else in its group (it spawns nothing by
// default, but a module could).
func (s *Server) stop() error {
	select {
	case <-s.proc.Exited():
		return nil // died by itself; the failed test will show why
	default:
	}
	return s.proc.Stop(stopGrace)
}

// Register creates the account user@Domain with prosodyctl. Prosody's
// internal storage reads the account file on each login, so a running
// server sees the account at once.
func (s *Server) Register(ctx context.Context, user, password string) error {
	cmd := s.command("prosodyctl", "--config", s.inner(s.ConfigFile), "register", user, s.Domain, password)
	cmd.Dir = s.Dir
	stop := context.AfterFunc(ctx, func() {
		if cmd.Process != nil {
			_ = cmd.Process.Kill()
		}
	})
	defer stop()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("prosody: register %s@%s: %w: %s", user, s.Domain, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// command runs name from the system, or chrooted into the root in a mount
// namespace of its own (so the /proc mounted there goes away with it and
// never shows on the host); exec keeps one process at the head of the group
// that Close kills.
func (s *Server) command(name string, args ...string) *exec.Cmd {
	if s.root == "" {
		return exec.Command(name, args...)
	}
	script := `mountpoint -q "$0/proc" || mount -t proc proc "$0/proc"; exec chroot "$0" "$@"`
	return exec.Command("unshare", append([]string{"--mount", "--propagation", "private", "--",
		"/bin/sh", "-c", script, s.root, name}, args...)...)
}

// inner is path as prosody sees it: inside the root when there is one.
func (s *Server) inner(path string) string {
	if s.root == "" {
		return path
	}
	return "/" + strings.TrimPrefix(strings.TrimPrefix(path, s.root), "/")
}

// config is what the Lua config template needs.
type config struct {
	Domain, Component, Secret string
	VCardModule, Privileges   string
	LogLevel                  string
	PluginPath                string // extra module directory, or ""
	RunAsRoot, NoNagle        bool
	Dir                       string
	C2SPort, ComponentPort    int
}

func newConfig(opts Options) (*config, error) {
	c := &config{
		Domain:      opts.Domain,
		Component:   opts.Component,
		Secret:      opts.Secret,
		VCardModule: opts.VCardModule,
		Privileges:  opts.Privileges,
		LogLevel:    opts.LogLevel,
		RunAsRoot:   os.Geteuid() == 0,
		NoNagle:     opts.NoNagle,
	}
	if c.Domain == "" {
		c.Domain = DefaultDomain
	}
	if c.Component == "" {
		c.Component = DefaultComponent
	}
	if c.Secret == "" {
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		c.Secret = hex.EncodeToString(b)
	}
	switch c.VCardModule {
	case "":
		c.VCardModule = "vcard"
	case "vcard", "vcard_legacy":
	default:
		return nil, fmt.Errorf("vcard module %q: want vcard or vcard_legacy", c.VCardModule)
	}
	switch opts.Roster {
	case "", "get", "set", "both":
	default:
		return nil, fmt.Errorf("roster permission %q: want get, set or both", opts.Roster)
	}
	if c.Privileges == "" {
		c.Privileges = DefaultPrivileges
		if opts.Roster != "" {
			c.Privileges = strings.Replace(c.Privileges, `roster = "get"`, `roster = "`+opts.Roster+`"`, 1)
		}
	}
	switch c.LogLevel {
	case "":
		c.LogLevel = DefaultLogLevel
	case "debug", "info", "warn", "error":
	default:
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", c.LogLevel)
	}
	dir, err := moduleDir(opts.Root, "privilege")
	if err != nil {
		return nil, err
	}
	if dir != builtinModuleDir {
		c.PluginPath = dir
	}
	return c, nil
}

func (c *config) write(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := configTemplate.Execute(f, c); err != nil {
		f.Close()
		return fmt.Errorf("config: %w", err)
	}
	return f.Close()
}

// luaString quotes s as a Lua string literal. It refuses what these
// configs never need, rather than escape it subtly wrong.
func luaString(s string) (string, error) {
	if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", fmt.Errorf("control character in %q", s)
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`, nil
}

// configTemplate is the whole Lua config: loopback only, no TLS, no s2s, no
// HTTP, plain auth allowed, everything stored in Dir.
var configTemplate = template.Must(template.New("prosody.cfg.lua").
	Funcs(template.FuncMap{"lua": luaString}).
	Parse(`-- Written by mmsprofile's test harness; removed on Close.
{{if .RunAsRoot}}run_as_root = true -- prosody refuses root otherwise
{{end -}}
pidfile = {{lua (print .Dir "/prosody.pid")}}
data_path = {{lua .Dir}}
{{if .PluginPath}}plugin_paths = { {{lua .PluginPath}} }
{{end}}log = { { levels = { min = {{lua .LogLevel}} }, to = "console" } }
use_ipv6 = false
{{if .NoNagle}}network_settings = { nagle = false }
{{end -}}
interfaces = { "127.0.0.1" }
component_interfaces = { "127.0.0.1" }
c2s_ports = { {{.C2SPort}} }
component_ports = { {{.ComponentPort}} }
s2s_ports = { }
http_ports = { }
https_ports = { }
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
allow_registration = false
authentication = "internal_hashed"
storage = "internal"
modules_enabled = {
	"roster"; "saslauth"; "disco"; "presence"; "message"; "iq";
	"ping"; "pep"; "privilege";
}
modules_disabled = { "s2s"; "tls"; "http"; "admin_shell" }

VirtualHost {{lua .Domain}}
	modules_enabled = { {{lua .VCardModule}} }
	privileged_entities = { [{{lua .Component}}] = {{.Privileges}} }

Component {{lua .Component}}
	component_secret = {{lua .Secret}}
	modules_enabled = { "privilege" }
`))
