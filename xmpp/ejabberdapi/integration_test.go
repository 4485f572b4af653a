package ejabberdapi_test

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"testing"
	"time"

	"mellium.im/xmpp/disco"
	"mellium.im/xmpp/jid"

	"mmsprofile/internal/testkit/ejabberd"
	"mmsprofile/internal/testkit/xmppclient"
	"mmsprofile/xmpp/ejabberdapi"
)

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// smallPNG is a 4×4 picture in one colour, different for each c.
func smallPNG(t *testing.T, c uint8) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	for x := range 4 {
		for y := range 4 {
			img.Set(x, y, color.RGBA{R: c, G: 0x80, B: 0x40, A: 0xff})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sha1Hex(b []byte) string {
	sum := sha1.Sum(b)
	return hex.EncodeToString(sum[:])
}

// vcardSet is the vcard-temp set a client sends for its own account; the
// publisher builds the same from the stored profile.
func vcardSet(fn string, photo []byte) string {
	return `<iq xmlns='jabber:client' type='set' id='mms1'><vCard xmlns='vcard-temp'>` +
		`<FN>` + fn + `</FN><NICKNAME>` + fn + `</NICKNAME>` +
		`<PHOTO><TYPE>image/png</TYPE><BINVAL>` + base64.StdEncoding.EncodeToString(photo) + `</BINVAL></PHOTO>` +
		`</vCard></iq>`
}

func apiClient(s *ejabberd.Server) *ejabberdapi.Client {
	return &ejabberdapi.Client{URL: s.APIURL, User: s.APIUser, Password: s.APIPassword}
}

// TestSendStanzaVCardPhoto writes a vCard with a photo the way the
// publisher does on ejabberd 23.01 and reads it back.
func TestSendStanzaVCardPhoto(t *testing.T) {
	s := ejabberd.StartT(t, ejabberd.Options{})
	ctx := testContext(t)
	if err := s.Register(ctx, "alice", "pw"); err != nil {
		t.Fatal(err)
	}
	api := apiClient(s)
	alice := "alice@" + s.Domain

	// No vCard yet: what the publisher sees before its first write.
	photo, err := api.Photo(ctx, "alice", s.Domain)
	t.Logf("photo before any vCard: %d bytes, err %v", len(photo), err)

	img := smallPNG(t, 1)
	if err := api.SendStanza(ctx, alice+"/mmsprofile", alice, vcardSet("Alice", img)); err != nil {
		t.Fatal(err)
	}
	// send_stanza only routes; mod_vcard stores the vCard in the same
	// process, but not necessarily before the HTTP answer, so poll.
	var got []byte
	for {
		got, err = api.Photo(ctx, "alice", s.Domain)
		if err == nil && got != nil {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("photo never arrived: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	if sha1Hex(got) != sha1Hex(img) {
		t.Errorf("photo SHA-1 %s, want %s", sha1Hex(got), sha1Hex(img))
	}
	for name, want := range map[string]string{"FN": "Alice", "NICKNAME": "Alice"} {
		if v, err := api.GetVCard(ctx, "alice", s.Domain, name); err != nil || v != want {
			t.Errorf("get_vcard %s = %q, %v; want %q", name, v, err, want)
		}
	}
	if v, err := api.GetVCard2(ctx, "alice", s.Domain, "PHOTO", "TYPE"); err != nil || v != "image/png" {
		t.Errorf("get_vcard2 PHOTO TYPE = %q, %v", v, err)
	}
	if v, err := api.GetVCard2Multi(ctx, "alice", s.Domain, "PHOTO", "TYPE"); err != nil || len(v) != 1 || v[0] != "image/png" {
		t.Errorf("get_vcard2_multi PHOTO TYPE = %q, %v", v, err)
	}
	// An empty field, and an account that does not exist.
	v, err := api.GetVCard(ctx, "alice", s.Domain, "DESC")
	t.Logf("get_vcard DESC (absent field): %q, err %v", v, err)
	v, err = api.GetVCard(ctx, "nobody", s.Domain, "FN")
	t.Logf("get_vcard of an unknown account: %q, err %v", v, err)

	// A stanza that is not XML: ejabberd refuses it in the answer, unlike
	// a well-formed stanza that fails later.
	err = api.SendStanza(ctx, alice, alice, "<iq")
	t.Logf("send_stanza of broken XML: %v", err)
	if err == nil {
		t.Error("send_stanza of broken XML succeeded")
	}
}

// TestAvatarEventOwnerOnline: a contact that is online, subscribed and
// announces +notify caps gets the XEP-0084 metadata event and the new
// XEP-0153 hash in presence when the vCard is written through the API
// while the owner is online too.
func TestAvatarEventOwnerOnline(t *testing.T) {
	s, alice, bob := twoContacts(t)
	ctx := testContext(t)

	img := smallPNG(t, 2)
	owner := alice.JID().Bare().String()
	if err := apiClient(s).SendStanza(ctx, owner, owner, vcardSet("Alice", img)); err != nil {
		t.Fatal(err)
	}
	select {
	case ev, ok := <-bob.AvatarEvents():
		if !ok {
			t.Fatalf("bob's session ended: %v", bob.Err())
		}
		t.Logf("bob got avatar event from %s: id %s, infos %+v", ev.From, ev.ItemID, ev.Infos)
		if ev.ItemID != sha1Hex(img) {
			t.Errorf("event item id %s, want SHA-1 %s", ev.ItemID, sha1Hex(img))
		}
		if !ev.From.Equal(alice.JID().Bare()) {
			t.Errorf("event from %s, want %s", ev.From, alice.JID().Bare())
		}
	case <-ctx.Done():
		t.Fatal("bob got no avatar event")
	}
	p, err := bob.WaitPresence(ctx, alice.JID().Bare(), func(p xmppclient.Presence) bool {
		return p.PhotoHash == sha1Hex(img)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("bob saw presence from %s with photo hash %s", p.From, p.PhotoHash)
	data, err := bob.FetchAvatarData(ctx, alice.JID(), sha1Hex(img))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, img) {
		t.Errorf("PEP data item differs from the photo sent")
	}
}

// TestAvatarEventFromFullJID documents a trap: with a resource in
// send_stanza's from, mod_pubsub routes the PEP notification for contacts
// through that resource's session, which does not exist, so contacts get
// nothing although the owner's own clients do. The publisher must send
// from the bare JID.
func TestAvatarEventFromFullJID(t *testing.T) {
	s, alice, bob := twoContacts(t)
	ctx := testContext(t)
	img := smallPNG(t, 4)
	owner := alice.JID().Bare().String()
	if err := apiClient(s).SendStanza(ctx, owner+"/mmsprofile", owner, vcardSet("Alice", img)); err != nil {
		t.Fatal(err)
	}
	// The owner's own session gets the event, so the hooks have run.
	select {
	case <-alice.AvatarEvents():
	case <-ctx.Done():
		t.Fatal("alice got no avatar event")
	}
	select {
	case ev := <-bob.AvatarEvents():
		t.Logf("from a full JID: bob DID get an event (id %s): ejabberd changed, update the notes", ev.ItemID)
	case <-time.After(time.Second):
		t.Logf("from a full JID: bob got no avatar event (as documented for 23.01)")
	}
}

// TestAvatarEventOwnerOffline documents what ejabberd 23.01 does when the
// owner is offline: it stores the vCard and the PEP items, but sends the
// PEP notification through the owner's session, so an online contact gets
// no event. The contact can still fetch the items.
func TestAvatarEventOwnerOffline(t *testing.T) {
	s, alice, bob := twoContacts(t)
	ctx := testContext(t)
	owner := alice.JID().Bare()
	if err := alice.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.WaitPresence(ctx, owner, func(p xmppclient.Presence) bool { return p.Type == "unavailable" }); err != nil {
		t.Fatal(err)
	}

	img := smallPNG(t, 3)
	api := apiClient(s)
	if err := api.SendStanza(ctx, owner.String(), owner.String(), vcardSet("Alice", img)); err != nil {
		t.Fatal(err)
	}
	// Waiting for the vCard first means the hooks have run, so a PEP event
	// would be on its way by now if there were going to be one.
	waitPhoto(ctx, t, api, owner.Localpart(), s.Domain, img)
	data, err := bob.FetchAvatarData(ctx, owner, sha1Hex(img))
	if err != nil {
		t.Fatalf("contact cannot fetch the avatar while the owner is offline: %v", err)
	}
	if !bytes.Equal(data, img) {
		t.Errorf("PEP data item differs from the photo sent")
	}
	select {
	case ev := <-bob.AvatarEvents():
		t.Logf("owner offline: bob DID get an event (id %s): ejabberd changed, update the notes", ev.ItemID)
	case <-time.After(time.Second):
		t.Logf("owner offline: bob got no avatar event (as documented for 23.01)")
	}

	// The owner's next login: does the contact hear about it then?
	alice2, err := xmppclient.Dial(ctx, s.C2SAddr, owner, "pw", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer alice2.Close()
	p, err := bob.WaitPresence(ctx, owner, func(p xmppclient.Presence) bool { return p.Type == "" })
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("owner back online: presence photo hash %q (has photo: %v), want %s", p.PhotoHash, p.HasPhoto, sha1Hex(img))
	select {
	case ev := <-bob.AvatarEvents():
		t.Logf("owner back online: bob got an avatar event (id %s)", ev.ItemID)
	case <-time.After(time.Second):
		t.Logf("owner back online: bob got no avatar event")
	}
}

func waitPhoto(ctx context.Context, t *testing.T, api *ejabberdapi.Client, user, host string, want []byte) {
	t.Helper()
	for {
		got, err := api.Photo(ctx, user, host)
		if err == nil && bytes.Equal(got, want) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("photo never arrived: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// twoContacts starts a server with alice and bob online and subscribed to
// each other.
func twoContacts(t *testing.T) (*ejabberd.Server, *xmppclient.Client, *xmppclient.Client) {
	t.Helper()
	s := ejabberd.StartT(t, ejabberd.Options{})
	ctx := testContext(t)
	clients := make([]*xmppclient.Client, 2)
	for i, user := range []string{"alice", "bob"} {
		if err := s.Register(ctx, user, "pw"); err != nil {
			t.Fatal(err)
		}
		c, err := xmppclient.Dial(ctx, s.C2SAddr, jid.MustParse(user+"@"+s.Domain), "pw", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		clients[i] = c
	}
	alice, bob := clients[0], clients[1]
	// MutualSubscribe's last step waits for a presence sent after the
	// subscription, which ejabberd may deliver one step early (see below):
	// only the subscription state it reaches counts.
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	err := xmppclient.MutualSubscribe(sctx, alice, bob)
	cancel()
	if err != nil {
		if alice.Subscription(bob.JID().Bare()) != "both" || bob.Subscription(alice.JID().Bare()) != "both" {
			t.Fatal(err)
		}
		t.Logf("ejabberd subscription race, recovered: %v", err)
	}
	// ejabberd sends PEP events for contacts through the owner's session,
	// to the contacts whose caps that session has stored, and it stores
	// caps only from a presence that arrives while the owner is already
	// subscribed. During the subscription dance bob's presence may reach
	// alice one step too early, so bob announces himself again. The round
	// trips make sure alice's session has handled that presence: bob's
	// session routes it before answering bob's query, and alice's session
	// handles its mailbox in order.
	if err := bob.SendPresence(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*xmppclient.Client{bob, alice} {
		if _, err := disco.GetInfo(ctx, "", jid.MustParse(s.Domain), c.Session()); err != nil {
			t.Fatal(err)
		}
	}
	return s, alice, bob
}

func TestWrongPassword(t *testing.T) {
	s := ejabberd.StartT(t, ejabberd.Options{})
	api := apiClient(s)
	api.Password = "wrong"
	_, err := api.GetVCard(testContext(t), "alice", s.Domain, "FN")
	var e *ejabberdapi.APIError
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T), want *APIError", err, err)
	}
	t.Logf("wrong password: %v", err)
	if e.Status != http.StatusUnauthorized || e.Temporary() || ejabberdapi.Temporary(err) {
		t.Errorf("wrong password: status %d, temporary %v; want 401, not temporary", e.Status, e.Temporary())
	}
}

// TestCommandNotGranted: the API account may call only what the publisher
// needs; set_vcard in particular (which skips the PEP hooks) is refused.
func TestCommandNotGranted(t *testing.T) {
	s := ejabberd.StartT(t, ejabberd.Options{})
	args := map[string]string{"user": "alice", "host": s.Domain, "name": "FN", "content": "x"}
	err := apiClient(s).Call(testContext(t), "set_vcard", args, nil)
	var e *ejabberdapi.APIError
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T), want *APIError", err, err)
	}
	t.Logf("command not granted: %v", err)
	if e.Status != http.StatusForbidden || e.Temporary() {
		t.Errorf("status %d, temporary %v; want 403, not temporary", e.Status, e.Temporary())
	}
}

// TestServerGone: after Close nothing listens, and the error says a retry
// may work.
func TestServerGone(t *testing.T) {
	s := ejabberd.StartT(t, ejabberd.Options{})
	api := apiClient(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	err := api.SendStanza(testContext(t), "alice@localhost", "alice@localhost", "<message/>")
	var e *ejabberdapi.APIError
	if !errors.As(err, &e) || e.Status != 0 || !e.Temporary() {
		t.Fatalf("error %v, want a temporary *APIError without status", err)
	}
}
