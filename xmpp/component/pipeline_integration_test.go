package component_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"mellium.im/xmpp/jid"

	"mmsprofile/internal/testkit/prosody"
	"mmsprofile/internal/testkit/xmppclient"
	"mmsprofile/xmpp/component"
	"mmsprofile/xmpp/pep"
)

// TestPrivilegedIQsKeepOrderOnProsody holds the claim the publisher's
// pipelined avatar rests on: IQs sent one behind the other without
// waiting are carried out by Prosody in that order. Of two vCard sets
// sent so, the second must be what is stored, every time; the first is
// large, as an avatar's data is, so that it is still being written when
// the second wants the stream.
func TestPrivilegedIQsKeepOrderOnProsody(t *testing.T) {
	xs := prosody.StartT(t, prosody.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, u := range []string{"alice", "bob"} {
		if err := xs.Register(ctx, u, "pw"); err != nil {
			t.Fatal(err)
		}
	}
	c, _, _ := connect(t, xs, xs.Secret)
	if _, err := c.WaitPermissions(ctx, xs.Domain); err != nil {
		t.Fatal(err)
	}
	alice := jid.MustParse("alice@" + xs.Domain)
	get := []byte(`<vCard xmlns='vcard-temp'/>`)
	for i := range 20 {
		first := []byte(fmt.Sprintf(`<vCard xmlns='vcard-temp'><FN>first %d</FN><DESC>%s</DESC></vCard>`, i, strings.Repeat("x", 100_000)))
		second := []byte(fmt.Sprintf(`<vCard xmlns='vcard-temp'><FN>second %d</FN></vCard>`, i))
		_, errs := c.PrivilegedIQs(ctx, alice, "set", first, second)
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		vc, err := c.PrivilegedIQ(ctx, alice, "get", get)
		if err != nil {
			t.Fatalf("round %d: get: %v", i, err)
		}
		if !strings.Contains(string(vc), fmt.Sprintf("<FN>second %d</FN>", i)) {
			t.Fatalf("round %d: stored vCard is not the second set's: %.200s", i, vc)
		}
	}

	// The avatar as the publisher sends it: data and metadata pipelined,
	// and a contact that fetches the data on the metadata event finds it.
	log := testLog(t)
	ac, err := xmppclient.Dial(ctx, xs.C2SAddr, alice, "pw", log)
	if err != nil {
		t.Fatal(err)
	}
	bob, err := xmppclient.Dial(ctx, xs.C2SAddr, jid.MustParse("bob@"+xs.Domain), "pw", log)
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()
	if err := xmppclient.MutualSubscribe(ctx, ac, bob); err != nil {
		t.Fatal(err)
	}
	ac.Close()
	data := []byte(strings.Repeat("not really a png ", 4000))
	id := "0123456789abcdef0123456789abcdef01234567"
	_, errs := c.PrivilegedIQs(ctx, alice, "set", pep.AvatarData(id, data),
		pep.AvatarMetadata(pep.AvatarInfo{ID: id, Type: "image/png", Bytes: len(data), Width: 1, Height: 1}))
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-bob.AvatarEvents():
		if ev.ItemID != id {
			t.Fatalf("event %+v", ev)
		}
	case <-ctx.Done():
		t.Fatal("bob got no avatar event")
	}
	if got, err := bob.FetchAvatarData(ctx, alice, id); err != nil || string(got) != string(data) {
		t.Fatalf("data %.40q, %v", got, err)
	}

	// The publisher's undo when the data failed behind the metadata.
	if _, err := c.PrivilegedIQ(ctx, alice, "set", pep.RetractAvatarMetadata(id)); err != nil {
		t.Fatalf("retract the metadata: %v", err)
	}

	// One IQ that may not be sent fails alone; the others still go.
	_, errs = c.PrivilegedIQs(ctx, alice, "set", []byte(`<query xmlns='urn:example:not-granted'/>`), second(id))
	if !errors.Is(errs[0], component.ErrNotGranted) || errs[1] != nil {
		t.Fatalf("errors %v, want not granted and nil", errs)
	}
}

func second(id string) []byte {
	return pep.AvatarMetadata(pep.AvatarInfo{ID: id, Type: "image/png", Bytes: 1, Width: 1, Height: 1})
}
