package xmppclient_test

import (
	"testing"

	"mellium.im/xmpp/jid"

	"mmsprofile/internal/testkit/prosody"
	"mmsprofile/internal/testkit/xmppclient"
	"mmsprofile/vcard"
	"mmsprofile/xmpp/pep"
)

// TestVCard4AndMoodEvents: the payloads the publisher writes (pep's
// builders, sent here by the owner's own client) are accepted by Prosody
// with its PEP defaults and reach a contact whose caps ask for them; a
// contact can also fetch the vCard4 item on request.
func TestVCard4AndMoodEvents(t *testing.T) {
	s := prosody.StartT(t, prosody.Options{})
	ctx := testContext(t)
	alice := login(ctx, t, s, "alice")
	bob := login(ctx, t, s, "bob")
	if err := xmppclient.MutualSubscribe(ctx, alice, bob); err != nil {
		t.Fatal(err)
	}
	doc, err := vcard.ParseTemp([]byte(`<vCard xmlns='vcard-temp'><FN>Alice</FN><NICKNAME>Ally</NICKNAME><DESC>At the beach</DESC></vCard>`))
	if err != nil {
		t.Fatal(err)
	}
	v, err := doc.VCard4()
	if err != nil {
		t.Fatal(err)
	}
	for _, payload := range [][]byte{pep.VCard4Publish(v), pep.MoodText("At the beach")} {
		if typ, answer, err := alice.IQ(ctx, jid.JID{}, "set", payload); err != nil || typ != "result" {
			t.Fatalf("publish %s: %s %s %v", payload, typ, answer, err)
		}
	}
	select {
	case ev := <-bob.VCard4Events():
		if !ev.From.Equal(alice.JID().Bare()) || ev.ItemID != "current" || ev.VCard.FN != "Alice" || ev.VCard.Nickname != "Ally" ||
			len(ev.VCard.Notes) != 1 || ev.VCard.Notes[0] != "At the beach" {
			t.Errorf("vcard4 event %+v", ev)
		}
	case <-ctx.Done():
		t.Fatal("no vcard4 event")
	}
	select {
	case ev := <-bob.MoodEvents():
		if !ev.From.Equal(alice.JID().Bare()) || ev.Mood != "undefined" || ev.Text != "At the beach" {
			t.Errorf("mood event %+v", ev)
		}
	case <-ctx.Done():
		t.Fatal("no mood event")
	}
	got, err := bob.FetchVCard4(ctx, alice.JID())
	if err != nil {
		t.Fatal(err)
	}
	if got.FN != "Alice" || len(got.Notes) != 1 || got.Notes[0] != "At the beach" {
		t.Errorf("fetched %+v", got)
	}
}
