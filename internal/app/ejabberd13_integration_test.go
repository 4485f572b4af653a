package app_test

import (
	"context"
	"encoding/xml"
	"fmt"
	"testing"
	"time"

	"mellium.im/xmpp/jid"

	"mmsprofile/internal/testkit/ejabberd"
	"mmsprofile/internal/testkit/mm7sample"
	"mmsprofile/internal/testkit/xmppclient"
)

// The black-box profile cases on Debian 13's ejabberd 24.12 and
// trixie-backports' 26.07, run from their roots. Both have XEP-0356 IQ
// permission, so the service writes through privileged IQs as on Prosody
// (on 24.12 addressed so that its #4347 does not bounce them).

// newEjabberds runs f once per ejabberd generation with IQ permission.
func newEjabberds(t *testing.T, f func(t *testing.T, root string)) {
	for _, g := range ejabberd.Generations() {
		if g.Root == "" {
			continue
		}
		t.Run(g.Name, func(t *testing.T) { f(t, g.Root) })
	}
}

// Every kind of profile data, alice online: bob gets the avatar live and
// never a "no avatar" first, the vCard has the photo, status and nickname
// and alice's own fields, the XEP-0172 nick and the vCard4 are there, and
// carol, logging in later, gets the avatar whose id is its SHA-1.
func TestNewEjabberdProfileReachesClients(t *testing.T) {
	newEjabberds(t, func(t *testing.T, root string) {
		e := startWith(t, envOptions{ejabberd: true, ejabberdRoot: root, ownerOnline: true, beforeStart: ownVCardAndCarol(t)})
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		// alice's own vCard set, before the MMS, had no PHOTO: mod_avatar
		// told bob "no avatar" for it. Only what follows the MMS counts.
		drainAvatarEvents(t, e.bob)
		e.accept("profile", profileMMS())
		ev := firstAvatarEvent(t, e.bob, e.alice)
		if len(ev.Infos) == 0 {
			t.Fatalf("bob's first avatar event after the MMS says \"no avatar\" (item %s)", ev.ItemID)
		}
		checkAvatar(ctx, t, e.bob, e.alice, ev.ItemID)
		t.Logf("live avatar: item %s, %d infos", ev.ItemID, len(ev.Infos))

		doc, _ := e.waitVCard(ctx, func(doc vcardDoc, sum string) bool {
			return sum == ev.ItemID && doc.Desc != "" && doc.Nickname != ""
		})
		if doc.Desc != "At the beach" || doc.Nickname != "Ally" || doc.Title != "Engineer" || doc.Org != "Example Corp" {
			t.Errorf("our fields: %+v", doc)
		}
		if doc.FN != "Alice Example" || doc.Street != "1 Main St" || len(doc.Tels) == 0 || doc.Custom != "kept as it was" {
			t.Errorf("the client's fields were not kept: %+v", doc)
		}
		if nick, err := fetchNick(ctx, t, e.bob, e.alice); nick != "Ally" {
			t.Errorf("XEP-0172 nick %q (%v), want Ally", nick, err)
		}
		checkVCard4(t, "live event", "ejabberd", waitVCard4(ctx, t, e.bob, e.alice, "At the beach"))
		v4, err := e.bob.FetchVCard4(ctx, e.alice)
		if err != nil {
			t.Errorf("vCard4: %v", err)
		} else {
			checkVCard4(t, "fetched", "ejabberd", v4)
		}
		if _, err := e.bob.WaitPresence(ctx, e.alice, func(p xmppclient.Presence) bool { return p.PhotoHash == ev.ItemID }); err != nil {
			t.Errorf("XEP-0153 hash in alice's presence: %v", err)
		}

		carol := e.lateContact(ctx, t, ev.ItemID)
		checkAvatar(ctx, t, carol, e.alice, ev.ItemID)
	})
}

// With status_as_mood, the status also reaches bob as an XEP-0107 mood.
func TestNewEjabberdStatusAsMood(t *testing.T) {
	newEjabberds(t, func(t *testing.T, root string) {
		e := startWith(t, envOptions{ejabberd: true, ejabberdRoot: root, ownerOnline: true, moodFromStatus: true})
		e.accept("status", mm7sample.Deliver{TransactionID: "tx-m", MessageID: "m-m", Sender: aliceNumber, Text: "At the beach"})
		for {
			select {
			case ev := <-e.bob.MoodEvents():
				if !ev.From.Equal(e.alice) || ev.Text != "At the beach" {
					t.Logf("mood event %+v: waiting for alice's", ev)
					continue
				}
				t.Logf("mood: %s %q", ev.Mood, ev.Text)
				return
			case <-time.After(30 * time.Second):
				t.Fatal("no mood event reached bob")
			}
		}
	})
}

// alice offline when the MMS arrives: the avatar, vCard and status are
// stored; what bob sees live depends on the server, logged.
func TestNewEjabberdOwnerOffline(t *testing.T) {
	newEjabberds(t, func(t *testing.T, root string) {
		e := startWith(t, envOptions{ejabberd: true, ejabberdRoot: root})
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		e.accept("answer", mm7sample.Deliver{TransactionID: "tx-1", MessageID: "msg-1", Sender: aliceNumber, Text: "Out of office", Image: mm7sample.Photo(640, 480, 5)})
		doc, id := e.waitVCard(ctx, func(doc vcardDoc, sum string) bool { return sum != "" && doc.Desc != "" })
		if doc.Desc != "Out of office" {
			t.Errorf("DESC %q", doc.Desc)
		}
		checkAvatar(ctx, t, e.bob, e.alice, id)
		select {
		case ev := <-e.bob.AvatarEvents():
			t.Logf("owner offline: bob got an avatar event (id %s, %d infos)", ev.ItemID, len(ev.Infos))
		case <-time.After(2 * time.Second):
			t.Logf("owner offline: bob got no avatar event")
		}
		alice := e.xmpp.dial(ctx, t, "alice", testLogger(t))
		defer alice.Close()
		p, err := e.bob.WaitPresence(ctx, e.alice, func(p xmppclient.Presence) bool { return p.Type == "" })
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("owner back online: presence photo hash %q", p.PhotoHash)
	})
}

// drainAvatarEvents drops the avatar events c has had so far, waiting
// until none has come for a second.
func drainAvatarEvents(t *testing.T, c *xmppclient.Client) {
	t.Helper()
	for {
		select {
		case ev := <-c.AvatarEvents():
			t.Logf("before the MMS: avatar event %s with %d infos", ev.ItemID, len(ev.Infos))
		case <-time.After(time.Second):
			return
		}
	}
}

// firstAvatarEvent is bob's next avatar event from owner, whatever it says.
func firstAvatarEvent(t *testing.T, c *xmppclient.Client, owner jid.JID) xmppclient.AvatarEvent {
	t.Helper()
	select {
	case ev := <-c.AvatarEvents():
		if !ev.From.Equal(owner) {
			t.Fatalf("event from %s, want %s", ev.From, owner)
		}
		return ev
	case <-time.After(30 * time.Second):
		t.Fatal("no avatar event reached bob")
	}
	panic("unreachable")
}

// fetchNick asks owner's PEP service for the XEP-0172 nick item; "" when
// there is none (the error says why).
func fetchNick(ctx context.Context, t *testing.T, c *xmppclient.Client, owner jid.JID) (string, error) {
	t.Helper()
	typ, payload, err := c.IQ(ctx, owner, "get", []byte(`<pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='http://jabber.org/protocol/nick'/></pubsub>`))
	if err != nil {
		return "", err
	}
	if typ != "result" {
		return "", fmt.Errorf("fetch nick: %s %s", typ, payload)
	}
	var answer struct {
		Nicks []string `xml:"items>item>nick"`
	}
	if err := xml.Unmarshal(payload, &answer); err != nil {
		return "", fmt.Errorf("fetch nick: %w", err)
	}
	if len(answer.Nicks) == 0 {
		return "", fmt.Errorf("fetch nick: no item in %s", payload)
	}
	return answer.Nicks[0], nil
}
