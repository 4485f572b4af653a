package server_test

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mellium.im/xmpp/disco"
	"mellium.im/xmpp/jid"

	"mmsprofile/config"
	"mmsprofile/internal/ejabberd"
	"mmsprofile/internal/mm7sample"
	"mmsprofile/internal/server"
	"mmsprofile/internal/xmppclient"
	"mmsprofile/storage/sqlite"
)

// The same MMS-to-profile tests as on Prosody, against Debian's ejabberd
// 23.01. Its XEP-0356 is v0.2 (no IQ permission), so the service publishes
// through ejabberd's HTTP API (send_stanza of one vcard-temp set, which
// mod_avatar turns into PEP). ejabberd sends PEP events for contacts
// through the owner's online session, so the tests say whether alice is
// online when the MMS arrives.

// ejEnv is a real ejabberd, alice's and bob's clients and a running
// mmsprofile publishing through the HTTP API.
type ejEnv struct {
	*env
	ej *ejabberd.Server
	// aliceC is alice's own session while she is online, else nil.
	aliceC *xmppclient.Client
}

type ejOptions struct {
	// ownerOnline keeps alice's session open while the MMS arrives.
	ownerOnline bool
	// beforeStart runs with alice online and subscribed to bob.
	beforeStart func(ctx context.Context, s *ejabberd.Server, alice *xmppclient.Client)
}

// subscribe makes a and b contacts. On ejabberd, PEP events for b go
// through a's session, to the caps a's session has stored from b's
// presence, and it stores them only from a presence that arrives once the
// subscription is in place; during the subscription dance b's presence can
// arrive one step early, so b announces itself again, and the disco round
// trips make sure a's session has handled that presence (b's session
// routes it before answering b's query; a's handles its mailbox in order).
//
// MutualSubscribe's last step, waiting for a presence that arrives after
// the subscription, can miss that early presence on ejabberd, so only the
// subscription state it reaches counts here.
func subscribe(ctx context.Context, t testing.TB, domain string, a, b *xmppclient.Client) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	err := xmppclient.MutualSubscribe(sctx, a, b)
	cancel()
	if err != nil {
		if a.Subscription(b.JID().Bare()) != "both" || b.Subscription(a.JID().Bare()) != "both" {
			t.Fatal(err)
		}
		t.Logf("ejabberd subscription race, recovered: %v", err)
	}
	for _, c := range []*xmppclient.Client{b, a} {
		if err := c.SendPresence(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []*xmppclient.Client{b, a} {
		if _, err := disco.GetInfo(ctx, "", jid.MustParse(domain), c.Session()); err != nil {
			t.Fatal(err)
		}
	}
}

func startEjabberd(t *testing.T, opts ejOptions) *ejEnv {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	xs := ejabberd.StartT(t, ejabberd.Options{})
	for _, u := range []string{"alice", "bob"} {
		if err := xs.Register(ctx, u, "pw-"+u); err != nil {
			t.Fatal(err)
		}
	}
	alice := jid.MustParse("alice@" + xs.Domain)
	log := testLogger(t)
	aliceC, err := xmppclient.Dial(ctx, xs.C2SAddr, alice, "pw-alice", log)
	if err != nil {
		t.Fatal(err)
	}
	bob, err := xmppclient.Dial(ctx, xs.C2SAddr, jid.MustParse("bob@"+xs.Domain), "pw-bob", log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bob.Close() })
	subscribe(ctx, t, xs.Domain, aliceC, bob)
	if opts.beforeStart != nil {
		opts.beforeStart(ctx, xs, aliceC)
	}
	if opts.ownerOnline {
		t.Cleanup(func() { aliceC.Close() })
	} else {
		aliceC.Close()
		if _, err := bob.WaitPresence(ctx, alice, func(p xmppclient.Presence) bool { return p.Type == "unavailable" }); err != nil {
			t.Fatal(err)
		}
		aliceC = nil
	}

	dir := t.TempDir()
	raw := fmt.Sprintf(`
[xmpp]
component = %q
server = %q
secret = %q
domains = [%q]
reconnect_min = "100ms"
reconnect_max = "2s"
[storage]
driver = "sqlite"
dsn = %q
[mm7]
listen = "127.0.0.1:0"
path = "/mm7"
username = %q
password = %q
[email]
listen = ""
[http]
listen = ""
[publish]
retry_min = "200ms"
poll = "1s"
[profile]
service_number = "12345"
[ejabberd]
api_url = %q
api_user = %q
api_password = %q
`, xs.Component, xs.ComponentAddr, xs.Secret, xs.Domain, filepath.Join(dir, "state.db"), mm7User, mm7Password,
		xs.APIURL, xs.APIUser, xs.APIPassword)
	cfgPath := filepath.Join(dir, "mmsprofile.toml")
	if err := os.WriteFile(cfgPath, []byte(raw), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte(raw), "test.toml")
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, cfg.Storage.DSN)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AddLink(ctx, alice.String(), aliceNumber, "test"); err != nil {
		t.Fatal(err)
	}
	st.Close()

	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	select {
	case <-srv.Ready:
	case err := <-done:
		t.Fatalf("server stopped: %v", err)
	}
	if _, err := srv.Component().WaitPermissions(ctx, xs.Domain); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, bob: bob, alice: alice, srv: srv, cfgPath: cfgPath, mm7URL: "http://" + srv.MM7Addr().String() + "/mm7"}
	return &ejEnv{env: e, ej: xs, aliceC: aliceC}
}

// nextAvatar waits for bob's next avatar event from alice that carries an
// avatar. When a client sets a vCard without PHOTO, mod_avatar publishes
// "no avatar" (metadata without info) to PEP: skip those.
func (e *ejEnv) nextAvatar() xmppclient.AvatarEvent {
	e.t.Helper()
	for {
		ev := e.env.nextAvatar()
		if len(ev.Infos) > 0 {
			return ev
		}
		e.t.Logf("skipping an avatar event without info (id %s)", ev.ItemID)
	}
}

// waitVCard polls bob's view of alice's vCard until ok accepts it.
func (e *ejEnv) waitVCard(ctx context.Context, ok func(doc vcardDoc, photoSHA1 string) bool) (vcardDoc, string) {
	e.t.Helper()
	for {
		raw, err := e.bob.FetchVCard(ctx, e.alice)
		if err != nil {
			e.t.Fatal(err)
		}
		var doc vcardDoc
		if err := xml.Unmarshal(raw, &doc); err != nil {
			e.t.Fatalf("vcard %s: %v", raw, err)
		}
		photo, _ := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(doc.Photo.Binval), ""))
		sum := ""
		if len(photo) > 0 {
			s := sha1.Sum(photo)
			sum = hex.EncodeToString(s[:])
		}
		if ok(doc, sum) {
			return doc, sum
		}
		select {
		case <-ctx.Done():
			e.t.Fatalf("vCard never showed the update:\n%s", raw)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// checkAvatar fetches the PEP data item the event names and checks it is
// the operator's standard avatar.
func checkAvatar(ctx context.Context, t *testing.T, c *xmppclient.Client, owner jid.JID, id string) {
	t.Helper()
	data, err := c.FetchAvatarData(ctx, owner, id)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha1.Sum(data)
	if hex.EncodeToString(sum[:]) != id {
		t.Fatalf("data SHA-1 %x, item id %s", sum, id)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("avatar is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 128 || b.Dy() != 128 {
		t.Fatalf("avatar %v, want 128x128", b)
	}
}

// With alice online, bob gets the PEP event live, the new hash in her
// presence, and her vCard shows the status.
func TestEjabberdMM7PhotoBecomesAvatar(t *testing.T) {
	e := startEjabberd(t, ejOptions{ownerOnline: true})
	code, status := e.post(mm7sample.Deliver{TransactionID: "tx-1", MessageID: "msg-1", Sender: aliceNumber, Text: "At the beach", Image: mm7sample.Photo(1280, 960, 1)})
	if code != http.StatusOK || status != "1000" {
		t.Fatalf("answer HTTP %d status %q, want 200/1000", code, status)
	}
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
	e := startEjabberd(t, ejOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	code, status := e.post(mm7sample.Deliver{TransactionID: "tx-1", MessageID: "msg-1", Sender: aliceNumber, Text: "Out of office", Image: mm7sample.Photo(640, 480, 5)})
	if code != http.StatusOK || status != "1000" {
		t.Fatalf("answer HTTP %d status %q, want 200/1000", code, status)
	}
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

	alice, err := xmppclient.Dial(ctx, e.ej.C2SAddr, e.alice, "pw-alice", testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
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
	e := startEjabberd(t, ejOptions{ownerOnline: true, beforeStart: func(ctx context.Context, s *ejabberd.Server, alice *xmppclient.Client) {
		if typ, p, err := alice.IQ(ctx, jid.JID{}, "set", []byte(clientVCard)); err != nil || typ != "result" {
			t.Fatalf("alice sets her vCard: %s %s %v", typ, p, err)
		}
		if err := s.Register(ctx, "carol", "pw-carol"); err != nil {
			t.Fatal(err)
		}
		carol, err := xmppclient.Dial(ctx, s.C2SAddr, jid.MustParse("carol@"+s.Domain), "pw-carol", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer carol.Close()
		subscribe(ctx, t, s.Domain, alice, carol)
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	code, status := e.post(mm7sample.Deliver{TransactionID: "tp", MessageID: "mp", Sender: aliceNumber,
		Image: mm7sample.Photo(800, 600, 11), Text: "NICK Ally\nAt the beach", VCard: senderCard})
	if code != 200 || status != "1000" {
		t.Fatalf("HTTP %d status %s", code, status)
	}
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

	carol, err := xmppclient.Dial(ctx, e.ej.C2SAddr, jid.MustParse("carol@"+e.ej.Domain), "pw-carol", testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer carol.Close()
	select {
	case late := <-carol.AvatarEvents():
		if late.ItemID != ev.ItemID {
			t.Fatalf("late contact got %s, want %s", late.ItemID, ev.ItemID)
		}
	case <-ctx.Done():
		t.Fatal("a contact logging in after the update got no avatar")
	}
	checkAvatar(ctx, t, carol, e.alice, ev.ItemID)
}

// Refused and repeated messages publish nothing on ejabberd either.
func TestEjabberdMM7RefusalsPublishNothing(t *testing.T) {
	e := startEjabberd(t, ejOptions{ownerOnline: true})
	if code, status := e.post(mm7sample.Deliver{TransactionID: "tx-u", MessageID: "m-u", Sender: "+12025550199", Image: mm7sample.Photo(64, 48, 2)}); code != 200 || status != "2003" {
		t.Errorf("unknown number: HTTP %d status %q", code, status)
	}
	first := mm7sample.Deliver{TransactionID: "tx-1", MessageID: "m-1", Sender: aliceNumber, Image: mm7sample.Photo(640, 480, 3)}
	if code, status := e.post(first); code != 200 || status != "1000" {
		t.Fatalf("good message: HTTP %d status %q", code, status)
	}
	ev1 := e.nextAvatar()
	if code, status := e.post(first); code != 200 || status != "1000" {
		t.Fatalf("repeated message: HTTP %d status %q", code, status)
	}
	second := mm7sample.Deliver{TransactionID: "tx-2", MessageID: "m-2", Sender: aliceNumber, Image: mm7sample.Photo(480, 640, 4)}
	if code, status := e.post(second); code != 200 || status != "1000" {
		t.Fatalf("second message: HTTP %d status %q", code, status)
	}
	ev2 := e.nextAvatar()
	if ev2.ItemID == ev1.ItemID {
		t.Fatalf("the repeated message was published again (%s)", ev2.ItemID)
	}
}
