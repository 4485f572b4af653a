package app_test

import (
	"context"
	"encoding/xml"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"mellium.im/xmpp/jid"

	"mmsprofile/internal/testkit/ejabberd"
	"mmsprofile/internal/testkit/mm7sample"
	"mmsprofile/internal/testkit/prosody"
	"mmsprofile/internal/testkit/xmppclient"
	"mmsprofile/storage"
	"mmsprofile/storage/sqlite"
)

const daveNumber = "+12025550177"

// daveCard is an address-book entry for dave, whose number is linked.
const daveCard = "BEGIN:VCARD\nVERSION:3.0\nFN:Dave Example\nTEL;TYPE=CELL:+1 202 555 0177\nEND:VCARD\n"

// On every server generation the harness runs, with the roster permission
// granted ("both"): alice, with the roster preference off (the default),
// gets dave suggested (XEP-0144) and her roster stays as it was; once she
// turns it on in the preferences form, the next contact card puts dave in
// her roster, as a client of hers that fetches it sees, and the message
// says so with no suggestion; the same card again leaves the name alice
// has since given him.
//
// Debian 12's ejabberd 23.01 advertises the permission but fails every
// roster set from a component (mod_roster looks its options up under the
// component's domain and crashes: processone/ejabberd#3942, fixed in
// 23.10) with wait/internal-server-error: there the contacts are
// suggested all the same, and the publisher says why.
func TestRosterAddOnEveryServer(t *testing.T) {
	type server struct {
		name string
		opts envOptions
		// broken is what the server answers a roster set, when it fails.
		broken string
	}
	var servers []server
	for _, g := range prosody.Generations() {
		servers = append(servers, server{"prosody/" + g.Name, envOptions{prosodyRoot: g.Root}, ""})
	}
	for _, g := range ejabberd.Generations() {
		broken := ""
		if g.Root == "" {
			broken = "wait/internal-server-error"
		}
		servers = append(servers, server{"ejabberd/" + g.Name, envOptions{ejabberd: true, ejabberdRoot: g.Root}, broken})
	}
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			opts := srv.opts
			opts.roster = "both"
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			e, alice, dave := startWithDave(ctx, t, opts)
			perms, _ := e.srv.Component().Permissions(e.xmpp.Domain)
			t.Logf("%s grants %s", e.xmpp.Domain, perms)

			e.accept("card, preference off", mm7sample.Deliver{TransactionID: "tr1", MessageID: "mr1", Sender: aliceNumber, VCard: daveCard})
			m := contactsChat(ctx, t, alice, e.xmpp.Component)
			if !slices.Contains(m.Suggested, dave) {
				t.Fatalf("preference off: message %q suggests %q, want %s", m.Body, m.Suggested, dave)
			}
			if r := rosterOf(ctx, t, e.xmpp, "alice"); hasItem(r, dave) {
				t.Fatalf("preference off: dave added to alice's roster: %v", r)
			}

			setRosterPref(ctx, t, alice, e.xmpp.Component)
			e.accept("card, preference on", mm7sample.Deliver{TransactionID: "tr2", MessageID: "mr2", Sender: aliceNumber, VCard: daveCard})
			m = contactsChat(ctx, t, alice, e.xmpp.Component)
			r := rosterOf(ctx, t, e.xmpp, "alice")
			if srv.broken != "" {
				why := e.srv.Publisher().RosterFailures()[e.xmpp.Domain]
				if !strings.Contains(why, srv.broken) || !slices.Contains(m.Suggested, dave) || hasItem(r, dave) {
					t.Fatalf("roster set on a server that fails them: failure %q (want %s), message %q suggesting %q, roster %v",
						why, srv.broken, m.Body, m.Suggested, r)
				}
				t.Logf("roster set failed as expected (%s); dave suggested instead", why)
				return
			}
			if len(m.Suggested) > 0 || !strings.Contains(m.Body, "In your contacts now") {
				t.Errorf("preference on: message %q suggests %q; want it added (roster permission %s; publisher says %v)",
					m.Body, m.Suggested, perms.Roster, e.srv.Publisher().RosterFailures())
			}
			item, ok := r[dave]
			if !ok {
				t.Fatalf("preference on: dave is not in alice's roster as her client fetches it: %v", r)
			}
			if item.Name != "Dave Example" {
				t.Errorf("roster name %q, want Dave Example", item.Name)
			}
			t.Logf("alice's roster: %v", r)

			// A contact already there keeps the name alice gave it.
			rename := `<query xmlns='jabber:iq:roster'><item jid='` + dave + `' name='Davey'/></query>`
			if typ, out, err := alice.IQ(ctx, jid.JID{}, "set", []byte(rename)); err != nil || typ != "result" {
				t.Fatalf("alice renames dave: %s %s %v", typ, out, err)
			}
			e.accept("card again", mm7sample.Deliver{TransactionID: "tr3", MessageID: "mr3", Sender: aliceNumber, VCard: daveCard})
			m = contactsChat(ctx, t, alice, e.xmpp.Component)
			if len(m.Suggested) > 0 || !strings.Contains(m.Body, "In your contacts now") {
				t.Errorf("card again: message %q suggests %q", m.Body, m.Suggested)
			}
			if got := rosterOf(ctx, t, e.xmpp, "alice")[dave].Name; got != "Davey" {
				t.Errorf("after the same card again, dave is named %q in alice's roster, want Davey (her own name for him)", got)
			}
		})
	}
}

// discoverable links number to account and lets others' address books
// find it, as its owner would.
func (e *env) discoverable(ctx context.Context, account, number string) {
	e.t.Helper()
	st, err := sqlite.Open(ctx, e.dsn)
	if err != nil {
		e.t.Fatal(err)
	}
	defer st.Close()
	if err := st.AddLink(ctx, account, number, "test"); err != nil {
		e.t.Fatal(err)
	}
	p := storage.DefaultPrefs()
	p.Discoverable = true
	if err := st.SetPrefs(ctx, account, p); err != nil {
		e.t.Fatal(err)
	}
}

// contactsChat waits for the component's message about a contact card.
func contactsChat(ctx context.Context, t *testing.T, c *xmppclient.Client, component string) xmppclient.Chat {
	t.Helper()
	for {
		select {
		case m := <-c.Chats():
			if m.From.Domainpart() == component && strings.Contains(m.Body, "contacts you sent") {
				return m
			}
			t.Logf("other chat from %s: %q", m.From, m.Body)
		case <-ctx.Done():
			t.Fatalf("no message about the contact card: %v", ctx.Err())
		}
	}
}

// rosterOf is user's roster as a new session of theirs fetches it.
func rosterOf(ctx context.Context, t *testing.T, xs *xmppServer, user string) map[string]xmppclient.RosterItem {
	t.Helper()
	c := xs.dial(ctx, t, user, nil)
	defer c.Close()
	r, err := c.FetchRoster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func hasItem(r map[string]xmppclient.RosterItem, j string) bool {
	_, ok := r[j]
	return ok
}

// setRosterPref turns the roster preference on through the preferences
// command, as alice's client would.
func setRosterPref(ctx context.Context, t *testing.T, c *xmppclient.Client, component string) {
	t.Helper()
	to := jid.MustParse(component)
	typ, out, err := c.IQ(ctx, to, "set", []byte(`<command xmlns='http://jabber.org/protocol/commands' node='prefs' action='execute'/>`))
	if err != nil || typ != "result" {
		t.Fatalf("preferences form: %s %s %v", typ, out, err)
	}
	var form struct {
		SessionID string `xml:"sessionid,attr"`
	}
	if err := xml.Unmarshal(out, &form); err != nil || form.SessionID == "" {
		t.Fatalf("preferences form %s: %v", out, err)
	}
	submit := fmt.Sprintf(`<command xmlns='http://jabber.org/protocol/commands' node='prefs' sessionid='%s' action='complete'>`+
		`<x xmlns='jabber:x:data' type='submit'><field var='roster'><value>1</value></field></x></command>`, form.SessionID)
	typ, out, err = c.IQ(ctx, to, "set", []byte(submit))
	if err != nil || typ != "result" || !strings.Contains(string(out), "completed") {
		t.Fatalf("save preferences: %s %s %v", typ, out, err)
	}
}

// Where the server grants roster "get" only (the harness's default), an
// account with the roster preference on gets dave suggested, its roster
// stays as it was, and no roster set is sent.
func TestRosterNotGrantedSuggests(t *testing.T) {
	for _, srv := range []struct {
		name string
		opts envOptions
	}{
		{"prosody", envOptions{}},
		{"ejabberd-26.07", envOptions{ejabberd: true, ejabberdRoot: ejabberd.RootsDir + "/trixie-backports"}},
	} {
		t.Run(srv.name, func(t *testing.T) {
			opts := srv.opts
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			e, alice, dave := startWithDave(ctx, t, opts)
			if p, _ := e.srv.Component().Permissions(e.xmpp.Domain); p.AllowsRosterSet() {
				t.Fatalf("the server grants roster set (%s); this test needs it not to", p)
			}
			setRosterPref(ctx, t, alice, e.xmpp.Component)
			e.accept("card", mm7sample.Deliver{TransactionID: "tn1", MessageID: "mn1", Sender: aliceNumber, VCard: daveCard})
			m := contactsChat(ctx, t, alice, e.xmpp.Component)
			if !slices.Contains(m.Suggested, dave) {
				t.Errorf("message %q suggests %q, want %s", m.Body, m.Suggested, dave)
			}
			if r := rosterOf(ctx, t, e.xmpp, "alice"); hasItem(r, dave) {
				t.Errorf("dave added to alice's roster without the permission: %v", r)
			}
			// Not even tried: a refused roster set would be recorded.
			if f := e.srv.Publisher().RosterFailures(); len(f) > 0 {
				t.Errorf("a roster set was sent without the permission: %v", f)
			}
		})
	}
}

// startWithDave starts the service with alice online and a discoverable
// account dave, whose card the tests' MMS carry.
func startWithDave(ctx context.Context, t *testing.T, opts envOptions) (e *env, alice *xmppclient.Client, dave string) {
	t.Helper()
	opts.ownerOnline = true
	opts.beforeStart = func(ctx context.Context, xs *xmppServer, c *xmppclient.Client) {
		alice = c
		if err := xs.Register(ctx, "dave", "pw-dave"); err != nil {
			t.Fatal(err)
		}
	}
	e = startWith(t, opts)
	dave = "dave@" + e.xmpp.Domain
	e.discoverable(ctx, dave, daveNumber)
	return e, alice, dave
}
