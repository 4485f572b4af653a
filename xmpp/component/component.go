package component

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"runtime/trace"
	"strings"
	"sync"
	"time"

	"mmsprofile/internal/backoff"

	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	xcomponent "mellium.im/xmpp/component"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"
)

// Errors a caller of PrivilegedIQ tests with errors.Is.
var (
	// ErrNotConnected: no session right now; try again later.
	ErrNotConnected = errors.New("component: not connected")
	// ErrNotGranted: the user's host did not grant this namespace and
	// type. Only the operator can change that.
	ErrNotGranted = errors.New("component: privilege not granted")
	// ErrPermissionsUnknown: the host has not said what it grants in this
	// session yet; try again later.
	ErrPermissionsUnknown = errors.New("component: host has not advertised its privileges")
)

// Config is what the component needs to connect.
type Config struct {
	Domain       string // the component's JID, e.g. mms.example.org
	Server       string // host:port of the server's component listener
	Secret       string
	ReconnectMin time.Duration
	ReconnectMax time.Duration
	IQTimeout    time.Duration
	// OwnIQTimeout bounds the component's own, unprivileged IQs (IQ, and
	// the software probe after each host's privilege advertisement);
	// default 3s.
	OwnIQTimeout time.Duration
	// Name is shown in disco#info.
	Name string
}

// Component is one XEP-0114 connection, re-established whenever it drops.
type Component struct {
	cfg  Config
	addr jid.JID
	log  *slog.Logger

	mu      sync.RWMutex
	session *xmpp.Session
	perms   map[string]Perms
	changed chan struct{} // closed and replaced when state changes
	// Per session, like perms: what each host runs, and the hosts whose
	// privileged IQs are respelled (ejabberd before 25.03).
	servers   map[string]Server
	respelled map[string]bool
	// waiting holds the privileged IQs sent and not yet answered, by
	// outer id, so that a bounced one ends at once.
	waiting map[string]bounce
	// sessCtx ends with the session; probes run under it.
	sessCtx context.Context
	probes  sync.WaitGroup

	h handlers

	// OnState, when set before Run, is told each time the session comes
	// up (true) or goes down (false).
	OnState func(up bool)

	// OnPermissions, when set before Run, is told each host's permissions
	// as they arrive.
	OnPermissions func(host string, p Perms)

	// OnIQFailure, when set before Run, is told each privileged IQ that
	// failed other than by an answer to the wrapped IQ: the host and a
	// Reason… constant.
	OnIQFailure func(host, reason string)

	// OnHandshakeFailure, when set before Run, is told each handshake the
	// server refused or left unanswered, with a Handshake… constant. Run
	// keeps retrying a wrong secret forever, so this (and the log) is the
	// only sign of it.
	OnHandshakeFailure func(reason string)
}

// New prepares a component; Run connects it.
func New(cfg Config, log *slog.Logger) (*Component, error) {
	addr, err := jid.Parse(cfg.Domain)
	if err != nil {
		return nil, fmt.Errorf("component: domain %q: %w", cfg.Domain, err)
	}
	if cfg.ReconnectMin <= 0 {
		cfg.ReconnectMin = time.Second
	}
	if cfg.ReconnectMax < cfg.ReconnectMin {
		cfg.ReconnectMax = cfg.ReconnectMin
	}
	if cfg.IQTimeout <= 0 {
		cfg.IQTimeout = 30 * time.Second
	}
	if cfg.OwnIQTimeout <= 0 {
		cfg.OwnIQTimeout = defaultOwnIQTimeout
	}
	if cfg.Name == "" {
		cfg.Name = "mmsprofile"
	}
	return &Component{
		cfg:       cfg,
		addr:      addr.Domain(),
		log:       log,
		perms:     map[string]Perms{},
		servers:   map[string]Server{},
		respelled: map[string]bool{},
		waiting:   map[string]bounce{},
		changed:   make(chan struct{}),
	}, nil
}

// Run connects and keeps reconnecting with capped exponential backoff and
// jitter until ctx ends.
func (c *Component) Run(ctx context.Context) error {
	failures := 0
	for {
		started := time.Now()
		err := c.runOnce(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// A session that lived a while was healthy: start the backoff anew.
		if time.Since(started) > 30*time.Second {
			failures = 0
		}
		delay := backoff.Jitter(backoff.Delay(c.cfg.ReconnectMin, c.cfg.ReconnectMax, failures))
		failures++
		c.log.Warn("component session ended; reconnecting", "server", c.cfg.Server, "err", err, "in", delay.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
	}
}

func (c *Component) runOnce(ctx context.Context) error {
	dialer := net.Dialer{Timeout: 10 * time.Second}
	conn, err := dialer.DialContext(ctx, "tcp", c.cfg.Server)
	if err != nil {
		return fmt.Errorf("component: dial %s: %w", c.cfg.Server, err)
	}
	conn = withQuickAck(conn)
	hctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	s, err := xcomponent.NewSession(hctx, c.addr, []byte(c.cfg.Secret), conn)
	cancel()
	if err != nil {
		conn.Close()
		c.handshakeFailed(err)
		return fmt.Errorf("component: handshake with %s as %s: %w", c.cfg.Server, c.addr, err)
	}
	c.log.Info("component connected", "server", c.cfg.Server, "domain", c.addr.String())
	sctx, endSession := context.WithCancel(ctx)
	c.mu.Lock()
	c.sessCtx = sctx
	c.mu.Unlock()
	c.setSession(s)
	defer func() {
		endSession()
		c.probes.Wait()
		c.setSession(nil)
	}()

	stop := context.AfterFunc(ctx, func() {
		s.Close()
		conn.Close()
	})
	defer stop()
	err = s.Serve(xmpp.HandlerFunc(c.handle))
	conn.Close()
	if err == nil {
		err = io.EOF
	}
	return fmt.Errorf("component: session: %w", err)
}

func (c *Component) setSession(s *xmpp.Session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.session = s
	if s == nil {
		// Permissions are per session: the server says them again after
		// the next handshake, and may have changed.
		c.perms = map[string]Perms{}
		c.servers = map[string]Server{}
		c.respelled = map[string]bool{}
	}
	close(c.changed)
	c.changed = make(chan struct{})
	if c.OnState != nil {
		c.OnState(s != nil)
	}
}

// Connected reports whether a session is up.
func (c *Component) Connected() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.session != nil
}

// Permissions returns what host granted in this session.
func (c *Component) Permissions(host string) (Perms, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	p, ok := c.perms[host]
	return p, ok
}

// WaitPermissions waits until host has advertised its permissions.
func (c *Component) WaitPermissions(ctx context.Context, host string) (Perms, error) {
	p, err := waitFor(ctx, c, func() (Perms, bool) { p, ok := c.perms[host]; return p, ok })
	if err != nil {
		return Perms{}, fmt.Errorf("component: waiting for %s to grant privileges: %w", host, err)
	}
	return p, nil
}

// waitFor waits until look, called with c.mu read-locked, finds what it
// looks for; every change to the session's state closes c.changed.
func waitFor[T any](ctx context.Context, c *Component, look func() (T, bool)) (T, error) {
	for {
		c.mu.RLock()
		v, ok := look()
		ch := c.changed
		c.mu.RUnlock()
		if ok {
			return v, nil
		}
		select {
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		case <-ch:
		}
	}
}

// handle serves every stanza the server sends. It must not call the
// session's send methods (Serve holds the lock): answers go through t.
func (c *Component) handle(t xmlstream.TokenReadEncoder, start *xml.StartElement) error {
	var el element
	// t holds the stanza's inner tokens and its end; the decoder must see
	// the start too or it takes the end for a stray one.
	full := xmlstream.MultiReader(xmlstream.Token(*start), t)
	if err := xml.NewTokenDecoder(full).Decode(&el); err != nil {
		return fmt.Errorf("component: read stanza: %w", err)
	}
	switch start.Name.Local {
	case "message":
		for _, ns := range []string{NSPrivilege, NSPrivilege1} {
			if priv := el.child(ns, "privilege"); priv != nil {
				c.recordPerms(el.attr("from"), parsePrivilege(priv))
				return nil
			}
		}
		c.mu.RLock()
		s := c.session
		c.mu.RUnlock()
		if s != nil {
			c.dispatchChat(s, &el)
		}
	case "iq":
		return c.handleIQ(t, &el)
	}
	return nil
}

func (c *Component) recordPerms(from string, p Perms) {
	host := from
	if j, err := jid.Parse(from); err == nil {
		host = j.Domainpart()
	}
	c.mu.Lock()
	_, again := c.perms[host]
	c.perms[host] = p
	close(c.changed)
	c.changed = make(chan struct{})
	sctx := c.sessCtx
	c.mu.Unlock()
	c.log.Info("privileges advertised", "host", host, "version", p.Version, "perms", p.String())
	// Only v0.4 hosts have privileged IQs whose addressing depends on the
	// server's version; v0.2 (ejabberd 23.01) has none to address.
	if p.Version == NSPrivilege && !again && sctx != nil {
		c.probes.Add(1)
		go func() {
			defer c.probes.Done()
			c.probeServer(sctx, host)
		}()
	}
	if c.OnPermissions != nil {
		c.OnPermissions(host, p)
	}
}

func (c *Component) handleIQ(t xmlstream.TokenReadEncoder, el *element) error {
	typ := el.attr("type")
	if typ != "get" && typ != "set" {
		return nil // a late answer nobody waits for any more
	}
	if c.noteBounce(el) {
		return nil
	}
	to, _ := jid.Parse(el.attr("from"))
	reply := stanza.IQ{ID: el.attr("id"), To: to, From: c.addr, Type: stanza.ResultIQ}
	var payload *element
	for i := range el.Children {
		if el.Children[i].XMLName.Local != "error" {
			payload = &el.Children[i]
			break
		}
	}
	if payload != nil {
		if typ == "get" && payload.XMLName.Space == NSDiscoInfo && payload.XMLName.Local == "query" {
			if info, ok := c.discoInfo(payload.attr("node")); ok {
				_, err := xmlstream.Copy(t, reply.Wrap(info))
				return err
			}
		} else if h := c.h.iq[payload.XMLName.Space+" "+payload.XMLName.Local]; h != nil {
			c.mu.RLock()
			s := c.session
			c.mu.RUnlock()
			if s != nil {
				c.dispatchIQ(s, el, h, payload)
				return nil
			}
		}
	}
	reply.Type = stanza.ErrorIQ
	cond := stanza.ServiceUnavailable
	if payload != nil && payload.XMLName.Space == NSDiscoInfo {
		cond = stanza.ItemNotFound
	}
	_, err := xmlstream.Copy(t, reply.Wrap(stanza.Error{Type: stanza.Cancel, Condition: cond}.TokenReader()))
	return err
}

// IQError is a stanza error from the user's server, either on the
// privileged IQ itself or on the IQ it carried: the server's error as
// mellium's stanza.Error (the one stanza-error type of the project, which
// the handlers answer with too), and where it came from.
type IQError struct {
	Stanza stanza.Error
	Owner  string
	Inner  bool // the wrapped IQ failed, not the privilege
	// Own: an answer to one of the component's own IQs (IQ, RosterSet),
	// which involve no privilege wrapping.
	Own bool
}

// Unwrap gives the server's stanza error, so errors.Is and errors.As see
// it through an IQError.
func (e *IQError) Unwrap() error { return e.Stanza }

// Reason is the server's human-readable text, if it sent one.
func (e *IQError) Reason() string {
	if t := e.Stanza.Text[""]; t != "" {
		return t
	}
	for _, t := range e.Stanza.Text {
		return t
	}
	return ""
}

func (e *IQError) Error() string {
	where := "privileged iq"
	switch {
	case e.Inner:
		where = "wrapped iq"
	case e.Own:
		where = "iq"
	}
	s := fmt.Sprintf("component: %s for %s: %s/%s", where, e.Owner, e.Stanza.Type, e.Stanza.Condition)
	if t := e.Reason(); t != "" {
		s += ": " + t
	}
	return s
}

// Permanent reports whether the server refused for a reason time will not
// change: the account does not exist, or the write is not allowed.
func (e *IQError) Permanent() bool {
	switch e.Stanza.Condition {
	case stanza.Forbidden, stanza.NotAllowed, stanza.ItemNotFound, stanza.RegistrationRequired, stanza.NotAuthorized:
		return !e.Inner || e.Stanza.Condition != stanza.ItemNotFound
	}
	return false
}

// Temporary reports whether trying again later may succeed.
func (e *IQError) Temporary() bool {
	c := e.Stanza.Condition
	return e.Stanza.Type == stanza.Wait || c == stanza.ResourceConstraint ||
		c == stanza.InternalServerError || c == stanza.RemoteServerTimeout
}

// PrivilegedIQ sends payload (one XML element) as an IQ of type typ ("get"
// or "set") on behalf of owner (a bare JID of a local user), and returns
// the payload of the server's inner answer. The host must have granted
// the payload's namespace for typ in this session.
func (c *Component) PrivilegedIQ(ctx context.Context, owner jid.JID, typ string, payload []byte) ([]byte, error) {
	owner = owner.Bare()
	ns, err := rootNamespace(payload)
	if err != nil {
		return nil, fmt.Errorf("component: privileged iq payload: %w", err)
	}
	c.mu.RLock()
	s := c.session
	p, known := c.perms[owner.Domainpart()]
	c.mu.RUnlock()
	if s == nil {
		return nil, ErrNotConnected
	}
	if !known {
		// The server says what it grants right after the handshake; give
		// it a moment rather than failing the first publish of a session.
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		p, err = c.WaitPermissions(wctx, owner.Domainpart())
		cancel()
		known = err == nil
	}
	if !known {
		return nil, fmt.Errorf("%w: %s", ErrPermissionsUnknown, owner.Domainpart())
	}
	// Sending what was not granted makes Debian's mod_privilege write junk
	// on the stream and kill the session: never try.
	if !p.AllowsIQ(ns, typ) {
		return nil, fmt.Errorf("%w: host %s, iq %s %s", ErrNotGranted, owner.Domainpart(), typ, ns)
	}

	host := owner.Domainpart()
	addressing := c.Addressing(host)
	if trace.IsEnabled() {
		// The name is built only while a trace is taken: this is every IQ.
		defer trace.StartRegion(ctx, "xmpp.iq-"+typ+" "+ns).End()
	}
	out, err := c.privilegedIQ(ctx, s, owner, typ, payload, addressing)
	if errors.Is(err, ErrBounced) && addressing == AddressSelf {
		// ejabberd before 25.03 (#4347): the bounce came back at once, so
		// the same IQ addressed the way that server carries out costs one
		// round trip, and every later one goes that way from the start.
		if _, ok := respell(owner); ok {
			c.useRespelled(host, "a privileged IQ came back")
			out, err = c.privilegedIQ(ctx, s, owner, typ, payload, AddressRespelled)
		}
	}
	return out, err
}

func (c *Component) privilegedIQ(ctx context.Context, s *xmpp.Session, owner jid.JID, typ string, payload []byte, addressing Addressing) ([]byte, error) {
	host := owner.Domainpart()
	innerTo := owner.String()
	if addressing == AddressRespelled {
		if r, ok := respell(owner); ok {
			innerTo = r
		}
	}
	id := randomID()
	// The inner IQ is built from attributes, not a stanza.IQ: its to may be
	// respelled, and a jid.JID would undo that.
	inner := xml.StartElement{Name: xml.Name{Space: "jabber:client", Local: "iq"}, Attr: []xml.Attr{
		{Name: xml.Name{Local: "type"}, Value: typ},
		{Name: xml.Name{Local: "from"}, Value: owner.String()},
		{Name: xml.Name{Local: "to"}, Value: innerTo},
		{Name: xml.Name{Local: "id"}, Value: randomID()},
	}}
	// mod_privilege insists that the outer type equals the inner one.
	outer := stanza.IQ{Type: stanza.IQType(typ), To: owner, From: c.addr, ID: id}
	req := outer.Wrap(xmlstream.Wrap(xmlstream.Wrap(tokensOrNil(payload), inner),
		xml.StartElement{Name: xml.Name{Space: NSPrivilege, Local: "privileged_iq"}}))

	ctx, cancel := context.WithTimeout(ctx, c.cfg.IQTimeout)
	defer cancel()
	ctx, bounced := context.WithCancelCause(ctx)
	defer bounced(nil)
	c.mu.Lock()
	c.waiting[id] = bounce{cancel: bounced}
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.waiting, id)
		c.mu.Unlock()
	}()
	resp, err := s.SendIQ(ctx, req)
	if err != nil {
		if cause := context.Cause(ctx); errors.Is(cause, ErrBounced) {
			c.failed(host, ReasonBounced)
			return nil, fmt.Errorf("component: privileged iq %s for %s (addressed %s): %w", typ, owner, addressing, ErrBounced)
		}
		if errors.Is(err, context.DeadlineExceeded) {
			c.failed(host, ReasonTimeout)
		}
		return nil, fmt.Errorf("component: privileged iq for %s: %w", owner, err)
	}
	defer resp.Close()
	var answer element
	if err := xml.NewTokenDecoder(resp).Decode(&answer); err != nil {
		return nil, fmt.Errorf("component: read answer for %s: %w", owner, err)
	}
	out, err := answerPayload(owner.String(), &answer)
	var iqErr *IQError
	if errors.As(err, &iqErr) && !iqErr.Inner {
		c.failed(host, ReasonRefused)
	}
	return out, err
}

// answerPayload reads the server's answer to a privileged IQ. The forwarded
// inner IQ is the truth whatever the outer type says: Prosody 0.12 answers
// "result" over an inner error, while Prosody 13's mod_privilege copies the
// inner type to the outer one, so an account without a vCard yet
// (inner item-not-found) arrives as an outer error. Only an outer error with
// nothing forwarded is the server refusing the privilege itself.
func answerPayload(owner string, answer *element) ([]byte, error) {
	inner := findForwardedIQ(answer)
	if inner == nil {
		if answer.attr("type") == "error" {
			return nil, stanzaError(owner, false, answer)
		}
		return nil, nil
	}
	if inner.attr("type") == "error" {
		return nil, stanzaError(owner, true, inner)
	}
	var out []byte
	for i := range inner.Children {
		if inner.Children[i].XMLName.Local == "error" {
			continue
		}
		out = append(out, inner.Children[i].Raw()...)
	}
	return out, nil
}

func findForwardedIQ(answer *element) *element {
	for _, ns := range []string{NSPrivilege, NSPrivilege1} {
		if priv := answer.child(ns, "privilege"); priv != nil {
			if fwd := priv.child(NSForward, "forwarded"); fwd != nil {
				return fwd.child("", "iq")
			}
		}
	}
	return nil
}

func stanzaError(owner string, inner bool, iq *element) *IQError {
	e := &IQError{Owner: owner, Inner: inner, Stanza: stanza.Error{Type: stanza.Cancel, Condition: stanza.UndefinedCondition}}
	se := iq.child("", "error")
	if se == nil {
		return e
	}
	if t := se.attr("type"); t != "" {
		e.Stanza.Type = stanza.ErrorType(t)
	}
	// Read leniently, as servers send it (a condition in any namespace,
	// text with or without xml:lang): stanza.UnmarshalError would drop a
	// condition outside the stanzas namespace.
	for _, c := range se.Children {
		switch c.XMLName.Local {
		case "text":
			if e.Stanza.Text == nil {
				e.Stanza.Text = map[string]string{}
			}
			e.Stanza.Text[c.attr("lang")] = strings.TrimSpace(c.Text)
		default:
			e.Stanza.Condition = stanza.Condition(c.XMLName.Local)
		}
	}
	return e
}

func rootNamespace(payload []byte) (string, error) {
	d := xml.NewDecoder(bytes.NewReader(payload))
	for {
		tok, err := d.Token()
		if err != nil {
			return "", err
		}
		if se, ok := tok.(xml.StartElement); ok {
			if se.Name.Space == "" {
				return "", errors.New("root element has no namespace")
			}
			return se.Name.Space, nil
		}
	}
}

type xmlTokenReader = xml.TokenReader

// tokens turns well-formed XML we built ourselves into a token stream.
func tokens(b []byte) xml.TokenReader {
	return xml.NewDecoder(bytes.NewReader(b))
}

func randomID() string {
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 16)
	for i := range b {
		b[i] = letters[rand.N(len(letters))]
	}
	return string(b)
}
