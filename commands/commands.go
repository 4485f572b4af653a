package commands

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"mmsprofile/profile"
	"mmsprofile/storage"
	"mmsprofile/xmpp/component"
)

// Accounts is what the commands ask of the rules; *profile.Service is one.
type Accounts interface {
	RequestLink(ctx context.Context, account, number string) (profile.Instructions, error)
	Unlink(ctx context.Context, account string) ([]storage.Link, error)
	MyLink(ctx context.Context, account string) (profile.LinkState, error)
	Prefs(ctx context.Context, account string) (storage.Prefs, error)
	SetPrefs(ctx context.Context, account string, p storage.Prefs) error
}

// The command nodes.
const (
	NodeLink   = "link"
	NodeUnlink = "unlink"
	NodeMyLink = "mylink"
	NodePrefs  = "prefs"
)

var commandNames = []struct{ node, name string }{
	{NodeLink, "Link a phone number"},
	{NodeUnlink, "Unlink my phone"},
	{NodeMyLink, "My link"},
	{NodePrefs, "Preferences"},
}

// sessionTTL bounds how long a multi-stage command may wait for its next
// stage; maxSessions bounds how many one account may hold open.
const (
	sessionTTL  = 10 * time.Minute
	maxSessions = 8
)

type session struct {
	node    string
	owner   string // full JID that started it: only it may continue
	started time.Time
}

// Responder answers ad-hoc commands and chat for the component.
type Responder struct {
	accounts  Accounts
	component string
	log       *slog.Logger
	now       func() time.Time

	mu       sync.Mutex
	sessions map[string]session
}

// New builds a responder for the component at address component.
func New(accounts Accounts, component string, log *slog.Logger) *Responder {
	return &Responder{accounts: accounts, component: component, log: log, now: time.Now, sessions: map[string]session{}}
}

// Register installs the commands and chat handling on c. Call before Run.
func (r *Responder) Register(c *component.Component) {
	c.AddFeature(NSCommands, NSData)
	c.HandleIQ(NSCommands, "command", r.HandleCommand)
	c.HandleIQ(component.NSDiscoItems, "query", r.HandleItems)
	c.DiscoNodes(r.nodeInfo)
	c.HandleChat(r.HandleChat)
}

func (r *Responder) nodeInfo(node string) (component.NodeInfo, bool) {
	if node == NSCommands {
		return component.NodeInfo{Identities: [][3]string{{"automation", "command-list", "Commands"}}}, true
	}
	for _, c := range commandNames {
		if c.node == node {
			return component.NodeInfo{
				Identities: [][3]string{{"automation", "command-node", c.name}},
				Features:   []string{NSCommands, NSData},
			}, true
		}
	}
	return component.NodeInfo{}, false
}

// HandleItems answers disco#items: the command list lives at the commands
// node.
func (r *Responder) HandleItems(ctx context.Context, iq component.IQ) ([]byte, error) {
	if iq.Type != "get" {
		return nil, stanza.Error{Type: stanza.Cancel, Condition: stanza.BadRequest}
	}
	out := itemsOut{Node: iq.Node}
	if iq.Node == NSCommands {
		for _, c := range commandNames {
			out.Items = append(out.Items, itemOut{JID: r.component, Node: c.node, Name: c.name})
		}
	} else if iq.Node != "" {
		return nil, stanza.Error{Type: stanza.Cancel, Condition: stanza.ItemNotFound}
	}
	return marshal(out)
}

// itemsOut is the disco#items answer; itemOut one command in it.
type itemsOut struct {
	XMLName xml.Name  `xml:"http://jabber.org/protocol/disco#items query"`
	Node    string    `xml:"node,attr,omitempty"`
	Items   []itemOut `xml:"item"`
}

type itemOut struct {
	JID  string `xml:"jid,attr"`
	Node string `xml:"node,attr"`
	Name string `xml:"name,attr"`
}

// commandOut is the <command/> payload of an answer.
type commandOut struct {
	XMLName   xml.Name  `xml:"http://jabber.org/protocol/commands command"`
	Node      string    `xml:"node,attr"`
	SessionID string    `xml:"sessionid,attr"`
	Status    string    `xml:"status,attr"`
	Actions   *actions  `xml:"actions"`
	Notes     []noteOut `xml:"note"`
	Form      *form
}

// actions lists what the client may do next; each action is an empty
// element named after it (<complete/>), so its name is the XMLName.
type actions struct {
	Execute string `xml:"execute,attr"`
	Allowed []struct {
		XMLName xml.Name
	}
}

type noteOut struct {
	Type string `xml:"type,attr"`
	Text string `xml:",chardata"`
}

// marshal writes v, a payload type of this package, as XML. A failure is
// an internal error: every such type always marshals.
func marshal(v any) ([]byte, error) {
	b, err := xml.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("commands: marshal %T: %w", v, err)
	}
	return b, nil
}

type commandIn struct {
	XMLName   xml.Name   `xml:"http://jabber.org/protocol/commands command"`
	Node      string     `xml:"node,attr"`
	SessionID string     `xml:"sessionid,attr"`
	Action    string     `xml:"action,attr"`
	Form      *submitted `xml:"jabber:x:data x"`
}

// reply is one answer to a command stage.
type reply struct {
	status  string // "executing", "completed", "canceled"
	actions []string
	notes   [][2]string // type, text
	form    *form
}

// cmdError is a stanza error with text and, when specific is set,
// XEP-0050's application condition of that name.
func cmdError(cond stanza.Condition, specific, text string) error {
	se := stanza.Error{Type: stanza.Modify, Condition: cond, Text: map[string]string{"": text}}
	if cond == stanza.Forbidden || cond == stanza.ItemNotFound {
		se.Type = stanza.Cancel
	}
	if specific != "" {
		return component.WithAppCondition(se, xml.Name{Space: NSCommands, Local: specific})
	}
	return se
}

// HandleCommand runs one stage of an ad-hoc command.
func (r *Responder) HandleCommand(ctx context.Context, iq component.IQ) ([]byte, error) {
	if iq.Type != "set" {
		return nil, cmdError("bad-request", "", "commands are executed with an IQ set")
	}
	var in commandIn
	if err := xml.Unmarshal(iq.Payload, &in); err != nil {
		return nil, cmdError("bad-request", "bad-payload", "the command element cannot be read")
	}
	known := false
	for _, c := range commandNames {
		known = known || c.node == in.Node
	}
	if !known {
		return nil, cmdError("item-not-found", "", "no such command: "+in.Node)
	}
	account := iq.From.Bare().String()
	action := in.Action
	if action == "" {
		action = "execute"
	}
	switch action {
	case "execute", "next", "complete", "prev", "cancel":
	default:
		return nil, cmdError("bad-request", "malformed-action", "unknown action "+action)
	}

	sid := in.SessionID
	if sid == "" {
		if action == "cancel" {
			return nil, cmdError("bad-request", "bad-sessionid", "nothing to cancel")
		}
		var err error
		if sid, err = r.openSession(in.Node, iq.From); err != nil {
			return nil, err
		}
		out, err := r.start(ctx, in.Node, account)
		return r.answer(in.Node, sid, out, err)
	}
	if err := r.checkSession(sid, in.Node, iq.From); err != nil {
		return nil, err
	}
	if action == "cancel" {
		r.closeSession(sid)
		return r.answer(in.Node, sid, reply{status: "canceled"}, nil)
	}
	if action == "prev" {
		return nil, cmdError("bad-request", "bad-action", "these commands have a single form")
	}
	out, err := r.submit(ctx, in.Node, account, in.Form)
	return r.answer(in.Node, sid, out, err)
}

func (r *Responder) openSession(node string, from jid.JID) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	open := 0
	for id, s := range r.sessions {
		switch {
		case now.Sub(s.started) > sessionTTL:
			delete(r.sessions, id)
		case jid.MustParse(s.owner).Bare().Equal(from.Bare()):
			open++
		}
	}
	if open >= maxSessions {
		return "", stanza.Error{Type: stanza.Wait, Condition: stanza.ResourceConstraint, Text: map[string]string{"": "too many open commands; finish or cancel one first"}}
	}
	b := make([]byte, 12)
	rand.Read(b)
	id := hex.EncodeToString(b)
	r.sessions[id] = session{node: node, owner: from.String(), started: now}
	return id, nil
}

func (r *Responder) checkSession(id, node string, from jid.JID) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.sessions[id]
	if !ok || s.node != node || s.owner != from.String() {
		return cmdError("bad-request", "bad-sessionid", "unknown command session")
	}
	if r.now().Sub(s.started) > sessionTTL {
		delete(r.sessions, id)
		return cmdError("not-allowed", "session-expired", "the command session expired; start again")
	}
	return nil
}

func (r *Responder) closeSession(id string) {
	r.mu.Lock()
	delete(r.sessions, id)
	r.mu.Unlock()
}

// answer turns a stage's outcome into the <command/> payload. A UserError
// is shown as an error note, so the person reads why; other errors are
// stanza errors.
func (r *Responder) answer(node, sid string, out reply, err error) ([]byte, error) {
	var ue *profile.UserError
	switch {
	case errors.As(err, &ue):
		if out.status == "" {
			out = reply{status: "completed"}
		}
		out.notes = append([][2]string{{"error", ue.Text}}, out.notes...)
	case err != nil:
		var se stanza.Error
		if errors.As(err, &se) {
			return nil, err
		}
		r.log.Error("command failed", "node", node, "err", err)
		return nil, stanza.Error{Type: stanza.Wait, Condition: stanza.InternalServerError, Text: map[string]string{"": "temporary failure; try again later"}}
	}
	if out.status != "executing" {
		r.closeSession(sid)
	}
	c := commandOut{Node: node, SessionID: sid, Status: out.status, Form: out.form}
	if len(out.actions) > 0 {
		c.Actions = &actions{Execute: out.actions[0]}
		for _, a := range out.actions {
			c.Actions.Allowed = append(c.Actions.Allowed, struct{ XMLName xml.Name }{xml.Name{Local: a}})
		}
	}
	for _, n := range out.notes {
		c.Notes = append(c.Notes, noteOut{Type: n[0], Text: n[1]})
	}
	return marshal(c)
}

// start is the first stage of each command.
func (r *Responder) start(ctx context.Context, node, account string) (reply, error) {
	switch node {
	case NodeLink:
		return reply{status: "executing", actions: []string{"complete"}, form: linkForm("")}, nil
	case NodeUnlink:
		st, err := r.accounts.MyLink(ctx, account)
		if err != nil {
			return reply{}, err
		}
		if len(st.Links) == 0 && st.Pending == nil {
			return reply{status: "completed", notes: [][2]string{{"info", "No phone is linked to this account."}}}, nil
		}
		var numbers []string
		for _, l := range st.Links {
			numbers = append(numbers, profile.FormatNumber(l.Number))
		}
		if st.Pending != nil {
			numbers = append(numbers, profile.FormatNumber(st.Pending.Number)+" (waiting for its code)")
		}
		return reply{status: "executing", actions: []string{"complete"}, form: &form{
			Type: "form", Title: "Unlink my phone",
			Instructions: []string{"After unlinking, MMS from " + strings.Join(numbers, ", ") + " no longer change this account."},
			Fields:       []field{{Var: "confirm", Type: "boolean", Label: "Unlink " + strings.Join(numbers, ", "), Required: true, Values: []string{"1"}}},
		}}, nil
	case NodeMyLink:
		st, err := r.accounts.MyLink(ctx, account)
		if err != nil {
			return reply{}, err
		}
		return reply{status: "completed", form: myLinkForm(st)}, nil
	case NodePrefs:
		p, err := r.accounts.Prefs(ctx, account)
		if err != nil {
			return reply{}, err
		}
		return reply{status: "executing", actions: []string{"complete"}, form: prefsForm(p)}, nil
	}
	return reply{}, cmdError("item-not-found", "", "no such command")
}

// submit handles the form of a command's second stage.
func (r *Responder) submit(ctx context.Context, node, account string, f *submitted) (reply, error) {
	if f == nil || (f.Type != "submit" && f.Type != "") {
		return reply{}, cmdError("bad-request", "bad-payload", "a submitted form is expected")
	}
	switch node {
	case NodeLink:
		number, _ := f.value("number")
		if number == "" {
			return reply{status: "executing", actions: []string{"complete"}, form: linkForm(""),
				notes: [][2]string{{"error", "Enter the phone number to link."}}}, nil
		}
		in, err := r.accounts.RequestLink(ctx, account, number)
		var ue *profile.UserError
		if errors.As(err, &ue) {
			// Let the person correct the number rather than start over.
			return reply{status: "executing", actions: []string{"complete"}, form: linkForm(number),
				notes: [][2]string{{"error", ue.Text}}}, nil
		}
		if err != nil {
			return reply{}, err
		}
		return reply{status: "completed", notes: [][2]string{{"info", in.Text}}, form: &form{
			Type: "result", Title: "Almost linked",
			Fields: []field{
				{Var: "number", Type: "text-single", Label: "Phone number", Values: []string{profile.FormatNumber(in.Number)}},
				{Var: "code", Type: "text-single", Label: "Send from that phone", Values: []string{"LINK " + in.Code}},
				{Var: "expires", Type: "text-single", Label: "Valid until", Values: []string{in.Expires.UTC().Format("15:04 MST, 2 Jan")}},
			},
		}}, nil
	case NodeUnlink:
		ok, err := f.boolean("confirm", false)
		if err != nil {
			return reply{}, cmdError("bad-request", "bad-payload", err.Error())
		}
		if !ok {
			return reply{status: "completed", notes: [][2]string{{"info", "Nothing was changed."}}}, nil
		}
		gone, err := r.accounts.Unlink(ctx, account)
		if err != nil {
			return reply{}, err
		}
		text := "The pending link request was cancelled."
		if len(gone) > 0 {
			var numbers []string
			for _, l := range gone {
				numbers = append(numbers, profile.FormatNumber(l.Number))
			}
			text = "Unlinked " + strings.Join(numbers, ", ") + "."
		}
		return reply{status: "completed", notes: [][2]string{{"info", text}}}, nil
	case NodePrefs:
		cur, err := r.accounts.Prefs(ctx, account)
		if err != nil {
			return reply{}, err
		}
		p := cur
		for _, b := range []struct {
			name string
			dst  *bool
		}{{"avatar", &p.Avatar}, {"status", &p.Status}, {"nick", &p.Nick}, {"vcard", &p.VCard},
			{"contacts", &p.Contacts}, {"roster", &p.Roster}, {"notify", &p.Notify}, {"discoverable", &p.Discoverable}} {
			v, err := f.boolean(b.name, *b.dst)
			if err != nil {
				return reply{status: "executing", actions: []string{"complete"}, form: prefsForm(cur),
					notes: [][2]string{{"error", err.Error()}}}, nil
			}
			*b.dst = v
		}
		if err := r.accounts.SetPrefs(ctx, account, p); err != nil {
			return reply{}, err
		}
		return reply{status: "completed", notes: [][2]string{{"info", "Preferences saved."}}}, nil
	}
	return reply{}, cmdError("bad-request", "bad-action", "this command has no further stage")
}

func linkForm(number string) *form {
	f := &form{
		Type:  "form",
		Title: "Link a phone number",
		Instructions: []string{
			"Link your phone to this account: pictures you send from it by MMS become your avatar, and their text your status.",
			"Enter the phone's number. You will get a code to send from that phone to prove it is yours.",
		},
		Fields: []field{{Var: "number", Type: "text-single", Label: "Phone number", Required: true,
			Desc: "In international form, with the country code, e.g. +12025550143"}},
	}
	if number != "" {
		f.Fields[0].Values = []string{number}
	}
	return f
}

func prefsForm(p storage.Prefs) *form {
	b := func(v, label, desc string, val bool) field {
		return field{Var: v, Type: "boolean", Label: label, Desc: desc, Values: []string{boolValue(val)}}
	}
	return &form{
		Type: "form", Title: "Preferences",
		Instructions: []string{"Choose what an MMS from your linked phone may change, and how you hear of it."},
		Fields: []field{
			b("avatar", "Pictures set my avatar", "", p.Avatar),
			b("status", "Text sets my status line", "", p.Status),
			b("nick", "NICK … sets my nickname", "", p.Nick),
			b("vcard", "My own contact card updates my profile details", "Name, organisation, e-mail… from a card whose number is this phone's", p.VCard),
			b("contacts", "Other contact cards are suggested as contacts", "", p.Contacts),
			b("roster", "Add them to my contacts directly", "Instead of suggesting them, where the server lets this service edit contact lists; off unless you turn it on", p.Roster),
			b("notify", "Tell me by chat message on each update", "", p.Notify),
			b("discoverable", "Others who have my number may find this account", "Off unless you turn it on", p.Discoverable),
		},
	}
}

func myLinkForm(st profile.LinkState) *form {
	f := &form{Type: "result", Title: "My link"}
	if len(st.Links) == 0 {
		f.Instructions = append(f.Instructions, "No phone is linked to this account. Use \"Link a phone number\".")
	}
	for i, l := range st.Links {
		f.Fields = append(f.Fields, field{Var: fmt.Sprintf("number%d", i), Type: "text-single", Label: "Linked phone",
			Values: []string{profile.FormatNumber(l.Number) + ", since " + l.Created.UTC().Format("2 Jan 2006")}})
	}
	if st.Pending != nil {
		f.Fields = append(f.Fields, field{Var: "pending", Type: "text-single", Label: "Waiting for its code",
			Values: []string{profile.FormatNumber(st.Pending.Number) + ", until " + st.Pending.Expires.UTC().Format("15:04 MST")}})
	}
	var recent []string
	for _, u := range st.Recent {
		what := []string{}
		if u.AvatarID != "" {
			what = append(what, "avatar")
		}
		if u.Status != "" {
			what = append(what, fmt.Sprintf("status %q", u.Status))
		}
		line := fmt.Sprintf("%s: %s — %s", u.Received.UTC().Format("2 Jan 15:04"), strings.Join(what, ", "), u.State)
		if u.Reason != "" {
			line += " (" + u.Reason + ")"
		}
		recent = append(recent, line)
	}
	if len(recent) > 0 {
		f.Fields = append(f.Fields, field{Var: "recent", Type: "text-multi", Label: "Latest updates", Values: recent})
	}
	onOff := func(b bool) string {
		if b {
			return "on"
		}
		return "off"
	}
	p := st.Prefs
	f.Fields = append(f.Fields, field{Var: "prefs", Type: "text-multi", Label: "Preferences", Values: []string{
		"avatar " + onOff(p.Avatar), "status " + onOff(p.Status), "nickname " + onOff(p.Nick),
		"profile details " + onOff(p.VCard), "contact suggestions " + onOff(p.Contacts),
		"added to contacts directly " + onOff(p.Roster),
		"notifications " + onOff(p.Notify), "discoverable " + onOff(p.Discoverable),
	}})
	return f
}
