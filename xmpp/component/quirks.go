package component

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"mellium.im/xmpp/jid"
)

// ErrBounced matches (errors.Is) a privileged IQ that the server sent back
// to the component instead of carrying it out: ejabberd 24.10 to 24.12
// (processone/ejabberd#4347, fixed in 25.03) take a wrapped IQ whose to
// is the impersonated user for that IQ's answer, wrap the request itself
// in <privilege><forwarded/> and route it back to us.
var ErrBounced = errors.New("component: the server bounced the privileged iq back")

// Failure reasons given to Component.OnIQFailure.
const (
	ReasonBounced = "bounced" // the server sent the request back (ejabberd #4347)
	ReasonTimeout = "timeout" // no answer within IQTimeout
	ReasonRefused = "refused" // the server answered the privileged IQ itself with an error
)

// Server is what a host says about its software, asked once per session
// right after it advertised XEP-0356 v0.4 privileges.
type Server struct {
	// Name and Version come from jabber:iq:version (XEP-0092); Name falls
	// back to the host's disco#info identity when version is not loaded.
	Name, Version string
	// Silent: the host answered neither query within OwnIQTimeout. That is
	// ejabberd 24.10 to 24.12, which drops every unwrapped IQ a privileged
	// component sends to a bare JID (processone/ejabberd#4336).
	Silent bool
}

func (s Server) String() string {
	switch {
	case s.Silent:
		return "a server that answers none of the component's own IQs (ejabberd before 25.03)"
	case s.Name == "":
		return "unknown"
	case s.Version == "":
		return s.Name
	}
	return s.Name + " " + s.Version
}

// Ejabberd reports whether the host runs ejabberd, as far as it said.
func (s Server) Ejabberd() bool { return strings.EqualFold(s.Name, "ejabberd") }

// bouncesSelfAddressed reports whether this server is known to bounce a
// privileged IQ addressed to the impersonated user (#4347): ejabberd from
// 24.10 (the first with IQ permission) before 25.03, or a silent host.
func (s Server) bouncesSelfAddressed() bool {
	if s.Silent {
		return true
	}
	if !s.Ejabberd() {
		return false
	}
	major, minor, ok := yearMonth(s.Version)
	return ok && (major < 25 || major == 25 && minor < 3)
}

// AtLeast reports whether the version said is year.month or later, in
// ejabberd's numbering ("23.10"); false when it cannot be read.
func (s Server) AtLeast(year, month int) bool {
	y, m, ok := yearMonth(s.Version)
	return ok && (y > year || y == year && m >= month)
}

// yearMonth reads ejabberd's "24.12" (or "24.12.1", "24.12-3+deb13u2").
func yearMonth(v string) (int, int, bool) {
	v, _, _ = strings.Cut(v, "-")
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	y, err1 := strconv.Atoi(parts[0])
	m, err2 := strconv.Atoi(parts[1])
	return y, m, err1 == nil && err2 == nil
}

// respell returns owner's bare JID spelled with one letter of the domain
// (or, for a domain without letters, of the localpart) in the other case:
// the same JID (domains are case-insensitive, localparts case-folded),
// but a different one to ejabberd 24.12's check, which compares the
// wrapped IQ's to with the impersonated user as written. That server then
// carries the request out and wraps only its answer. ok is false when no
// letter can change.
func respell(owner jid.JID) (string, bool) {
	local, domain := owner.Localpart(), owner.Domainpart()
	if d, ok := flipFirstLetter(domain); ok {
		if local == "" {
			return d, true
		}
		return local + "@" + d, true
	}
	if l, ok := flipFirstLetter(local); ok {
		return l + "@" + domain, true
	}
	return "", false
}

func flipFirstLetter(s string) (string, bool) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'a' && c <= 'z':
			return s[:i] + string(c-'a'+'A') + s[i+1:], true
		case c >= 'A' && c <= 'Z':
			return s[:i] + string(c-'A'+'a') + s[i+1:], true
		}
	}
	return "", false
}

// Server returns what host said about its software in this session, once
// the probe started after its privilege advertisement has ended.
func (c *Component) Server(host string) (Server, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	s, ok := c.servers[host]
	return s, ok
}

// WaitServer waits until the probe of host has ended.
func (c *Component) WaitServer(ctx context.Context, host string) (Server, error) {
	s, err := waitFor(ctx, c, func() (Server, bool) { s, ok := c.servers[host]; return s, ok })
	if err != nil {
		return Server{}, fmt.Errorf("component: waiting to learn what %s runs: %w", host, err)
	}
	return s, nil
}

// Addressing is how the wrapped IQ of a privileged IQ names its target.
type Addressing string

const (
	// AddressSelf sets the wrapped IQ's to to the user, as XEP-0356 shows.
	AddressSelf Addressing = "self"
	// AddressRespelled writes the same JID with one letter in the other
	// case, for ejabberd before 25.03 (see respell).
	AddressRespelled Addressing = "respelled"
)

// Addressing returns how privileged IQs for host's users are addressed in
// this session.
func (c *Component) Addressing(host string) Addressing {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.respelled[host] {
		return AddressRespelled
	}
	return AddressSelf
}

// useRespelled switches host to AddressRespelled for the rest of the
// session, logging it once.
func (c *Component) useRespelled(host, why string) {
	c.mu.Lock()
	already := c.respelled[host]
	c.respelled[host] = true
	if _, known := c.servers[host]; !known && c.session != nil {
		// Only ejabberd before 25.03 bounces: that much is known now,
		// before (or instead of) the probe's answer.
		c.servers[host] = Server{Name: "ejabberd", Version: "before 25.03"}
		close(c.changed)
		c.changed = make(chan struct{})
	}
	c.mu.Unlock()
	if !already {
		c.log.Warn("privileged IQs for this host now address the user respelled (ejabberd before 25.03 sends a self-addressed one back, processone/ejabberd#4347)",
			"host", host, "why", why)
	}
}

// probeServer asks host what it runs, by its own IQs (not privileged),
// each bounded by OwnIQTimeout, and records the answer. It runs in its own
// goroutine: nothing waits for it but the addressing it may switch.
func (c *Component) probeServer(ctx context.Context, host string) {
	h, err := jid.Parse(host)
	if err != nil {
		return
	}
	var srv Server
	answered := false
	raw, err := c.ownIQ(ctx, h, "get", EmptyElement("jabber:iq:version", "query"))
	var iqErr *IQError
	switch {
	case err == nil:
		answered = true
		var v struct {
			Name    string `xml:"name"`
			Version string `xml:"version"`
		}
		if xml.Unmarshal(raw, &v) == nil {
			srv.Name, srv.Version = strings.TrimSpace(v.Name), strings.TrimSpace(v.Version)
		}
	case errors.As(err, &iqErr):
		answered = true // no version module; disco#info still names it
	}
	// A host that dropped the first query drops the second as well.
	if answered && srv.Name == "" {
		if raw, err := c.ownIQ(ctx, h, "get", EmptyElement(NSDiscoInfo, "query")); err == nil {
			srv.Name = serverIdentity(raw)
		}
	}
	if ctx.Err() != nil {
		return // the session ended: its successor asks again
	}
	srv.Silent = !answered
	c.mu.Lock()
	if c.servers != nil {
		c.servers[host] = srv
	}
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
	c.log.Info("server software", "host", host, "server", srv.String())
	if srv.bouncesSelfAddressed() {
		c.useRespelled(host, "server "+srv.String())
	}
}

// serverIdentity is the name of the server/im identity in a disco#info
// answer: "ejabberd", "Prosody".
func serverIdentity(raw []byte) string {
	var q struct {
		Identities []struct {
			Category string `xml:"category,attr"`
			Name     string `xml:"name,attr"`
		} `xml:"identity"`
	}
	if xml.Unmarshal(raw, &q) != nil {
		return ""
	}
	for _, id := range q.Identities {
		if id.Category == "server" && id.Name != "" {
			return id.Name
		}
	}
	return ""
}

// bounce is one privileged IQ waiting for its answer, cancelled with
// ErrBounced when the server sends it back instead.
type bounce struct {
	cancel context.CancelCauseFunc
}

// noteBounce recognises a bounced privileged IQ among the IQs of type get
// or set the server sends us: one with our outer id that carries
// <privilege><forwarded><iq/>. It reports whether el was one.
func (c *Component) noteBounce(el *element) bool {
	if findForwardedIQ(el) == nil {
		return false
	}
	c.mu.RLock()
	b, ok := c.waiting[el.attr("id")]
	c.mu.RUnlock()
	if ok {
		b.cancel(ErrBounced)
	}
	// Either way it is no request to answer: a copy of one of ours, maybe
	// late. Answering would send an error to the user it names.
	return true
}

// failed tells OnIQFailure about a privileged IQ that went wrong.
func (c *Component) failed(host, reason string) {
	if c.OnIQFailure != nil {
		c.OnIQFailure(host, reason)
	}
}

// defaultOwnIQTimeout bounds each of the component's own IQs: short, as
// some servers drop them (ejabberd 24.x, #4336) and nothing should wait
// the full IQTimeout for an answer that never comes.
const defaultOwnIQTimeout = 3 * time.Second
