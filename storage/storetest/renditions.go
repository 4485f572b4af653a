package storetest

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"mmsprofile/storage"
)

// MakeRendition returns a deterministic side x side rendition of n bytes
// derived from seed.
func MakeRendition(seed string, side, n int) storage.Rendition {
	a := MakeAvatar("rendition "+seed, n)
	return storage.Rendition{ID: a.ID, Type: "image/jpeg", Width: side, Height: side, Bytes: n, Data: a.Data}
}

// withRenditions returns a copy of a holding rs.
func withRenditions(a *storage.Avatar, rs ...storage.Rendition) *storage.Avatar {
	c := *a
	c.Renditions = rs
	return &c
}

// sameRenditions compares the renditions read with an avatar (no data,
// smallest first) to those committed.
func sameRenditions(t *testing.T, what string, got []storage.Rendition, want ...storage.Rendition) {
	t.Helper()
	describe := func(rs []storage.Rendition) string {
		var b bytes.Buffer
		for _, r := range rs {
			fmt.Fprintf(&b, "{%s %s %dx%d %d bytes} ", r.ID, r.Type, r.Width, r.Height, r.Bytes)
		}
		return b.String()
	}
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		g, w := got[i], want[i]
		ok = g.ID == w.ID && g.Type == w.Type && g.Width == w.Width && g.Height == w.Height && g.Bytes == len(w.Data) && g.Data == nil
	}
	if !ok {
		t.Fatalf("%s: renditions %s(data read: %v), want %s", what, describe(got), len(got) > 0 && got[0].Data != nil, describe(want))
	}
}

// rendition fails unless the store serves want whole by its id.
func rendition(t *testing.T, s storage.Updates, want storage.Rendition) {
	t.Helper()
	got, err := s.Rendition(t.Context(), want.ID)
	ok(t, "Rendition("+want.ID+")", err)
	if got.ID != want.ID || got.Type != want.Type || got.Width != want.Width || got.Height != want.Height ||
		got.Bytes != len(want.Data) || !bytes.Equal(got.Data, want.Data) {
		t.Fatalf("Rendition(%s) = {%s %s %dx%d %d bytes}, want {%s %s %dx%d %d bytes}", want.ID,
			got.ID, got.Type, got.Width, got.Height, len(got.Data), want.ID, want.Type, want.Width, want.Height, len(want.Data))
	}
}

func noRendition(t *testing.T, s storage.Updates, id string) {
	t.Helper()
	_, err := s.Rendition(t.Context(), id)
	mustErr(t, "Rendition("+id+")", err, storage.ErrNotFound)
}

// Renditions are committed with their avatar, in the same transaction, and
// come back with it wherever it is read: the current avatar and the
// outbox item that publishes it.
func testRenditions(t *testing.T, s storage.Store) {
	big, small := MakeRendition("big", 1024, 9000), MakeRendition("small", 512, 3000)
	av := withRenditions(MakeAvatar("a", 4000), big, small)
	noRendition(t, s, small.ID)
	commit(t, s, update("k1", "alice@example.org", av))

	cur, err := s.CurrentAvatar(t.Context(), "alice@example.org")
	ok(t, "CurrentAvatar", err)
	sameAvatar(t, "CurrentAvatar", &cur, av)
	sameRenditions(t, "CurrentAvatar", cur.Renditions, small, big)
	items := all(t, s)
	if len(items) != 1 || items[0].Avatar == nil {
		t.Fatalf("outbox = %s, want alice's avatar", kinds(items))
	}
	sameRenditions(t, "outbox avatar", items[0].Avatar.Renditions, small, big)
	rendition(t, s, small)
	rendition(t, s, big)
	noRendition(t, s, MakeRendition("other", 512, 10).ID)
	noRendition(t, s, av.ID) // an avatar is no rendition

	// An avatar without renditions has none, also beside one that has.
	plain := MakeAvatar("b", 4000)
	commit(t, s, update("k2", "bob@example.org", plain))
	cur, err = s.CurrentAvatar(t.Context(), "bob@example.org")
	ok(t, "CurrentAvatar(bob)", err)
	sameRenditions(t, "CurrentAvatar(bob)", cur.Renditions)
	for _, it := range all(t, s) {
		if it.JID == "bob@example.org" {
			sameRenditions(t, "bob's outbox avatar", it.Avatar.Renditions)
		}
	}
	// Failed items carry them too.
	ok(t, "OutboxFail", s.OutboxFail(t.Context(), pending(t, s, "alice@example.org")[0].ID, "forbidden"))
	failed, err := s.FailedOutbox(t.Context(), 10)
	ok(t, "FailedOutbox", err)
	if len(failed) != 1 || failed[0].Avatar == nil {
		t.Fatalf("FailedOutbox = %+v", failed)
	}
	sameRenditions(t, "failed outbox avatar", failed[0].Avatar.Renditions, small, big)
}

func testCommitRejectsBadRendition(t *testing.T, s storage.Store) {
	good := MakeRendition("r", 512, 100)
	wrongID := MakeRendition("r", 512, 100)
	wrongID.ID = MakeRendition("s", 512, 100).ID
	noType := MakeRendition("t", 512, 100)
	noType.Type = ""
	for i, rs := range [][]storage.Rendition{{good, wrongID}, {noType}, {good, good}} {
		u := update(fmt.Sprintf("k%d", i), "alice@example.org", withRenditions(MakeAvatar("a", 100), rs...))
		if _, err := s.CommitUpdate(t.Context(), u); err == nil {
			t.Fatalf("CommitUpdate accepted renditions %d", i)
		}
	}
	if items := all(t, s); len(items) != 0 {
		t.Fatalf("refused updates queued %s", kinds(items))
	}
	_, err := s.CurrentAvatar(t.Context(), "alice@example.org")
	mustErr(t, "CurrentAvatar after refused updates", err, storage.ErrNotFound)
	noRendition(t, s, good.ID)
}

// The same picture committed again takes the renditions of its latest
// commit (the operator changed avatar.renditions); a rendition two
// avatars share stays while either is kept.
func testRenditionsFollowLatestCommit(t *testing.T, s storage.Store) {
	r512, r1024, shared := MakeRendition("512", 512, 300), MakeRendition("1024", 1024, 600), MakeRendition("shared", 512, 200)
	a := MakeAvatar("a", 100)
	commit(t, s, update("k1", "alice@example.org", withRenditions(a, r512)))
	commit(t, s, update("k2", "alice@example.org", withRenditions(a, r1024, shared)))
	cur, err := s.CurrentAvatar(t.Context(), "alice@example.org")
	ok(t, "CurrentAvatar", err)
	sameRenditions(t, "CurrentAvatar after a second commit", cur.Renditions, shared, r1024)
	items := all(t, s)
	if len(items) != 1 {
		t.Fatalf("outbox = %s, want one coalesced avatar", kinds(items))
	}
	sameRenditions(t, "outbox avatar after a second commit", items[0].Avatar.Renditions, shared, r1024)

	// bob's picture shares one rendition with alice's.
	b := MakeAvatar("b", 100)
	commit(t, s, update("k3", "bob@example.org", withRenditions(b, shared)))

	// r512 belongs to no avatar any more: the next Prune takes it, and
	// nothing else (every picture is current).
	prune(t, s, time.Now().Add(-time.Hour), 1)
	noRendition(t, s, r512.ID)
	rendition(t, s, r1024)
	rendition(t, s, shared)

	// alice moves on: once her old picture's update and item are past the
	// retention, the picture goes with r1024; shared stays for bob.
	for _, it := range all(t, s) {
		ok(t, "OutboxDone", s.OutboxDone(t.Context(), it.ID))
	}
	commit(t, s, update("k4", "alice@example.org", MakeAvatar("c", 100)))
	rendition(t, s, r1024) // not yet: within the retention
	// k1's replaced item and k2's and k3's published ones, updates k1 to
	// k3, picture a and r1024; b is bob's current picture, k4 is pending.
	prune(t, s, time.Now().Add(time.Hour), 3+3+1+1)
	noRendition(t, s, r1024.ID)
	rendition(t, s, shared)
	cur, err = s.CurrentAvatar(t.Context(), "bob@example.org")
	ok(t, "CurrentAvatar(bob)", err)
	sameRenditions(t, "CurrentAvatar(bob) after Prune", cur.Renditions, shared)

	// Commit again after a prune: the rendition comes back.
	commit(t, s, update("k5", "carol@example.org", withRenditions(MakeAvatar("d", 100), r1024)))
	rendition(t, s, r1024)
}

// Renditions of an avatar a pending item still needs, or that is some
// account's current one, are never pruned; those of an old one go after
// the retention, with it.
func testPruneKeepsNeededRenditions(t *testing.T, s storage.Store) {
	old := time.Now().Add(-48 * time.Hour)
	at := func(key, jid string, av *storage.Avatar) storage.Update {
		u := update(key, jid, av)
		u.Received = old
		return u
	}
	ra, rb, rx, ry := MakeRendition("a", 512, 64), MakeRendition("b", 512, 64), MakeRendition("x", 512, 64), MakeRendition("y", 512, 64)
	a, b := withRenditions(MakeAvatar("a", 64), ra), withRenditions(MakeAvatar("b", 64), rb)
	x, y := withRenditions(MakeAvatar("x", 64), rx), withRenditions(MakeAvatar("y", 64), ry)
	// alice: two pictures pending without coalescing; a is no longer
	// current but its item needs it.
	for _, u := range []storage.Update{at("u1", "alice@example.org", a), at("u2", "alice@example.org", b)} {
		u.Entries = []storage.Entry{{JID: u.JID, Kind: storage.KindAvatar}}
		commit(t, s, u)
	}
	// carol: x published, then y published: x is old history.
	commit(t, s, at("u3", "carol@example.org", x))
	ok(t, "OutboxDone", s.OutboxDone(t.Context(), pending(t, s, "carol@example.org")[0].ID))
	commit(t, s, at("u4", "carol@example.org", y))
	ok(t, "OutboxDone", s.OutboxDone(t.Context(), pending(t, s, "carol@example.org")[0].ID))

	// Within the retention, everything stays.
	prune(t, s, old.Add(-time.Hour), 0)
	for _, r := range []storage.Rendition{ra, rb, rx, ry} {
		rendition(t, s, r)
	}
	// Past it: carol's 2 items and 2 updates, picture x and rx.
	prune(t, s, time.Now().Add(time.Hour), 2+2+1+1)
	noRendition(t, s, rx.ID)
	for _, r := range []storage.Rendition{ra, rb, ry} {
		rendition(t, s, r)
	}
	items := all(t, s)
	if len(items) != 2 {
		t.Fatalf("outbox = %s, want alice's 2 pending", kinds(items))
	}
	sameRenditions(t, "alice's older pending picture", items[0].Avatar.Renditions, ra)
	sameRenditions(t, "alice's newer pending picture", items[1].Avatar.Renditions, rb)
}

// Stored ids are what the HTTP side is asked for; an id that is no SHA-1
// hex is simply not found.
func testRenditionOddIDs(t *testing.T, s storage.Store) {
	for _, id := range []string{"", "x", "' OR 1=1 --", hex.EncodeToString(make([]byte, sha1.Size))} {
		noRendition(t, s, id)
	}
}
