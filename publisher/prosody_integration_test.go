package publisher_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"mellium.im/xmpp/jid"

	"mmsprofile/internal/testkit/prosody"
	"mmsprofile/internal/testkit/xmppclient"
	"mmsprofile/outbox"
	"mmsprofile/publisher"
	"mmsprofile/storage"
	"mmsprofile/storage/sqlite"
	"mmsprofile/xmpp/component"
)

// With pubsub "both" granted (Prosody's mod_privilege accepts it for any
// namespace), the publisher reads alice's vCard4 item before replacing
// it: what a vCard4 client set there and vcard-temp cannot hold survives,
// the status replaces the old note. The status also goes out as mood when
// enabled. Real Prosody with mod_vcard (no conversion), privileged IQs.
func TestVCard4MergeAndMoodOnProsody(t *testing.T) {
	xs := prosody.StartT(t, prosody.Options{Privileges: `{ message = "outgoing"; ` +
		`iq = { ["http://jabber.org/protocol/pubsub"] = "both"; ["vcard-temp"] = "both"; ` +
		`["http://jabber.org/protocol/disco#info"] = "get" } }`})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, u := range []string{"alice", "bob"} {
		if err := xs.Register(ctx, u, "pw-"+u); err != nil {
			t.Fatal(err)
		}
	}
	owner := jid.MustParse("alice@" + xs.Domain)
	alice, err := xmppclient.Dial(ctx, xs.C2SAddr, owner, "pw-alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Close()
	bob, err := xmppclient.Dial(ctx, xs.C2SAddr, jid.MustParse("bob@"+xs.Domain), "pw-bob", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()
	if err := xmppclient.MutualSubscribe(ctx, alice, bob); err != nil {
		t.Fatal(err)
	}
	// What alice's vCard4 client set: a gender, which vcard-temp has no
	// element for, and an old note.
	mine := `<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='urn:xmpp:vcard4'><item id='current'>` +
		`<vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'><fn><text>Alice Example</text></fn><note><text>old</text></note>` +
		`<gender><sex>F</sex></gender></vcard></item></publish></pubsub>`
	if typ, answer, err := alice.IQ(ctx, jid.JID{}, "set", []byte(mine)); err != nil || typ != "result" {
		t.Fatalf("alice publishes her vcard4: %s %s %v", typ, answer, err)
	}
	waitVCard4(ctx, t, bob, owner, "old")

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	comp, err := component.New(component.Config{Domain: xs.Component, Server: xs.ComponentAddr, Secret: xs.Secret}, log)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- comp.Run(runCtx) }()
	defer func() { stop(); <-done }()
	if _, err := comp.WaitPermissions(ctx, xs.Domain); err != nil {
		t.Fatal(err)
	}

	st, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	status := "At the beach"
	if _, err := st.CommitUpdate(ctx, storage.Update{Source: "mm7", Key: "k", JID: owner.String(), Number: "+12025550143", Received: time.Now(),
		Entries: []storage.Entry{outbox.ChangeEntry(owner.String(), outbox.Change{Status: &status})}}); err != nil {
		t.Fatal(err)
	}
	pub := publisher.New(st, comp, nil, publisher.Config{StatusAsMood: true}, log)
	var last publisher.Result
	pub.OnResult = func(r publisher.Result) { last = r }
	if _, err := pub.Drain(ctx); err != nil || last.Err != nil || !last.Final {
		t.Fatalf("drain: %v, result %+v", err, last)
	}

	v := waitVCard4(ctx, t, bob, owner, status)
	if !slices.Equal(v.Notes, []string{status}) || v.FN != "Alice Example" {
		t.Errorf("vcard4 event %+v", v)
	}
	typ, items, err := bob.IQ(ctx, owner, "get", []byte(`<pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='urn:xmpp:vcard4'/></pubsub>`))
	if err != nil || typ != "result" || !strings.Contains(string(items), "<sex>F</sex>") || strings.Contains(string(items), "old") {
		t.Errorf("vcard4 item after the MMS (%s, %v): %s", typ, err, items)
	}
	select {
	case m := <-bob.MoodEvents():
		if m.Mood != "undefined" || m.Text != status || !m.From.Equal(owner) {
			t.Errorf("mood %+v", m)
		}
	case <-ctx.Done():
		t.Fatal("no mood event reached bob")
	}
}

func waitVCard4(ctx context.Context, t *testing.T, c *xmppclient.Client, owner jid.JID, note string) xmppclient.VCard4 {
	t.Helper()
	for {
		select {
		case ev := <-c.VCard4Events():
			if ev.From.Equal(owner) && slices.Contains(ev.VCard.Notes, note) {
				return ev.VCard
			}
		case <-ctx.Done():
			t.Fatalf("no vcard4 event from %s with note %q", owner, note)
		}
	}
}
