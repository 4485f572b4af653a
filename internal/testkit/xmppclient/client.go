package xmppclient

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"mellium.im/sasl"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/crypto"
	"mellium.im/xmpp/disco"
	"mellium.im/xmpp/disco/info"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/mux"
	"mellium.im/xmpp/roster"
	"mellium.im/xmpp/stanza"
)

// Namespaces this client speaks.
const (
	NSAvatarMetadata = "urn:xmpp:avatar:metadata"
	NSAvatarData     = "urn:xmpp:avatar:data"
	NSNick           = "http://jabber.org/protocol/nick"
	NSPubSub         = "http://jabber.org/protocol/pubsub"
	NSPubSubEvent    = "http://jabber.org/protocol/pubsub#event"
	NSVCard          = "vcard-temp"
	NSVCardUpdate    = "vcard-temp:x:update"
	// NodeVCard4 is XEP-0292's PEP node; its items are <vcard/> in NSVCard4.
	NodeVCard4 = "urn:xmpp:vcard4"
	NSVCard4   = "urn:ietf:params:xml:ns:vcard-4.0"
	// NSMood is XEP-0107 User Mood (node and payload).
	NSMood = "http://jabber.org/protocol/mood"

	// CapsNode is the XEP-0115 node this client announces.
	CapsNode = "https://mmsprofile.invalid/xmppclient"
)

// closeTimeout bounds how long Close waits for the server to end its stream.
const closeTimeout = 5 * time.Second

// avatarBuffer is how many avatar events wait for a reader before new ones
// are dropped: the Serve loop must never block, or IQ answers stall too.
const avatarBuffer = 64

// AvatarEvent is one XEP-0084 metadata notification.
type AvatarEvent struct {
	From   jid.JID // the publisher (a bare JID for PEP)
	ItemID string  // SHA-1 hex of the data item, by XEP-0084
	Infos  []Info  // empty when the avatar was disabled
}

// Info is one <info/> of XEP-0084 metadata.
type Info struct {
	Bytes  int    `xml:"bytes,attr"`
	ID     string `xml:"id,attr"`
	Type   string `xml:"type,attr"`
	Width  int    `xml:"width,attr"`
	Height int    `xml:"height,attr"`
	URL    string `xml:"url,attr"`
}

// Presence is the last presence seen from one full JID.
type Presence struct {
	From   jid.JID
	Type   string // "" for available
	Show   string
	Status string
	// PhotoHash is the XEP-0153 <photo/> content; HasPhoto says whether the
	// <x xmlns='vcard-temp:x:update'> element carried a <photo/> at all
	// (an empty one means "no avatar").
	PhotoHash string
	HasPhoto  bool
	seq       uint64
}

// Client is one logged-in resource. Its methods are safe for concurrent use.
type Client struct {
	s       *xmpp.Session
	conn    net.Conn
	log     *slog.Logger
	capsVer string
	avatars chan AvatarEvent
	vcard4s chan VCard4Event
	moods   chan MoodEvent
	chats   chan Chat
	done    chan struct{} // closed when Serve has returned
	serve   error         // Serve's result, valid once done is closed

	closeOnce sync.Once
	closeErr  error

	mu        sync.Mutex
	changed   chan struct{}     // closed and replaced on every state change below
	roster    map[string]string // bare JID → subscription (none, to, from, both)
	asks      map[string]bool   // bare JIDs that asked to subscribe to us
	presences map[string]Presence
	seq       uint64
}

// discoInfo is what this client says it is, both in disco#info answers and
// (hashed) in its caps. The +notify features make PEP services push avatar
// nick, vCard4 and mood changes, the way Conversations, Gajim and Movim
// ask for them.
func discoInfo(node string) disco.Info {
	return disco.Info{
		InfoQuery: disco.InfoQuery{Node: node},
		Identity: []info.Identity{{
			Category: "client",
			Type:     "pc",
			Name:     "mmsprofile test client",
		}},
		Features: []info.Feature{
			{Var: disco.NSInfo},
			{Var: disco.NSCaps},
			{Var: NSAvatarMetadata + "+notify"},
			{Var: NSNick + "+notify"},
			{Var: NodeVCard4 + "+notify"},
			{Var: NSMood + "+notify"},
		},
	}
}

// Dial connects to addr over plain TCP (the test server allows PLAIN
// without TLS), logs in as j with password, binds j's resource (or one the
// server picks), fetches the roster so that roster pushes reach us, and
// sends initial presence with XEP-0115 caps. log may be nil.
func Dial(ctx context.Context, addr string, j jid.JID, password string, log *slog.Logger) (*Client, error) {
	c, err := dial(ctx, addr, j, password, log)
	if err != nil {
		return nil, fmt.Errorf("xmppclient: dial %s as %s: %w", addr, j, err)
	}
	return c, nil
}

func dial(ctx context.Context, addr string, j jid.JID, password string, log *slog.Logger) (*Client, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	// Declaring the session Secure is what lets mellium offer SASL PLAIN on
	// a plain loopback connection; the server must allow it too.
	s, err := xmpp.NewSession(ctx, j.Domain(), j, conn, xmpp.Secure, xmpp.NewNegotiator(
		func(*xmpp.Session, *xmpp.StreamConfig) xmpp.StreamConfig {
			return xmpp.StreamConfig{Features: []xmpp.StreamFeature{
				xmpp.SASL("", password, sasl.Plain),
				xmpp.BindResource(),
			}}
		}))
	if err != nil {
		conn.Close()
		return nil, err
	}
	c := &Client{
		s:         s,
		conn:      conn,
		log:       log.With("jid", s.LocalAddr().String()),
		capsVer:   discoInfo("").Hash(sha1.New()),
		avatars:   make(chan AvatarEvent, avatarBuffer),
		vcard4s:   make(chan VCard4Event, avatarBuffer),
		moods:     make(chan MoodEvent, avatarBuffer),
		chats:     make(chan Chat, avatarBuffer),
		done:      make(chan struct{}),
		changed:   make(chan struct{}),
		roster:    make(map[string]string),
		asks:      make(map[string]bool),
		presences: make(map[string]Presence),
	}
	m := mux.New(stanza.NSClient,
		mux.IQFunc(stanza.GetIQ, xml.Name{Space: disco.NSInfo, Local: "query"}, c.handleDiscoInfo),
		roster.Handle(roster.Handler{Push: c.handleRosterPush}),
	)
	// Messages and presences are read whole here rather than through mux,
	// which calls its handlers once per child element and per exact type.
	// IQs go to mux, which also answers unknown ones with an error.
	h := xmpp.HandlerFunc(func(t xmlstream.TokenReadEncoder, start *xml.StartElement) error {
		switch start.Name {
		case xml.Name{Space: stanza.NSClient, Local: "message"}:
			return c.handleMessage(t, start)
		case xml.Name{Space: stanza.NSClient, Local: "presence"}:
			return c.handlePresence(t, start)
		}
		return m.HandleXMPP(t, start)
	})
	go func() {
		c.serve = s.Serve(h)
		if c.serve != nil {
			c.log.Debug("session ended", "err", c.serve)
		}
		// Only Serve's goroutine sends on the event channels, so closing
		// here is safe and tells readers that no more events will come.
		close(c.avatars)
		close(c.vcard4s)
		close(c.moods)
		close(c.done)
	}()

	if err := c.fetchRoster(ctx); err != nil {
		c.Close()
		return nil, err
	}
	if err := c.SendPresence(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// JID is the full JID the server bound.
func (c *Client) JID() jid.JID { return c.s.LocalAddr() }

// Session is the underlying mellium session, for what this package does
// not wrap (publishing, in tests).
func (c *Client) Session() *xmpp.Session { return c.s }

// Done is closed when the session has ended; Err then says why.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err is the reason the session ended (nil for a clean close), valid once
// Done is closed.
func (c *Client) Err() error {
	select {
	case <-c.done:
		return c.serve
	default:
		return nil
	}
}

// Close ends the stream, waits briefly for the server to end its own, and
// closes the connection.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		err := c.s.Close()
		timer := time.NewTimer(closeTimeout)
		defer timer.Stop()
		select {
		case <-c.done:
		case <-timer.C:
		}
		if cerr := c.conn.Close(); cerr != nil && !errors.Is(cerr, net.ErrClosed) && err == nil {
			err = cerr
		}
		<-c.done
		if err != nil {
			c.closeErr = fmt.Errorf("xmppclient: close %s: %w", c.JID(), err)
		}
	})
	return c.closeErr
}

// AvatarEvents delivers XEP-0084 metadata notifications (live ones and the
// last item the server replays at login or subscription). It is closed
// when the session ends. Events are dropped, with a log line, when more
// than a few dozen wait unread.
func (c *Client) AvatarEvents() <-chan AvatarEvent { return c.avatars }

// SendPresence (re)sends our available presence with XEP-0115 caps.
func (c *Client) SendPresence(ctx context.Context) error {
	caps := disco.Caps{Hash: crypto.SHA1, Node: CapsNode, Ver: c.capsVer}
	if err := c.s.Send(ctx, stanza.Presence{}.Wrap(caps.TokenReader())); err != nil {
		return fmt.Errorf("xmppclient: send presence: %w", err)
	}
	return nil
}

// Subscribe asks to see to's presence (and so its PEP notifications).
func (c *Client) Subscribe(ctx context.Context, to jid.JID) error {
	return c.sendPresenceType(ctx, to.Bare(), stanza.SubscribePresence)
}

// Approve grants from's request to see our presence; sent before a request,
// it pre-approves one.
func (c *Client) Approve(ctx context.Context, from jid.JID) error {
	return c.sendPresenceType(ctx, from.Bare(), stanza.SubscribedPresence)
}

func (c *Client) sendPresenceType(ctx context.Context, to jid.JID, typ stanza.PresenceType) error {
	if err := c.s.Send(ctx, stanza.Presence{To: to, Type: typ}.Wrap(nil)); err != nil {
		return fmt.Errorf("xmppclient: presence %s to %s: %w", typ, to, err)
	}
	return nil
}

// Subscription is the roster's subscription state for contact ("" when not
// in the roster).
func (c *Client) Subscription(contact jid.JID) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.roster[contact.Bare().String()]
}

// WaitSubscription waits until the roster shows subscription sub for
// contact.
func (c *Client) WaitSubscription(ctx context.Context, contact jid.JID, sub string) error {
	key := contact.Bare().String()
	err := c.waitFor(ctx, func() bool { return c.roster[key] == sub })
	if err != nil {
		return fmt.Errorf("xmppclient: %s waiting for subscription %s with %s (have %q): %w", c.JID(), sub, key, c.Subscription(contact), err)
	}
	return nil
}

// WaitSubscribeRequest waits until from has asked to subscribe to us.
func (c *Client) WaitSubscribeRequest(ctx context.Context, from jid.JID) error {
	key := from.Bare().String()
	if err := c.waitFor(ctx, func() bool { return c.asks[key] }); err != nil {
		return fmt.Errorf("xmppclient: %s waiting for a subscription request from %s: %w", c.JID(), key, err)
	}
	return nil
}

// MutualSubscribe makes a and b subscribed to each other's presence, the
// way two people accept each other's requests, and returns once both
// rosters show "both" and each has received the other's presence after
// the last approval.
//
// That last wait matters for PEP: Prosody's mod_pep registers a contact's
// +notify caps only from a presence that arrives while the contact is
// subscribed. Prosody sends both presences again when a's approval
// completes the subscription; once a client has seen its contact's
// presence, mod_pep has processed it (it hooks the presence before
// delivery), so a publish that follows reaches the contact live.
func MutualSubscribe(ctx context.Context, a, b *Client) error {
	var aSeq, bSeq uint64
	steps := []func() error{
		func() error { return a.Subscribe(ctx, b.JID()) },
		func() error { return b.WaitSubscribeRequest(ctx, a.JID()) },
		func() error { return b.Approve(ctx, a.JID()) },
		func() error { return b.Subscribe(ctx, a.JID()) },
		func() error { return a.WaitSubscribeRequest(ctx, b.JID()) },
		func() error {
			aSeq, bSeq = a.presenceSeq(), b.presenceSeq()
			return a.Approve(ctx, b.JID())
		},
		func() error { return a.WaitSubscription(ctx, b.JID(), "both") },
		func() error { return b.WaitSubscription(ctx, a.JID(), "both") },
		func() error { return a.waitPresenceAfter(ctx, b.JID(), aSeq) },
		func() error { return b.waitPresenceAfter(ctx, a.JID(), bSeq) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return fmt.Errorf("xmppclient: mutual subscribe %s, %s: %w", a.JID().Bare(), b.JID().Bare(), err)
		}
	}
	return nil
}

// LastPresence returns the last presence received from from: from that
// exact resource for a full JID, from any of its resources for a bare one.
func (c *Client) LastPresence(from jid.JID) (Presence, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastPresenceLocked(from)
}

func (c *Client) lastPresenceLocked(from jid.JID) (Presence, bool) {
	if from.Resourcepart() != "" {
		p, ok := c.presences[from.String()]
		return p, ok
	}
	var last Presence
	found := false
	for _, p := range c.presences {
		if p.From.Bare().Equal(from) && (!found || p.seq > last.seq) {
			last, found = p, true
		}
	}
	return last, found
}

// WaitPresence waits for a presence from from (bare or full) for which ok
// returns true, looking at the last one received first. For XEP-0153
// checks: wait for PhotoHash to become the expected hash.
func (c *Client) WaitPresence(ctx context.Context, from jid.JID, ok func(Presence) bool) (Presence, error) {
	var got Presence
	err := c.waitFor(ctx, func() bool {
		p, found := c.lastPresenceLocked(from)
		if found && ok(p) {
			got = p
			return true
		}
		return false
	})
	if err != nil {
		return Presence{}, fmt.Errorf("xmppclient: %s waiting for presence from %s: %w", c.JID(), from, err)
	}
	return got, nil
}

func (c *Client) presenceSeq() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seq
}

// waitPresenceAfter waits for an available presence from from received
// after the presence numbered seq.
func (c *Client) waitPresenceAfter(ctx context.Context, from jid.JID, seq uint64) error {
	_, err := c.WaitPresence(ctx, from.Bare(), func(p Presence) bool { return p.seq > seq && p.Type == "" })
	return err
}

// waitFor calls cond with c.mu held, after every state change, until it
// returns true, the session ends, or ctx is done.
func (c *Client) waitFor(ctx context.Context, cond func() bool) error {
	for {
		c.mu.Lock()
		ok, changed := cond(), c.changed
		c.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-changed:
		case <-c.done:
			return fmt.Errorf("session ended: %v", c.serve)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// notifyLocked wakes every waitFor; c.mu must be held.
func (c *Client) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

func (c *Client) fetchRoster(ctx context.Context) error {
	iter := roster.Fetch(ctx, c.s)
	defer iter.Close()
	c.mu.Lock()
	defer c.mu.Unlock()
	for iter.Next() {
		item := iter.Item()
		c.roster[item.JID.Bare().String()] = item.Subscription
	}
	if err := iter.Err(); err != nil {
		return fmt.Errorf("fetch roster: %w", err)
	}
	c.notifyLocked()
	return nil
}

// RosterItem is one entry of a roster as the server returned it.
type RosterItem struct {
	Name         string
	Subscription string
}

// FetchRoster asks the server for the roster now, by bare JID; unlike
// Subscription, it does not rely on pushes seen since login.
func (c *Client) FetchRoster(ctx context.Context) (map[string]RosterItem, error) {
	iter := roster.Fetch(ctx, c.s)
	defer iter.Close()
	out := map[string]RosterItem{}
	for iter.Next() {
		item := iter.Item()
		out[item.JID.Bare().String()] = RosterItem{Name: item.Name, Subscription: item.Subscription}
	}
	if err := iter.Err(); err != nil {
		return nil, fmt.Errorf("fetch roster: %w", err)
	}
	return out, nil
}

func (c *Client) handleRosterPush(_ string, item roster.Item) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := item.JID.Bare().String()
	if item.Subscription == "remove" {
		delete(c.roster, key)
	} else {
		c.roster[key] = item.Subscription
	}
	c.log.Debug("roster push", "contact", key, "subscription", item.Subscription)
	c.notifyLocked()
	return nil
}

// handleDiscoInfo answers disco#info for our caps node (Prosody asks it to
// learn the +notify features behind a caps hash) and for no node at all.
func (c *Client) handleDiscoInfo(iq stanza.IQ, t xmlstream.TokenReadEncoder, start *xml.StartElement) error {
	var node string
	for _, a := range start.Attr {
		if a.Name.Local == "node" {
			node = a.Value
		}
	}
	if node != "" && node != CapsNode+"#"+c.capsVer {
		_, err := xmlstream.Copy(t, iq.Error(stanza.Error{Type: stanza.Cancel, Condition: stanza.ItemNotFound}))
		return err
	}
	c.log.Debug("disco#info asked", "from", iq.From.String(), "node", node)
	_, err := xmlstream.Copy(t, iq.Result(discoInfo(node).TokenReader()))
	return err
}

// message is the part of a <message/> this client reads.
type message struct {
	From jid.JID `xml:"from,attr"`
	Type string  `xml:"type,attr"`
	Body string  `xml:"body"`
	// Suggest is an XEP-0144 roster item exchange.
	Suggest []struct {
		JID string `xml:"jid,attr"`
	} `xml:"http://jabber.org/protocol/rosterx x>item"`
	Event *struct {
		Items struct {
			Node  string `xml:"node,attr"`
			Items []struct {
				ID       string `xml:"id,attr"`
				Metadata *struct {
					Infos []Info `xml:"urn:xmpp:avatar:metadata info"`
				} `xml:"urn:xmpp:avatar:metadata metadata"`
				VCard4 *VCard4  `xml:"urn:ietf:params:xml:ns:vcard-4.0 vcard"`
				Mood   *moodXML `xml:"http://jabber.org/protocol/mood mood"`
			} `xml:"http://jabber.org/protocol/pubsub#event item"`
		} `xml:"http://jabber.org/protocol/pubsub#event items"`
	} `xml:"http://jabber.org/protocol/pubsub#event event"`
}

func (c *Client) handleMessage(t xmlstream.TokenReadEncoder, start *xml.StartElement) error {
	var msg message
	if err := decodeStanza(t, start, &msg); err != nil {
		// A message we cannot read must not end the session.
		c.log.Warn("unreadable message", "err", err)
		return nil
	}
	if msg.Body != "" && msg.Type != "error" {
		select {
		case c.chats <- chat(msg):
		default:
			c.log.Warn("chat dropped: nobody reads Chats", "from", msg.From.String())
		}
	}
	if msg.Event == nil {
		return nil
	}
	if msg.From.Equal(jid.JID{}) {
		// mellium blanks a from that is our own bare JID: our own PEP.
		msg.From = c.JID().Bare()
	}
	switch msg.Event.Items.Node {
	case NodeVCard4:
		for _, item := range msg.Event.Items.Items {
			if item.VCard4 == nil {
				continue
			}
			ev := VCard4Event{From: msg.From, ItemID: item.ID, VCard: *item.VCard4}
			select {
			case c.vcard4s <- ev:
				c.log.Debug("vcard4 event", "from", ev.From.String(), "id", ev.ItemID)
			default:
				c.log.Warn("vcard4 event dropped: nobody reads VCard4Events", "from", ev.From.String())
			}
		}
		return nil
	case NSMood:
		for _, item := range msg.Event.Items.Items {
			if item.Mood == nil {
				continue
			}
			ev := MoodEvent{From: msg.From, ItemID: item.ID, Mood: item.Mood.value(), Text: item.Mood.Text}
			select {
			case c.moods <- ev:
				c.log.Debug("mood event", "from", ev.From.String(), "mood", ev.Mood)
			default:
				c.log.Warn("mood event dropped: nobody reads MoodEvents", "from", ev.From.String())
			}
		}
		return nil
	case NSAvatarMetadata:
	default:
		return nil
	}
	for _, item := range msg.Event.Items.Items {
		if item.Metadata == nil {
			continue
		}
		ev := AvatarEvent{From: msg.From, ItemID: item.ID, Infos: item.Metadata.Infos}
		select {
		case c.avatars <- ev:
			c.log.Debug("avatar event", "from", ev.From.String(), "id", ev.ItemID)
		default:
			c.log.Warn("avatar event dropped: nobody reads AvatarEvents", "from", ev.From.String(), "id", ev.ItemID)
		}
	}
	return nil
}

// decodeStanza decodes a whole stanza into v. The handler's reader holds
// what follows start (its children and its end), so start goes first.
func decodeStanza(t xml.TokenReader, start *xml.StartElement, v any) error {
	return xml.NewTokenDecoder(xmlstream.MultiReader(xmlstream.Token(*start), t)).Decode(v)
}

// presence is the part of a <presence/> this client reads.
type presence struct {
	From   jid.JID `xml:"from,attr"`
	Type   string  `xml:"type,attr"`
	Show   string  `xml:"show"`
	Status string  `xml:"status"`
	Update *struct {
		Photo *string `xml:"photo"`
	} `xml:"vcard-temp:x:update x"`
}

func (c *Client) handlePresence(t xmlstream.TokenReadEncoder, start *xml.StartElement) error {
	var p presence
	if err := decodeStanza(t, start, &p); err != nil {
		c.log.Warn("unreadable presence", "err", err)
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.log.Debug("presence", "from", p.From.String(), "type", p.Type)
	switch p.Type {
	case "subscribe":
		c.asks[p.From.Bare().String()] = true
	case "", "unavailable":
		c.seq++
		rec := Presence{From: p.From, Type: p.Type, Show: p.Show, Status: p.Status, seq: c.seq}
		if p.Update != nil && p.Update.Photo != nil {
			rec.PhotoHash, rec.HasPhoto = *p.Update.Photo, true
		}
		c.presences[p.From.String()] = rec
	default:
		return nil
	}
	c.notifyLocked()
	return nil
}

// FetchAvatarData fetches the XEP-0084 data item itemID from owner's PEP
// (at owner's bare JID) and returns the decoded bytes.
func (c *Client) FetchAvatarData(ctx context.Context, owner jid.JID, itemID string) ([]byte, error) {
	req := xmlstream.Wrap(
		xmlstream.Wrap(
			xmlstream.Wrap(nil, xml.StartElement{
				Name: xml.Name{Local: "item"},
				Attr: []xml.Attr{{Name: xml.Name{Local: "id"}, Value: itemID}},
			}),
			xml.StartElement{
				Name: xml.Name{Local: "items"},
				Attr: []xml.Attr{{Name: xml.Name{Local: "node"}, Value: NSAvatarData}},
			}),
		xml.StartElement{Name: xml.Name{Space: NSPubSub, Local: "pubsub"}},
	)
	var resp struct {
		Items []struct {
			ID   string `xml:"id,attr"`
			Data string `xml:"urn:xmpp:avatar:data data"`
		} `xml:"items>item"`
	}
	err := c.s.UnmarshalIQElement(ctx, req, stanza.IQ{Type: stanza.GetIQ, To: owner.Bare()}, &resp)
	if err != nil {
		return nil, fmt.Errorf("xmppclient: fetch avatar data %s from %s: %w", itemID, owner.Bare(), err)
	}
	for _, it := range resp.Items {
		if it.ID != itemID {
			continue
		}
		// Base64 in XML may be wrapped over several lines.
		b, err := base64.StdEncoding.DecodeString(stripSpace(it.Data))
		if err != nil {
			return nil, fmt.Errorf("xmppclient: fetch avatar data %s from %s: %w", itemID, owner.Bare(), err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("xmppclient: fetch avatar data %s from %s: item not in answer", itemID, owner.Bare())
}

func stripSpace(s string) string {
	return string(bytes.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, []byte(s)))
}

// FetchVCard asks owner's server for owner's vcard-temp (XEP-0054) and
// returns the <vCard/> element as XML, as the server sent it.
func (c *Client) FetchVCard(ctx context.Context, owner jid.JID) ([]byte, error) {
	b, err := c.fetchVCard(ctx, owner.Bare())
	if err != nil {
		return nil, fmt.Errorf("xmppclient: fetch vcard of %s: %w", owner.Bare(), err)
	}
	return b, nil
}

func (c *Client) fetchVCard(ctx context.Context, owner jid.JID) ([]byte, error) {
	resp, err := c.s.SendIQElement(ctx,
		xmlstream.Wrap(nil, xml.StartElement{Name: xml.Name{Space: NSVCard, Local: "vCard"}}),
		stanza.IQ{Type: stanza.GetIQ, To: owner})
	if err != nil {
		return nil, err
	}
	defer resp.Close()
	tok, err := resp.Token()
	if err != nil {
		return nil, err
	}
	start, ok := tok.(xml.StartElement)
	if !ok {
		return nil, fmt.Errorf("expected an IQ, got %T", tok)
	}
	if _, err := stanza.UnmarshalIQError(resp, start); err != nil {
		return nil, err
	}
	d := xml.NewTokenDecoder(resp)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return nil, errors.New("no vCard in answer")
		}
		if err != nil {
			return nil, err
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Space == NSVCard && se.Name.Local == "vCard" {
			var buf bytes.Buffer
			if err := copyElement(&buf, d, se); err != nil {
				return nil, err
			}
			return buf.Bytes(), nil
		}
	}
}

// copyElement writes start and the rest of its element from d as XML. It
// writes the tokens itself rather than through xml.Encoder, which adds
// namespace prefixes of its own to re-encoded tokens.
func copyElement(w *bytes.Buffer, d *xml.Decoder, start xml.StartElement) error {
	depth := 0
	// Track the default namespace in scope so that xmlns is written only
	// where it changes.
	scopes := []string{""}
	tok := xml.Token(start)
	for {
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			parent := scopes[len(scopes)-1]
			scopes = append(scopes, t.Name.Space)
			w.WriteString("<" + t.Name.Local)
			if t.Name.Space != parent {
				w.WriteString(` xmlns="`)
				xml.EscapeText(w, []byte(t.Name.Space))
				w.WriteString(`"`)
			}
			for _, a := range t.Attr {
				if a.Name.Space == "" && a.Name.Local == "xmlns" || a.Name.Space == "xmlns" {
					continue
				}
				name := a.Name.Local
				if a.Name.Space == "http://www.w3.org/XML/1998/namespace" {
					name = "xml:" + name
				}
				w.WriteString(" " + name + `="`)
				xml.EscapeText(w, []byte(a.Value))
				w.WriteString(`"`)
			}
			w.WriteString(">")
		case xml.EndElement:
			depth--
			scopes = scopes[:len(scopes)-1]
			w.WriteString("</" + t.Name.Local + ">")
			if depth == 0 {
				return nil
			}
		case xml.CharData:
			xml.EscapeText(w, t)
		}
		var err error
		tok, err = d.Token()
		if err != nil {
			return err
		}
	}
}

// Chat is a message with a body, as a person reads it.
type Chat struct {
	From jid.JID
	Body string
	// Suggested are the JIDs of an XEP-0144 roster item exchange in the
	// message, if any.
	Suggested []string
}

func chat(m message) Chat {
	c := Chat{From: m.From, Body: m.Body}
	for _, it := range m.Suggest {
		c.Suggested = append(c.Suggested, it.JID)
	}
	return c
}

// Chats delivers the chat messages this client receives (64 are kept when
// nobody reads them).
func (c *Client) Chats() <-chan Chat { return c.chats }

// SendChat sends a chat message.
func (c *Client) SendChat(ctx context.Context, to jid.JID, body string) error {
	var b bytes.Buffer
	b.WriteString("<body>")
	xml.EscapeText(&b, []byte(body))
	b.WriteString("</body>")
	return c.s.SendElement(ctx, xml.NewDecoder(&b), stanza.Message{To: to, Type: stanza.ChatMessage}.StartElement())
}

// IQ sends an IQ of type typ ("get" or "set") carrying payload to to and
// returns the answer's type and its payload as XML, the way a client's
// raw XML console would.
func (c *Client) IQ(ctx context.Context, to jid.JID, typ string, payload []byte) (string, []byte, error) {
	resp, err := c.s.SendIQElement(ctx, xml.NewDecoder(bytes.NewReader(payload)), stanza.IQ{Type: stanza.IQType(typ), To: to})
	if err != nil {
		return "", nil, fmt.Errorf("xmppclient: iq to %s: %w", to, err)
	}
	defer resp.Close()
	d := xml.NewTokenDecoder(resp)
	tok, err := d.Token()
	if err != nil {
		return "", nil, err
	}
	start, ok := tok.(xml.StartElement)
	if !ok {
		return "", nil, fmt.Errorf("xmppclient: expected an IQ, got %T", tok)
	}
	var answerType string
	for _, a := range start.Attr {
		if a.Name.Local == "type" {
			answerType = a.Value
		}
	}
	var buf bytes.Buffer
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", nil, err
		}
		if se, ok := tok.(xml.StartElement); ok {
			if err := copyElement(&buf, d, se); err != nil {
				return "", nil, err
			}
		}
	}
	return answerType, buf.Bytes(), nil
}
