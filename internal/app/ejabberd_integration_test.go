package app_test

import (
	"context"
	"testing"
	"time"

	"mmsprofile/internal/testkit/mm7sample"
	"mmsprofile/internal/testkit/xmppclient"
)

// The same MMS-to-profile tests as on Prosody, against Debian's ejabberd
// 23.01, where the service publishes through ejabberd's HTTP API (see
// startEjabberd). ejabberd sends PEP events for contacts through the
// owner's online session, so the tests say whether alice is online when
// the MMS arrives.

// With alice online, bob gets the PEP event live, the new hash in her
// presence, and her vCard shows the status.
func TestEjabberdMM7PhotoBecomesAvatar(t *testing.T) {
	e := startWith(t, envOptions{ejabberd: true, ownerOnline: true})
	e.accept("answer", mm7sample.Deliver{TransactionID: "tx-1", MessageID: "msg-1", Sender: aliceNumber, Text: "At the beach", Image: mm7sample.Photo(1280, 960, 1)})
	ev := e.nextAvatar()
	if len(ev.Infos) != 1 {
		t.Fatalf("metadata infos %+v", ev.Infos)
	}
	// mod_avatar writes the metadata itself from the vCard PHOTO.
	info := ev.Infos[0]
	t.Logf("metadata from mod_avatar: %+v", info)
	if info.ID != ev.ItemID || info.Type != "image/png" {
		t.Fatalf("info %+v (item %s)", info, ev.ItemID)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	checkAvatar(ctx, t, e.bob, e.alice, ev.ItemID)
	if _, err := e.bob.WaitPresence(ctx, e.alice, func(p xmppclient.Presence) bool { return p.PhotoHash == ev.ItemID }); err != nil {
		t.Fatalf("XEP-0153 hash in alice's presence: %v", err)
	}
	doc, _ := e.waitVCard(ctx, func(doc vcardDoc, sum string) bool { return sum == ev.ItemID })
	if doc.Desc != "At the beach" {
		t.Errorf("status in the vCard: DESC %q", doc.Desc)
	}
}

// With alice offline, ejabberd 23.01 stores the vCard and the PEP items
// but sends no event (it would route it through her session). Bob sees
// the new avatar by fetching (vCard, PEP item) and, when alice next logs
// in, as the XEP-0153 hash in her presence.
func TestEjabberdOwnerOffline(t *testing.T) {
	e := startWith(t, envOptions{ejabberd: true})
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
		t.Logf("owner offline: bob DID get an event (id %s): ejabberd changed, update docs/ejabberd.md", ev.ItemID)
	case <-time.After(time.Second):
		t.Logf("owner offline: bob got no avatar event (as documented for 23.01)")
	}

	alice := e.xmpp.dial(ctx, t, "alice", testLogger(t))
	defer alice.Close()
	p, err := e.bob.WaitPresence(ctx, e.alice, func(p xmppclient.Presence) bool { return p.Type == "" })
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("owner back online: presence photo hash %q (has photo %v)", p.PhotoHash, p.HasPhoto)
	if p.PhotoHash != id {
		t.Errorf("presence photo hash %q, want %s", p.PhotoHash, id)
	}
	select {
	case ev := <-e.bob.AvatarEvents():
		t.Logf("owner back online: bob got an avatar event (id %s)", ev.ItemID)
	case <-time.After(time.Second):
		t.Logf("owner back online: bob got no avatar event")
	}
}

// The profile test of TestProfileReachesClients on ejabberd: our fields
// in, the client's intact (mod_vcard stores vcard-temp as it is), and a
// contact logging in later sees the avatar.
func TestEjabberdProfileReachesClients(t *testing.T) {
	e := startWith(t, envOptions{ejabberd: true, ownerOnline: true, beforeStart: ownVCardAndCarol(t)})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e.accept("profile", profileMMS())
	ev := e.nextAvatar()
	doc, _ := e.waitVCard(ctx, func(doc vcardDoc, sum string) bool {
		return sum == ev.ItemID && doc.Desc != "" && doc.Nickname != ""
	})
	if doc.Desc != "At the beach" || doc.Nickname != "Ally" || doc.Title != "Engineer" || doc.Org != "Example Corp" {
		t.Errorf("our fields: %+v", doc)
	}
	if doc.FN != "Alice Example" || doc.Street != "1 Main St" || len(doc.Tels) == 0 || doc.Tels[0].Number != "+1 202 555 0100" || doc.Custom != "kept as it was" {
		t.Errorf("the client's fields were not kept: %+v", doc)
	}
	// Exactly one event for one MMS: the API backend writes one vCard.
	select {
	case again := <-e.bob.AvatarEvents():
		t.Errorf("a second avatar event for one MMS: %s", again.ItemID)
	case <-time.After(time.Second):
	}

	carol := e.lateContact(ctx, t, ev.ItemID)
	checkAvatar(ctx, t, carol, e.alice, ev.ItemID)

	// The HTTP API path writes vcard-temp only (docs/ejabberd.md): no
	// XEP-0172 nick, no vCard4. Should that change, the docs must too.
	if nick, err := fetchNick(ctx, t, e.bob, e.alice); nick != "" {
		t.Logf("23.01: a XEP-0172 nick %q appeared: update docs/ejabberd.md", nick)
	} else {
		t.Logf("23.01: no XEP-0172 nick (%v), as documented", err)
	}
	if v4, err := e.bob.FetchVCard4(ctx, e.alice); err == nil {
		t.Logf("23.01: a vCard4 appeared (%+v): update docs/ejabberd.md", v4)
	} else {
		t.Logf("23.01: no vCard4 (%v), as documented", err)
	}
}

// Refused and repeated messages publish nothing on ejabberd either.
func TestEjabberdMM7RefusalsPublishNothing(t *testing.T) {
	e := startWith(t, envOptions{ejabberd: true, ownerOnline: true})
	checkRefusalsPublishNothing(t, e, []refusal{
		{"unknown number", mm7sample.Deliver{TransactionID: "tx-u", MessageID: "m-u", Sender: "+12025550199", Image: mm7sample.Photo(64, 48, 2)}, "2003"},
	})
}
