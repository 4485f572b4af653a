package postfix

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/template"
	"time"

	"mmsprofile/internal/testkit/daemon"
)

// DefaultHostname is Postfix's myhostname when Options.Hostname is empty.
const DefaultHostname = "mx.mmsprofile.test"

// How long Close waits after SIGTERM before it kills what is left.
const stopGrace = 5 * time.Second

// How often waits look again at a port or the mail log.
const pollEvery = 20 * time.Millisecond

// Options says what instance to start.
type Options struct {
	// Hostname is myhostname: the name Postfix greets with and writes as
	// "by HOST" in the Received line it adds, which is what an LMTP server
	// behind it trusts as its own MX (authserv-id). Default
	// DefaultHostname. It must contain a dot.
	Hostname string
	// Routes maps each recipient domain Postfix accepts to the transport(5)
	// next hop it delivers that domain's mail with, such as
	// "lmtp:inet:127.0.0.1:2525" or "lmtp:unix:/run/mms/lmtp.sock" (a
	// socket the postfix user can reach). Mail for any other domain,
	// bounces included, fails at once: nothing leaves loopback.
	Routes map[string]string
}

// Server is a running Postfix instance. Its exported fields are read-only.
type Server struct {
	Hostname  string
	SMTPAddr  string // host:port of its smtpd on 127.0.0.1
	Dir       string // temporary directory: etc/, queue/, data/, the logs
	ConfigDir string // holds main.cf, master.cf and the transport table
	LogFile   string // Postfix's maillog_file

	masterOut string          // master's own stdout and stderr
	master    *daemon.Process // nil once Close has stopped it
	watchdog  *exec.Cmd       // stops master if we die first; see startWatchdog
	lifeline  *os.File        // the watchdog's stdin pipe, written never
}

// tools are the installed programs Start runs.
type tools struct {
	postfix string // the postfix(1) command
	master  string // master(8), run directly so that it is our child
}

// Installed reports whether Postfix ≥ 3.4 (for maillog_file) is installed
// and can be started here. Its error says what to install or change.
func Installed() error {
	_, err := findTools()
	return err
}

func findTools() (tools, error) {
	var t tools
	postconf, err := command("postconf")
	if err != nil {
		return t, err
	}
	if t.postfix, err = command("postfix"); err != nil {
		return t, err
	}
	// -d: Debian's "No configuration" install has no /etc/postfix/main.cf,
	// and the compiled-in defaults are what we want anyway.
	out, err := exec.Command(postconf, "-d", "-h", "mail_version", "daemon_directory").Output()
	if err != nil {
		return t, fmt.Errorf("postfix: postconf -d: %w", err)
	}
	lines := strings.Fields(string(out))
	if len(lines) != 2 {
		return t, fmt.Errorf("postfix: postconf -d printed %q", out)
	}
	if !versionAtLeast(lines[0], 3, 4) {
		return t, fmt.Errorf("postfix: version %s has no maillog_file: need 3.4 or later", lines[0])
	}
	t.master = filepath.Join(lines[1], "master")
	if _, err := os.Stat(t.master); err != nil {
		return t, fmt.Errorf("postfix: master: %w", err)
	}
	if _, err := user.Lookup("postfix"); err != nil {
		return t, fmt.Errorf("postfix: no postfix user (%w): install the Debian package postfix", err)
	}
	if _, err := user.LookupGroup("postdrop"); err != nil {
		return t, fmt.Errorf("postfix: no postdrop group (%w): install the Debian package postfix", err)
	}
	// master binds its ports and drops to the postfix user itself; it
	// refuses to run otherwise.
	if os.Geteuid() != 0 {
		return t, errors.New("postfix: master must be started as root: run the tests as root")
	}
	return t, nil
}

// command finds a Postfix program, which lives in /usr/sbin: not in every
// PATH.
func command(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	p := filepath.Join("/usr/sbin", name)
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("postfix: %s not found in PATH or /usr/sbin: install the Debian package postfix", name)
}

// versionAtLeast compares a Postfix mail_version ("3.7.11") with
// major.minor.
func versionAtLeast(v string, major, minor int) bool {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || ma == major && mi >= minor
}

// Start writes a configuration into a new temporary directory and starts
// Postfix's master with it, its smtpd on a free 127.0.0.1 port. It returns
// once smtpd greets. ctx bounds only the start: the instance runs until
// Close, which the caller must call even when the test fails.
func Start(ctx context.Context, opts Options) (*Server, error) {
	s, err := start(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("postfix: start: %w", err)
	}
	return s, nil
}

func start(ctx context.Context, opts Options) (*Server, error) {
	tl, err := findTools()
	if err != nil {
		return nil, err
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "postfix-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	s := &Server{
		Hostname:  cfg.Hostname,
		Dir:       dir,
		ConfigDir: filepath.Join(dir, "etc"),
		LogFile:   filepath.Join(dir, "maillog"),
		masterOut: filepath.Join(dir, "master.out"),
	}
	ok := false
	defer func() {
		if !ok {
			_ = s.Close()
		}
	}()
	// master opens data_directory/master.lock as the postfix user, and
	// its daemons reach the queue's sockets by absolute path as that
	// user: the whole path must be searchable by it, and MkdirTemp makes
	// 0700.
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	// postfix check creates the queue's subdirectories (with the owners
	// and modes in postfix-files) and data_directory, but not the queue
	// directory itself: the postfix command chdirs into it first.
	for _, d := range []string{s.ConfigDir, filepath.Join(dir, "queue")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return nil, err
		}
	}
	ports, err := daemon.FreePorts(1)
	if err != nil {
		return nil, err
	}
	cfg.Dir, cfg.SMTPPort = dir, ports[0]
	s.SMTPAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.SMTPPort))
	if err := cfg.write(s.ConfigDir); err != nil {
		return nil, err
	}

	// check validates the configuration and creates the queue layout: the
	// part of `postfix start` we need, without its slow permission scan
	// (check-warn) and without detaching master.
	check := exec.CommandContext(ctx, tl.postfix, "-c", s.ConfigDir, "check")
	check.Dir = dir
	if out, err := check.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("postfix check: %w: %s%s", err, strings.TrimSpace(string(out)), s.logTail())
	}

	// master is run directly, not through `postfix start`, which would
	// detach it: as our child, Close can wait for it. -s keeps stdout (for
	// the few errors it prints before its log is set up). No Setpgid, so
	// an empty SysProcAttr that daemon.Start keeps: master makes itself a
	// session leader with setsid(2), which fails for a process that
	// already leads a group. No Pdeathsig either; see startWatchdog.
	out, err := os.Create(s.masterOut)
	if err != nil {
		return nil, err
	}
	defer out.Close() // the child has its own copy
	cmd := exec.Command(tl.master, "-c", s.ConfigDir, "-s")
	cmd.Dir = filepath.Join(dir, "queue")
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	if s.master, err = daemon.Start(cmd); err != nil {
		return nil, fmt.Errorf("master: %w", err)
	}
	if err := s.startWatchdog(); err != nil {
		return nil, err
	}
	if err := s.waitGreeting(ctx); err != nil {
		return nil, err
	}
	ok = true
	return s, nil
}

// watchdogScript blocks until its stdin reaches end of file, which
// happens only when the process holding the other end of the pipe has died
// (Close kills the watchdog first), and then stops master ($1) and its
// daemons the way Close would. POSIX sh (dash): no "kill --"; a negative
// pid after the signal names the process group.
const watchdogScript = `read -r _
kill -TERM "$1" 2>/dev/null
i=0
while kill -0 -"$1" 2>/dev/null && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i+1)); done
kill -KILL -"$1" 2>/dev/null
exit 0`

// startWatchdog makes sure the instance does not outlive the test binary
// when that is killed without calling Close (`go test -timeout`, Ctrl-C).
// Pdeathsig cannot do it: master briefly changes its effective uid to
// the postfix user while starting, and that clears the parent-death
// signal. So a shell waits on a pipe only we hold open; the kernel closes
// it when we die, whatever the cause. It gets its own process group so
// that a Ctrl-C meant for the test does not end it first.
func (s *Server) startWatchdog() error {
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close() // the watchdog has its own copy
	wd := exec.Command("/bin/sh", "-c", watchdogScript, "postfix-watchdog", strconv.Itoa(s.master.Pid()))
	wd.Stdin = r
	wd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := wd.Start(); err != nil {
		w.Close()
		return fmt.Errorf("watchdog: %w", err)
	}
	s.watchdog, s.lifeline = wd, w
	return nil
}

// waitGreeting polls the SMTP port until smtpd sends its 220 greeting,
// master exits, or ctx ends. It reads the greeting and says QUIT, because
// a probe that just connects and leaves puts "lost connection after
// CONNECT" into the log a failed test shows.
func (s *Server) waitGreeting(ctx context.Context) error {
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		err := s.greet(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for smtpd on %s: %w (last: %v)%s", s.SMTPAddr, ctx.Err(), err, s.logTail())
		case <-s.master.Exited():
			return fmt.Errorf("master exited before smtpd answered on %s: %v%s", s.SMTPAddr, s.master.Err(), s.logTail())
		case <-tick.C:
		}
	}
}

func (s *Server) greet(ctx context.Context) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", s.SMTPAddr)
	if err != nil {
		return err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "220") {
		return fmt.Errorf("greeting %q", strings.TrimSpace(line))
	}
	_, err = c.Write([]byte("QUIT\r\n"))
	return err
}

// logTail returns the end of the mail log and master's own output, to put
// the reason for a failed start into the error itself.
func (s *Server) logTail() string {
	var b strings.Builder
	for _, f := range []struct{ name, path string }{{"mail log", s.LogFile}, {"master output", s.masterOut}} {
		data, err := os.ReadFile(f.path)
		if err != nil || len(data) == 0 {
			continue
		}
		const max = 2048
		if len(data) > max {
			data = data[len(data)-max:]
		}
		fmt.Fprintf(&b, "\n%s (end):\n%s", f.name, data)
	}
	if b.Len() == 0 {
		// Before its log is set up, Postfix reports only to syslog.
		return " (nothing logged: see syslog)"
	}
	return b.String()
}

// ReadLog returns Postfix's mail log so far.
func (s *Server) ReadLog() ([]byte, error) {
	b, err := os.ReadFile(s.LogFile)
	if err != nil {
		return nil, fmt.Errorf("postfix: log: %w", err)
	}
	return b, nil
}

// WaitLog polls the mail log until a line satisfies match, and returns
// that line. Postfix tells nobody when it has delivered, so its log is
// the only place to wait on.
func (s *Server) WaitLog(ctx context.Context, match func(line string) bool) (string, error) {
	master := s.master
	if master == nil {
		return "", errors.New("postfix: waiting for a log line: closed")
	}
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		b, err := os.ReadFile(s.LogFile)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("postfix: log: %w", err)
		}
		for line := range strings.Lines(string(b)) {
			if match(line) {
				return strings.TrimRight(line, "\n"), nil
			}
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("postfix: waiting for a log line: %w", ctx.Err())
		case <-master.Exited():
			return "", fmt.Errorf("postfix: waiting for a log line: master exited: %v", master.Err())
		case <-tick.C:
		}
	}
}

// Delivery is one delivery attempt, as Postfix logs it.
type Delivery struct {
	QueueID string
	To      string // the recipient, without angle brackets
	Relay   string // e.g. "127.0.0.1[127.0.0.1]:2525", or "none"
	DSN     string // e.g. "2.0.0", "5.7.1"
	Status  string // "sent", "bounced", "deferred", …
	// Detail is the parenthesised text after the status: for a refusal
	// "host … said: 550 5.7.1 … (in reply to end of DATA command)".
	Detail string
	Line   string // the whole log line
}

// WaitDelivery waits for the first delivery attempt of the message queued
// as queueID (see QueuedAs) and returns how it went: sent, bounced, or
// deferred (Postfix retries those within seconds here).
func (s *Server) WaitDelivery(ctx context.Context, queueID string) (Delivery, error) {
	prefix := " " + queueID + ": to=<"
	line, err := s.WaitLog(ctx, func(l string) bool {
		return strings.Contains(l, prefix) && strings.Contains(l, ", status=")
	})
	if err != nil {
		return Delivery{}, fmt.Errorf("postfix: delivery of %s: %w", queueID, err)
	}
	return parseDelivery(queueID, line), nil
}

// parseDelivery reads the fields of a delivery line:
// "… QID: to=<a@b>, relay=h[ip]:port, delay=…, dsn=5.7.1, status=bounced (…)".
func parseDelivery(queueID, line string) Delivery {
	d := Delivery{QueueID: queueID, Line: line}
	i := strings.Index(line, " "+queueID+": ")
	if i < 0 {
		return d
	}
	rest := line[i+len(queueID)+3:]
	field := func(name string) string {
		i := strings.Index(rest, name+"=")
		if i < 0 || (i > 0 && rest[i-1] != ' ') {
			return ""
		}
		v := rest[i+len(name)+1:]
		if j := strings.IndexAny(v, ", "); j >= 0 {
			v = v[:j]
		}
		return v
	}
	d.To = strings.Trim(field("to"), "<>")
	d.Relay = field("relay")
	d.DSN = field("dsn")
	d.Status = field("status")
	if i := strings.Index(rest, "status="+d.Status+" ("); i >= 0 {
		d.Detail = strings.TrimSuffix(rest[i+len("status="+d.Status+" ("):], ")")
	}
	return d
}

var queuedAs = regexp.MustCompile(`queued as ([0-9A-Za-z]+)`)

// QueuedAs finds the queue ID in Postfix's answer to DATA ("250 2.0.0 Ok:
// queued as 4F2A1C0D5E"), in an SMTP client's transcript.
func QueuedAs(transcript string) (string, bool) {
	m := queuedAs.FindStringSubmatch(transcript)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// Close stops the instance (SIGTERM to master, which passes it on to its
// daemons, as `postfix abort` does; SIGKILL after a grace period), waits
// until no process of it is left, and removes Dir. It is safe to call
// more than once.
func (s *Server) Close() error {
	var errs []error
	if s.watchdog != nil {
		// Killed, not let go: closing the lifeline would make it stop
		// master too, racing with stop below.
		_ = s.watchdog.Process.Kill()
		_ = s.watchdog.Wait()
		s.watchdog = nil
	}
	if s.lifeline != nil {
		s.lifeline.Close()
		s.lifeline = nil
	}
	if s.master != nil {
		if err := s.stop(); err != nil {
			errs = append(errs, err)
		}
		s.master = nil
	}
	if s.Dir != "" {
		if err := os.RemoveAll(s.Dir); err != nil {
			errs = append(errs, err)
		}
		s.Dir = ""
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("postfix: close: %w", err)
	}
	return nil
}

// stop ends master and then its daemons. Not `postfix stop`: that lets
// daemons finish at leisure and polls master once a second, so it costs a
// second per test; nothing in a test queue is worth waiting for.
func (s *Server) stop() error {
	pid := s.master.Pid()
	select {
	case <-s.master.Exited():
	default:
		if err := s.master.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
			return err
		}
		timer := time.NewTimer(stopGrace)
		select {
		case <-s.master.Exited():
		case <-timer.C:
			_ = s.master.Signal(syscall.SIGKILL)
			<-s.master.Exited()
		}
		timer.Stop()
	}
	// master made itself a session and process group leader (setsid), so
	// its daemons are in the group whose id is its pid. They exit on the
	// TERM master passed on, or when they find master gone; wait for that,
	// then kill whatever lingers. If master died before setsid, there is
	// no such group.
	deadline := time.Now().Add(stopGrace)
	for {
		alive, err := groupAlive(pid)
		if err != nil {
			return fmt.Errorf("process group %d: %w", pid, err)
		}
		if !alive {
			return nil
		}
		if time.Now().After(deadline) {
			if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
				return fmt.Errorf("process group %d: %w", pid, err)
			}
			deadline = time.Now().Add(stopGrace) // SIGKILL cannot be ignored
		}
		time.Sleep(pollEvery)
	}
}

// config is what the templates need.
type config struct {
	Hostname string
	Domains  []string // sorted keys of Routes
	Routes   map[string]string
	Dir      string
	SMTPPort int
}

// A domain name, a host name or a transport(5) next hop: refused rather
// than quoted, since nothing these configs need has spaces, commas or
// control characters.
var (
	domainRE  = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$`)
	nexthopRE = regexp.MustCompile(`^[a-z0-9-]+:[!-~]+$`)
)

func newConfig(opts Options) (*config, error) {
	c := &config{Hostname: opts.Hostname, Routes: opts.Routes}
	if c.Hostname == "" {
		c.Hostname = DefaultHostname
	}
	if !domainRE.MatchString(c.Hostname) || !strings.Contains(c.Hostname, ".") {
		return nil, fmt.Errorf("hostname %q: want a domain name with a dot", c.Hostname)
	}
	for d, hop := range opts.Routes {
		if !domainRE.MatchString(d) {
			return nil, fmt.Errorf("route domain %q: not a domain name", d)
		}
		if !nexthopRE.MatchString(hop) || strings.Contains(hop, ",") {
			return nil, fmt.Errorf("route %s: next hop %q: want transport:destination without spaces or commas", d, hop)
		}
		c.Domains = append(c.Domains, d)
	}
	slices.Sort(c.Domains)
	return c, nil
}

func (c *config) write(dir string) error {
	// Postfix will not read a main.cf or table changed within the last
	// second (it might still be half written): it sleeps 300 ms at a time
	// until the file is old enough, which cost every start ~2 s. These
	// files are complete once written, so they are dated in the past.
	past := time.Now().Add(-time.Minute)
	for name, tmpl := range map[string]*template.Template{
		"main.cf":   mainCF,
		"master.cf": masterCF,
		"transport": transportTable,
	} {
		var b strings.Builder
		if err := tmpl.Execute(&b, c); err != nil {
			return fmt.Errorf("config %s: %w", name, err)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			return err
		}
		if err := os.Chtimes(path, past, past); err != nil {
			return err
		}
	}
	return nil
}

// mainCF: loopback only, no DNS, no local delivery, no outbound mail; the
// routed domains relayed by transport_maps; everything in Dir.
var mainCF = template.Must(template.New("main.cf").Parse(`# Written by mmsprofile's test harness; removed on Close.
compatibility_level = 3.6
queue_directory = {{.Dir}}/queue
data_directory = {{.Dir}}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = {{.Hostname}}
myorigin = $myhostname
# No local delivery at all: every accepted recipient is relayed.
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relay_domains = {{range $i, $d := .Domains}}{{if $i}}, {{end}}{{$d}}{{end}}
# texthash: read as is, no postmap run and no .db file needed.
transport_maps = texthash:{{.Dir}}/etc/transport
# Whatever is not routed, bounces to the senders included, fails at once
# instead of looking up MX hosts.
default_transport = error:5.7.1 no outbound mail from this test MTA
relay_transport = error:5.7.1 no outbound mail from this test MTA
# No DNS: disable_dns_lookups is deprecated since 3.7 in favour of these.
smtp_dns_support_level = disabled
lmtp_dns_support_level = disabled
smtp_host_lookup = native
lmtp_host_lookup = native
smtpd_peername_lookup = no
# The log goes to a file (through postlogd), not to a syslog that a test
# machine may not run; maillog_file_prefixes must allow its directory.
maillog_file = {{.Dir}}/maillog
maillog_file_prefixes = {{.Dir}}
# A deferred message (our listener answered 4xx, or was not up yet) is
# tried again within seconds, not minutes.
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 4s
biff = no
append_dot_mydomain = no
smtpd_banner = $myhostname ESMTP
`))

// masterCF: the smtpd listener on our port and the daemons relaying
// needs; nothing chrooted (a chroot would need copies of /etc files), no
// pickup, no TLS, no local delivery agents.
var masterCF = template.Must(template.New("master.cf").Parse(`# Written by mmsprofile's test harness; removed on Close.
# service type  private unpriv  chroot  wakeup  maxproc command
127.0.0.1:{{.SMTPPort}} inet n - n - - smtpd
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
`))

var transportTable = template.Must(template.New("transport").Parse(`{{range .Domains}}{{.}} {{index $.Routes .}}
{{end}}`))
