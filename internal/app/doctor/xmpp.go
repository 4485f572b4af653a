package doctor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	xcomponent "mellium.im/xmpp/component"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stream"

	"mmsprofile/config"
	"mmsprofile/vcard"
	"mmsprofile/xmpp/component"
)

// Namespaces the publisher writes to with privileged IQs.
const (
	nsPubSub = "http://jabber.org/protocol/pubsub"
	nsVCard  = "vcard-temp"
)

// writePath is how the publisher will write to one host's accounts.
type writePath string

const (
	pathPrivileged writePath = "privileged IQs (XEP-0356)"
	pathAPI        writePath = "the ejabberd HTTP API"
	pathNone       writePath = "none"
)

// checkXMPP returns each host's write path, or nil when doctor could not
// learn them (no session).
func checkXMPP(ctx context.Context, cfg config.Config, r *report, opts Options) map[string]writePath {
	if !handshake(ctx, cfg, r, opts) {
		return nil
	}
	return checkPrivileges(ctx, cfg, r, opts)
}

// handshake connects once, by hand rather than through component.Run,
// because only here is the server's answer visible: Run just logs it and
// tries again.
func handshake(ctx context.Context, cfg config.Config, r *report, opts Options) (privilegesCheckable bool) {
	addr := cfg.XMPP.Server
	d := net.Dialer{Timeout: opts.Timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		r.fail(fmt.Sprintf("cannot connect to the component port %s: %s", addr, dialProblem(err)),
			"is the XMPP server running (systemctl status prosody / ejabberd)? It must listen for components there:\n"+
				componentPortHelp(cfg))
		return false
	}
	defer conn.Close()
	r.ok("component port %s answers", addr)

	hctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	// The handshake must not outlive hctx even if the server says nothing.
	stop := context.AfterFunc(hctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	domain, err := jid.Parse(cfg.XMPP.Component)
	if err != nil {
		r.fail(fmt.Sprintf("xmpp.component %q is not a valid domain: %v", cfg.XMPP.Component, err), "")
		return false
	}
	s, err := xcomponent.NewSession(hctx, domain, []byte(cfg.XMPP.Secret), conn)
	if err == nil {
		r.ok("handshake as %s accepted: the secret is right", cfg.XMPP.Component)
		// Say goodbye properly, so the server has let go of the name
		// before the privilege check connects again.
		_ = s.Close()
		_ = conn.SetReadDeadline(time.Now().Add(time.Second))
		_, _ = io.Copy(io.Discard, conn)
		return true
	}

	var se stream.Error
	switch {
	case errors.As(err, &se) && se.Err == "not-authorized":
		r.fail(fmt.Sprintf("the server refused the secret for %s (not-authorized)", cfg.XMPP.Component),
			"xmpp.secret (or the file named by xmpp.secret_file) must be exactly the secret the server has for this component:\n"+
				"  Prosody:  component_secret in the Component \""+cfg.XMPP.Component+"\" block\n"+
				"  ejabberd: password under hosts: \""+cfg.XMPP.Component+"\" in the ejabberd_service listener\n"+
				"then reload the server (prosodyctl reload / ejabberdctl reload_config).")
	case errors.As(err, &se) && (se.Err == "host-unknown" || se.Err == "improper-addressing" || se.Err == "host-gone"):
		r.fail(fmt.Sprintf("the server does not know the component %s (%s)", cfg.XMPP.Component, se.Err),
			"declare it on the XMPP server, then reload it:\n\n"+componentDeclaration(cfg))
	case errors.As(err, &se) && se.Err == "conflict":
		r.warn(fmt.Sprintf("the secret is right, but %s is already connected (conflict): mmsprofile serve is probably running", cfg.XMPP.Component),
			"that is fine; to check the privileges too, stop serve for a moment and run doctor again,\n"+
				"or read serve's log line \"privileges advertised\" (one per host).")
	case errors.As(err, &se):
		r.fail(fmt.Sprintf("the server closed the stream during the handshake: %s%s", se.Err, streamText(se)),
			"read the XMPP server's log around this time for the reason.")
	default:
		r.fail(fmt.Sprintf("no component handshake with %s: %v", addr, err),
			"is "+addr+" really the server's component port (XEP-0114), not the client port (5222) or s2s (5269)?\n"+
				componentPortHelp(cfg))
	}
	return false
}

func streamText(se stream.Error) string {
	for _, t := range se.Text {
		if t.Value != "" {
			return " (" + t.Value + ")"
		}
	}
	return ""
}

// dialProblem says in plain words why a TCP connection failed.
func dialProblem(err error) string {
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused (nothing listens there)"
	case errors.As(err, &dnsErr):
		return "the host name does not resolve (" + dnsErr.Err + ")"
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return "no answer in time (a firewall dropping packets, or a wrong address)"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "no route to that host"
	}
	return err.Error()
}

func port(addr string) string {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "5347"
	}
	return p
}

func host(addr string) string {
	h, _, err := net.SplitHostPort(addr)
	if err != nil || h == "" {
		return "127.0.0.1"
	}
	return h
}

func componentPortHelp(cfg config.Config) string {
	return fmt.Sprintf(`  Prosody (global section):  component_ports = { %s }
                             component_interfaces = { %q }
  ejabberd (listen:):        - port: %s
                               ip: %q
                               module: ejabberd_service`,
		port(cfg.XMPP.Server), host(cfg.XMPP.Server), port(cfg.XMPP.Server), host(cfg.XMPP.Server))
}

// componentDeclaration is what each server needs to accept the component.
// The secret is never printed: doctor output ends up in tickets.
func componentDeclaration(cfg config.Config) string {
	c := cfg.XMPP.Component
	return fmt.Sprintf(`Prosody, at the end of prosody.cfg.lua (after every VirtualHost):

  Component %q
    component_secret = "<the value of xmpp.secret>"
    modules_enabled = { "privilege" }

ejabberd, in ejabberd.yml under listen:

  -
    port: %s
    ip: %q
    module: ejabberd_service
    hosts:
      %q:
        password: "<the value of xmpp.secret>"`, c, port(cfg.XMPP.Server), host(cfg.XMPP.Server), c)
}

// checkPrivileges runs the real component for a moment, compares what
// each host advertises with what the publisher needs, and says which
// write path each host gets.
func checkPrivileges(ctx context.Context, cfg config.Config, r *report, opts Options) map[string]writePath {
	comp, err := component.New(component.Config{
		Domain:       cfg.XMPP.Component,
		Server:       cfg.XMPP.Server,
		Secret:       cfg.XMPP.Secret,
		ReconnectMin: 200 * time.Millisecond,
		ReconnectMax: time.Second,
		IQTimeout:    opts.Timeout,
		OwnIQTimeout: ownIQTimeout(opts),
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		r.fail(fmt.Sprintf("cannot set up the component: %v", err), "")
		return nil
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = comp.Run(runCtx) }()
	defer func() { stop(); <-done }()

	// One deadline for all hosts: a server sends every host's
	// <privilege/> right after the handshake.
	wctx, cancel := context.WithTimeout(ctx, opts.PrivilegeWait)
	defer cancel()
	paths := map[string]writePath{}
	for _, d := range cfg.XMPP.Domains {
		paths[d] = pathNone
		p, err := comp.WaitPermissions(wctx, d)
		if err != nil {
			if !comp.Connected() {
				r.fail(fmt.Sprintf("%s: the component could not stay connected to check privileges", d),
					"run doctor again; if it persists, read the XMPP server's log.")
				continue
			}
			r.fail(fmt.Sprintf("%s advertised no privileges to %s within %s", d, cfg.XMPP.Component, opts.PrivilegeWait),
				fmt.Sprintf("is %s a host of this XMPP server? If it is, grant the privileges (and load mod_privilege):\n\n", d)+
					prosodyPrivileges(cfg, d)+"\n\n"+ejabberdPrivileges(cfg))
			continue
		}
		paths[d] = judge(cfg, d, p, r)
		if paths[d] == pathPrivileged {
			checkAddressing(ctx, comp, d, r, opts)
		}
		checkRoster(ctx, cfg, comp, d, p, r, opts)
	}
	return paths
}

// ownIQTimeout bounds the component's own IQs in doctor, among them the
// software probe that ejabberd 24.x leaves unanswered.
func ownIQTimeout(opts Options) time.Duration { return min(opts.Timeout, 3*time.Second) }

// checkAddressing says what host runs and exercises the privileged path
// with a harmless read where the server is ejabberd, whose 24.x sends a
// privileged IQ addressed to the user back (processone/ejabberd#4347):
// the read shows that the addressing serve will use is carried out.
func checkAddressing(ctx context.Context, comp *component.Component, host string, r *report, opts Options) {
	// The probe asks twice at most, each bounded by the own-IQ timeout.
	sctx, cancel := context.WithTimeout(ctx, 2*ownIQTimeout(opts)+opts.PrivilegeWait)
	srv, err := comp.WaitServer(sctx, host)
	cancel()
	if err != nil {
		r.info(fmt.Sprintf("%s: could not learn what server software it runs: %v", host, err), "")
		return
	}
	if !srv.Ejabberd() && !srv.Silent {
		r.ok("%s runs %s: write path privileged IQs, addressed to the user", host, srv)
		return
	}
	probe := jid.MustParse(probeUser + "@" + host)
	_, err = comp.PrivilegedIQ(ctx, probe, "get", component.EmptyElement(vcard.NSTemp, "vCard"))
	var iqErr *component.IQError
	switch {
	case err == nil, errors.As(err, &iqErr) && iqErr.Inner:
		// The server carried the read out (an account without a vCard
		// answers with an inner error): the path works.
	case errors.Is(err, component.ErrBounced):
		r.fail(fmt.Sprintf("%s runs %s and sends every privileged IQ back (processone/ejabberd#4347), however addressed: %v", host, srv, err),
			"upgrade ejabberd to 25.03 or later (trixie-backports has 26.07), or let mmsprofile use the HTTP API\n"+
				"for this host: remove the iq section from mod_privilege and set [ejabberd] api_url (docs/ejabberd.md).")
		return
	default:
		r.fail(fmt.Sprintf("%s runs %s, and a privileged vcard-temp read failed: %v", host, srv, err),
			"read the XMPP server's log around this time for the reason.")
		return
	}
	// Re-read: the first privileged IQ may have switched it.
	srv, _ = comp.Server(host)
	switch comp.Addressing(host) {
	case component.AddressRespelled:
		r.ok("%s runs %s: write path privileged IQs, the wrapped IQ addressed to the user respelled (that ejabberd sends one addressed to the user back, #4347)", host, srv)
	default:
		r.ok("%s runs %s: write path privileged IQs, addressed to the user", host, srv)
	}
}

// need is one privilege the publisher uses.
type need struct {
	ns, typ  string
	required bool
	why      string
}

func needs(cfg config.Config) []need {
	return []need{
		{nsPubSub, "set", true, "publishes the avatar, nickname and status to PEP"},
		{nsVCard, "both", true, "reads and merges the vCard (get) and writes it back (set)"},
		{component.NSDiscoInfo, "get", cfg.XMPP.VCardConversion == "auto",
			"asks whether the server converts vCard <-> PEP itself (xmpp.vcard_conversion = \"auto\")"},
	}
}

func allows(p component.Perms, n need) bool {
	if n.typ == "both" {
		return p.AllowsIQ(n.ns, "get") && p.AllowsIQ(n.ns, "set")
	}
	return p.AllowsIQ(n.ns, n.typ)
}

func judge(cfg config.Config, d string, p component.Perms, r *report) writePath {
	// The publisher's choice (publisher.chooseBackend): no IQ permission
	// at all means the HTTP API, when there is one.
	if p.Version == component.NSPrivilege1 || len(p.IQ) == 0 && cfg.Ejabberd.APIURL != "" {
		// ejabberd before 24.10: XEP-0356 v0.2, no IQ permission at all.
		if cfg.Ejabberd.APIURL != "" {
			r.ok("%s grants no privileged IQ (%s; ejabberd < 24.10 has none): write path the HTTP API at %s", d, p.Version, cfg.Ejabberd.APIURL)
			return pathAPI
		} else {
			r.fail(fmt.Sprintf("%s speaks XEP-0356 v0.2 only (ejabberd < 24.10): it grants no privileged IQ, so nothing can be published", d),
				"either upgrade ejabberd to 24.10 or later and grant:\n\n"+ejabberdPrivileges(cfg)+"\n\n"+
					"or publish through ejabberd's HTTP API: set in mmsprofile's config\n\n"+
					"  [ejabberd]\n  api_url = \"http://127.0.0.1:5280/api\"\n  api_user = \"mmsprofile@"+d+"\"\n  api_password_file = \"/etc/mmsprofile/ejabberd-api.password\"\n\n"+
					"(see docs/ejabberd.md for the api_permissions it needs).")
		}
		return pathNone
	}
	var missing []string
	for _, n := range needs(cfg) {
		if allows(p, n) {
			continue
		}
		have := p.IQ[n.ns]
		if have == "" {
			have = "none"
		}
		text := fmt.Sprintf("iq %s %q (granted: %s): %s", n.ns, n.typ, have, n.why)
		if n.required {
			missing = append(missing, text)
		} else {
			r.info(fmt.Sprintf("%s does not grant %s; set xmpp.vcard_conversion to \"on\" or \"off\" or grant it", d, text), "")
		}
	}
	if len(missing) > 0 {
		r.fail(fmt.Sprintf("%s grants too little: missing %s", d, strings.Join(missing, "; ")),
			"grant these privileges, then reload the server (the component reconnects by itself):\n\n"+
				prosodyPrivileges(cfg, d)+"\n\n"+ejabberdPrivileges(cfg))
	} else {
		r.ok("%s grants what publishing needs (%s)", d, p.String())
	}
	if p.Presence != "" && p.Presence != "none" {
		r.warn(fmt.Sprintf("%s grants presence %q, which mmsprofile does not use", d, p.Presence),
			"remove presence from the grant: with it the server forwards every user's presence to the component,\n"+
				"and they bounce as errors whenever mmsprofile is not connected.")
	}
	if p.Message != "outgoing" {
		r.info(fmt.Sprintf("%s does not grant message \"outgoing\"; this version does not need it", d), "")
	}
	if len(missing) > 0 {
		return pathNone
	}
	return pathPrivileged
}

// prosodyPrivileges is the privileged_entities entry for one VirtualHost.
func prosodyPrivileges(cfg config.Config, domain string) string {
	return fmt.Sprintf(`Prosody (prosody.cfg.lua, Debian package prosody-modules for mod_privilege):

  VirtualHost %q
    privileged_entities = {
      [%q] = {
        message = "outgoing";
        iq = {
          ["http://jabber.org/protocol/pubsub"] = "set";
          ["vcard-temp"] = "both";
          ["http://jabber.org/protocol/disco#info"] = "get";
        };
      };
    }

  Component %q
    modules_enabled = { "privilege" }`, domain, cfg.XMPP.Component, cfg.XMPP.Component)
}

// ejabberdPrivileges is the mod_privilege configuration for ejabberd
// 24.10 and later (XEP-0356 v0.4 with IQ permission).
func ejabberdPrivileges(cfg config.Config) string {
	return fmt.Sprintf(`ejabberd 24.10 or later (ejabberd.yml):

  acl:
    mms_component:
      server: %q
  access_rules:
    mms_component:
      allow: mms_component
  modules:
    mod_privilege:
      message:
        outgoing: mms_component
      iq:
        "http://jabber.org/protocol/pubsub":
          set: mms_component
        "vcard-temp":
          both: mms_component
        "http://jabber.org/protocol/disco#info":
          get: mms_component`, cfg.XMPP.Component)
}
