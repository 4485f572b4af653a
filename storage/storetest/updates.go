package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"mmsprofile/storage"
)

// Updates checks storage.Updates: commits, their entries, duplicates,
// coalescing, what is read back (avatars, renditions, profiles, recent
// updates) and commits racing each other.
func Updates(t *testing.T, open Open) {
	run(t, open, []test{
		{"CommitUpdate", testCommitUpdate},
		{"CommitWithoutAvatar", testCommitWithoutAvatar},
		{"CommitRejectsBadAvatar", testCommitRejectsBadAvatar},
		{"CurrentAvatar", testCurrentAvatar},
		{"Current", testCurrent},
		{"Duplicate", testDuplicate},
		{"EntriesWithUpdate", testEntriesWithUpdate},
		{"ExplicitAvatarEntry", testExplicitAvatarEntry},
		{"Enqueue", testEnqueue},
		{"EnqueueAvatar", testEnqueueAvatar},
		{"Coalesce", testCoalesce},
		{"CoalesceSparesFailed", testCoalesceSparesFailed},
		{"RecentUpdates", testRecentUpdates},
		{"Renditions", testRenditions},
		{"CommitRejectsBadRendition", testCommitRejectsBadRendition},
		{"RenditionsFollowLatestCommit", testRenditionsFollowLatestCommit},
		{"RenditionOddIDs", testRenditionOddIDs},
		{"ConcurrentCommit", testConcurrentCommit},
		{"ConcurrentDuplicate", testConcurrentDuplicate},
		{"CommitWithInbound", testCommitWithInbound},
		{"CommitTakesToken", testCommitTakesToken},
		{"ConcurrentCommitLimit", testConcurrentCommitLimit},
	})
}

func testCommitUpdate(t *testing.T, s storage.Store) {
	av := MakeAvatar("a", 8192)
	before := time.Now()
	id := commit(t, s, update("k1", "alice@example.org", av))
	after := time.Now()
	if id <= 0 {
		t.Fatalf("CommitUpdate id = %d, want > 0", id)
	}

	cur, err := s.CurrentAvatar(t.Context(), "alice@example.org")
	ok(t, "CurrentAvatar", err)
	sameAvatar(t, "CurrentAvatar", &cur, av)

	items, err := s.DueOutbox(t.Context(), time.Now(), storage.Due(10))
	ok(t, "DueOutbox", err)
	if len(items) != 1 {
		t.Fatalf("DueOutbox = %d items, want 1", len(items))
	}
	it := items[0]
	if it.ID <= 0 || it.UpdateID != id || it.JID != "alice@example.org" ||
		it.Kind != storage.KindAvatar || it.Attempts != 0 || it.LastError != "" || !it.FailedAt.IsZero() {
		t.Fatalf("outbox item = %+v, want update %d, alice, avatar, 0 attempts", it, id)
	}
	sameAvatar(t, "outbox avatar", it.Avatar, av)
	within(t, "outbox Created", it.Created, before, after)
	within(t, "outbox NextAttempt", it.NextAttempt, before, after)
	// The MMS's arrival travels with the item, for end-to-end latency.
	within(t, "outbox Received", it.Received, before, after)
}

func testCommitWithoutAvatar(t *testing.T, s storage.Store) {
	id := commit(t, s, update("k1", "alice@example.org", nil))
	if id <= 0 {
		t.Fatalf("CommitUpdate id = %d, want > 0", id)
	}
	if items := all(t, s); len(items) != 0 {
		t.Fatalf("an update without avatar or entries queued %s", kinds(items))
	}
	_, err := s.CurrentAvatar(t.Context(), "alice@example.org")
	mustErr(t, "CurrentAvatar with none", err, storage.ErrNotFound)
}

func testCommitRejectsBadAvatar(t *testing.T, s storage.Store) {
	bad := MakeAvatar("a", 100)
	bad.ID = MakeAvatar("b", 100).ID
	if _, err := s.CommitUpdate(t.Context(), update("k1", "alice@example.org", bad)); err == nil {
		t.Fatal("CommitUpdate accepted an avatar whose id is not the SHA-1 of its data")
	}
	u := update("k2", "alice@example.org", nil)
	u.Entries = []storage.Entry{{JID: "alice@example.org", Kind: storage.KindAvatar}}
	if _, err := s.CommitUpdate(t.Context(), u); err == nil {
		t.Fatal("CommitUpdate accepted an avatar entry without an avatar")
	}
	if items := all(t, s); len(items) != 0 {
		t.Fatalf("refused updates queued %s", kinds(items))
	}
	// The refused deliveries were not recorded as seen.
	commit(t, s, update("k1", "alice@example.org", MakeAvatar("a", 100)))
}

func testCurrentAvatar(t *testing.T, s storage.Store) {
	a, b := MakeAvatar("a", 100), MakeAvatar("b", 200)
	commit(t, s, update("k1", "alice@example.org", a))
	commit(t, s, update("k2", "bob@example.org", a)) // same picture, shared
	commit(t, s, update("k3", "alice@example.org", b))
	commit(t, s, update("k4", "alice@example.org", nil)) // status only: keeps b

	cur, err := s.CurrentAvatar(t.Context(), "alice@example.org")
	ok(t, "CurrentAvatar(alice)", err)
	sameAvatar(t, "CurrentAvatar(alice)", &cur, b)
	cur, err = s.CurrentAvatar(t.Context(), "bob@example.org")
	ok(t, "CurrentAvatar(bob)", err)
	sameAvatar(t, "CurrentAvatar(bob)", &cur, a)

	// A newer picture replaces the one still waiting for the same account:
	// publishing the older one later would put it back.
	var got []string
	for _, it := range all(t, s) {
		got = append(got, it.JID+"="+it.Avatar.ID)
	}
	want := []string{"bob@example.org=" + a.ID, "alice@example.org=" + b.ID}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("outbox = %v, want %v", got, want)
	}
}

func testCurrent(t *testing.T, s storage.Store) {
	_, err := s.Current(t.Context(), "alice@example.org")
	mustErr(t, "Current(none)", err, storage.ErrNotFound)

	a := MakeAvatar("a", 100)
	u := update("k1", "alice@example.org", a)
	u.Status, u.Nick = "at the beach", "Alice"
	before := time.Now()
	commit(t, s, u)
	after := time.Now()
	p, err := s.Current(t.Context(), "alice@example.org")
	ok(t, "Profile", err)
	if p.JID != "alice@example.org" || p.AvatarID != a.ID || p.Status != "at the beach" || p.Nick != "Alice" {
		t.Fatalf("Profile = %+v", p)
	}
	within(t, "Profile.Updated", p.Updated, before, after)

	// Fields an MMS did not carry keep their value.
	u = update("k2", "alice@example.org", nil)
	u.Status, u.Nick = "back home", ""
	commit(t, s, u)
	p2, err := s.Current(t.Context(), "alice@example.org")
	ok(t, "Profile", err)
	if p2.AvatarID != a.ID || p2.Status != "back home" || p2.Nick != "Alice" {
		t.Fatalf("Profile after a status-only update = %+v", p2)
	}
	if p2.Updated.Before(p.Updated) {
		t.Fatalf("Profile.Updated went back from %v to %v", p.Updated, p2.Updated)
	}
	b := MakeAvatar("b", 100)
	u = update("k3", "alice@example.org", b)
	u.Status, u.Nick = "", "Al"
	commit(t, s, u)
	p3, err := s.Current(t.Context(), "alice@example.org")
	ok(t, "Profile", err)
	if p3.AvatarID != b.ID || p3.Status != "back home" || p3.Nick != "Al" {
		t.Fatalf("Profile after a picture and nick = %+v", p3)
	}
	_, err = s.Current(t.Context(), "bob@example.org")
	mustErr(t, "Current(bob)", err, storage.ErrNotFound)
}

func testDuplicate(t *testing.T, s storage.Store) {
	a, b := MakeAvatar("a", 100), MakeAvatar("b", 100)
	u := update("k1", "alice@example.org", a)
	u.Nick = "Alice"
	first := commit(t, s, u)
	prof, err := s.Current(t.Context(), "alice@example.org")
	ok(t, "Profile", err)

	// A redelivery, even one that differs, changes nothing: no profile
	// change, no entries, no second update.
	again := update("k1", "alice@example.org", b)
	again.Status, again.Nick = "changed", "Mallory"
	again.Entries = []storage.Entry{
		{JID: "alice@example.org", Kind: storage.KindMessage, Payload: []byte("hi")},
		{JID: "", Kind: storage.KindReply, Payload: []byte("thanks")},
	}
	id, err := s.CommitUpdate(t.Context(), again)
	if !errors.Is(err, storage.ErrDuplicate) {
		t.Fatalf("second CommitUpdate = %d, %v; want ErrDuplicate", id, err)
	}
	if id != first {
		t.Fatalf("duplicate returned id %d, want the first id %d", id, first)
	}
	if items := all(t, s); len(items) != 1 || items[0].UpdateID != first {
		t.Fatalf("outbox after a duplicate = %s, want the first avatar only", kinds(items))
	}
	cur, err := s.CurrentAvatar(t.Context(), "alice@example.org")
	ok(t, "CurrentAvatar", err)
	sameAvatar(t, "CurrentAvatar after duplicate", &cur, a)
	if p, err := s.Current(t.Context(), "alice@example.org"); err != nil || p != prof {
		t.Fatalf("Profile after duplicate = %+v, %v; want %+v", p, err, prof)
	}
	if recs, err := s.RecentUpdates(t.Context(), "alice@example.org", 10); err != nil || len(recs) != 1 {
		t.Fatalf("RecentUpdates after duplicate = %+v, %v; want one", recs, err)
	}

	// The key is scoped by source.
	other := update("k1", "alice@example.org", b)
	other.Source = "email"
	if id := commit(t, s, other); id == first {
		t.Fatalf("same key from another source got the same id %d", id)
	}
}

func testEntriesWithUpdate(t *testing.T, s storage.Store) {
	a := MakeAvatar("a", 100)
	u := update("k1", "alice@example.org", a)
	u.Entries = []storage.Entry{
		{JID: "alice@example.org", Kind: storage.KindProfile, Payload: []byte(`{"status":"x"}`), Coalesce: true},
		{JID: "alice@example.org", Kind: storage.KindMessage, Payload: []byte("your picture is on its way")},
		{JID: "", Kind: storage.KindReply, Payload: []byte("thanks")},
	}
	id := commit(t, s, u)
	items := all(t, s)
	// Each account's entries in the order given, then the avatar added for
	// the picture; accounts in the order of their first entry.
	if got, want := kinds(items), "alice@example.org/profile alice@example.org/message alice@example.org/avatar /reply"; got != want {
		t.Fatalf("outbox = %q, want %q", got, want)
	}
	for _, it := range items {
		if it.UpdateID != id {
			t.Errorf("%s item has update %d, want %d", it.Kind, it.UpdateID, id)
		}
		if (it.Avatar != nil) != (it.Kind == storage.KindAvatar) {
			t.Errorf("%s item avatar = %v", it.Kind, it.Avatar)
		}
	}
	if !bytes.Equal(items[0].Payload, []byte(`{"status":"x"}`)) || string(items[3].Payload) != "thanks" {
		t.Fatalf("payloads = %q, %q", items[0].Payload, items[3].Payload)
	}
	sameAvatar(t, "avatar item", items[2].Avatar, a)

	// The added avatar entry coalesces: the next picture replaces it.
	b := MakeAvatar("b", 100)
	u2 := update("k2", "alice@example.org", b)
	u2.Entries = []storage.Entry{
		{JID: "alice@example.org", Kind: storage.KindProfile, Payload: []byte(`{"status":"y"}`), Coalesce: true},
		{JID: "alice@example.org", Kind: storage.KindMessage, Payload: []byte("again")},
	}
	id2 := commit(t, s, u2)
	items = all(t, s)
	want := "alice@example.org/message alice@example.org/profile alice@example.org/message alice@example.org/avatar /reply"
	if got := kinds(items); got != want {
		t.Fatalf("outbox = %q, want %q", got, want)
	}
	if items[1].UpdateID != id2 || string(items[1].Payload) != `{"status":"y"}` {
		t.Fatalf("profile item = %+v, want the second update's", items[1])
	}
	sameAvatar(t, "avatar item", items[3].Avatar, b)
}

func testExplicitAvatarEntry(t *testing.T, s storage.Store) {
	// An update may give its own avatar entry, e.g. without coalescing;
	// then no second one is added, and it still carries the picture.
	a, b := MakeAvatar("a", 100), MakeAvatar("b", 100)
	commit(t, s, update("k1", "alice@example.org", a))
	u := update("k2", "alice@example.org", b)
	u.Entries = []storage.Entry{{JID: "alice@example.org", Kind: storage.KindAvatar}}
	commit(t, s, u)
	items := all(t, s)
	if len(items) != 2 {
		t.Fatalf("outbox = %s, want both avatars", kinds(items))
	}
	sameAvatar(t, "first", items[0].Avatar, a)
	sameAvatar(t, "second", items[1].Avatar, b)
}

func testEnqueue(t *testing.T, s storage.Store) {
	ok(t, "Enqueue()", s.Enqueue(t.Context()))
	before := time.Now()
	ok(t, "Enqueue", s.Enqueue(t.Context(),
		storage.Entry{JID: "alice@example.org", Kind: storage.KindMessage, Payload: []byte("one")},
		storage.Entry{JID: "", Kind: storage.KindReply, Payload: []byte(`{"to":"+12025550001"}`)},
	))
	after := time.Now()
	items := all(t, s)
	if got, want := kinds(items), "alice@example.org/message /reply"; got != want {
		t.Fatalf("outbox = %q, want %q", got, want)
	}
	for _, it := range items {
		if it.UpdateID != 0 || it.Avatar != nil || it.Attempts != 0 {
			t.Errorf("enqueued item = %+v, want no update, no avatar", it)
		}
		within(t, "Created", it.Created, before, after)
	}
	if string(items[0].Payload) != "one" || string(items[1].Payload) != `{"to":"+12025550001"}` {
		t.Fatalf("payloads = %q, %q", items[0].Payload, items[1].Payload)
	}
	if items[0].ID >= items[1].ID {
		t.Fatalf("ids %d, %d: not in order", items[0].ID, items[1].ID)
	}
}

func testEnqueueAvatar(t *testing.T, s storage.Store) {
	// Republishing: an avatar entry on its own carries the current picture.
	err := s.Enqueue(t.Context(), storage.Entry{JID: "alice@example.org", Kind: storage.KindAvatar})
	mustErr(t, "Enqueue(avatar) with no picture", err, storage.ErrNotFound)
	a := MakeAvatar("a", 100)
	commit(t, s, update("k1", "alice@example.org", a))
	ok(t, "Enqueue", s.Enqueue(t.Context(), storage.Entry{JID: "alice@example.org", Kind: storage.KindAvatar}))
	items := all(t, s)
	if len(items) != 2 {
		t.Fatalf("outbox = %s, want two avatars", kinds(items))
	}
	sameAvatar(t, "enqueued avatar", items[1].Avatar, a)
}

func testCoalesce(t *testing.T, s storage.Store) {
	msg := func(jid, kind, payload string, coalesce bool) storage.Entry {
		return storage.Entry{JID: jid, Kind: kind, Payload: []byte(payload), Coalesce: coalesce}
	}
	ok(t, "Enqueue", s.Enqueue(t.Context(),
		msg("alice@example.org", storage.KindProfile, "p1", true),
		msg("alice@example.org", storage.KindMessage, "m1", false),
		msg("bob@example.org", storage.KindProfile, "b1", true),
	))
	old := all(t, s)
	// Same JID and kind, coalescing: replaces p1 only.
	ok(t, "Enqueue", s.Enqueue(t.Context(), msg("alice@example.org", storage.KindProfile, "p2", true)))
	// Not coalescing: adds, and replaces nothing.
	ok(t, "Enqueue", s.Enqueue(t.Context(), msg("alice@example.org", storage.KindMessage, "m2", false)))
	// Coalescing a kind whose pending items did not ask to: still replaced,
	// as the newest entry decides.
	ok(t, "Enqueue", s.Enqueue(t.Context(), msg("alice@example.org", storage.KindMessage, "m3", true)))

	var got []string
	for _, it := range all(t, s) {
		got = append(got, it.JID+"/"+string(it.Payload))
	}
	if g, want := joinSpace(got), "bob@example.org/b1 alice@example.org/p2 alice@example.org/m3"; g != want {
		t.Fatalf("outbox = %q, want %q", g, want)
	}
	// A publisher still holding a replaced item learns it is gone.
	err := s.OutboxDone(t.Context(), old[0].ID)
	mustErr(t, "OutboxDone(replaced)", err, storage.ErrNotFound)
	err = s.OutboxRetry(t.Context(), old[0].ID, time.Now(), "x")
	mustErr(t, "OutboxRetry(replaced)", err, storage.ErrNotFound)
	err = s.OutboxFail(t.Context(), old[0].ID, "x")
	mustErr(t, "OutboxFail(replaced)", err, storage.ErrNotFound)
}

func testCoalesceSparesFailed(t *testing.T, s storage.Store) {
	commit(t, s, update("k1", "alice@example.org", MakeAvatar("a", 100)))
	first := all(t, s)[0]
	ok(t, "OutboxFail", s.OutboxFail(t.Context(), first.ID, "forbidden"))
	commit(t, s, update("k2", "alice@example.org", MakeAvatar("b", 100)))
	// Coalescing replaces pending items only: the failure stays on record.
	failed, err := s.FailedOutbox(t.Context(), 10)
	if err != nil || len(failed) != 1 || failed[0].ID != first.ID || failed[0].LastError != "forbidden" {
		t.Fatalf("FailedOutbox = %+v, %v; want the first item", failed, err)
	}
	if n := len(all(t, s)); n != 1 {
		t.Fatalf("%d items pending, want 1", n)
	}
}

func testRecentUpdates(t *testing.T, s storage.Store) {
	recs, err := s.RecentUpdates(t.Context(), "alice@example.org", 10)
	if err != nil || len(recs) != 0 {
		t.Fatalf("RecentUpdates(none) = %v, %v", recs, err)
	}
	a, b, c := MakeAvatar("a", 100), MakeAvatar("b", 100), MakeAvatar("c", 100)
	received := time.Now().Add(-time.Minute).Truncate(precision)

	u1 := update("k1", "alice@example.org", a)
	u1.Nick, u1.Received = "Alice", received
	id1 := commit(t, s, u1)
	commit(t, s, update("other", "bob@example.org", a))
	id2 := commit(t, s, update("k2", "alice@example.org", nil)) // nothing to publish
	ok(t, "OutboxDone", s.OutboxDone(t.Context(), pending(t, s, "alice@example.org")[0].ID))
	id3 := commit(t, s, update("k3", "alice@example.org", b))
	id4 := commit(t, s, update("k4", "alice@example.org", c)) // replaces k3's avatar
	u5 := update("k5", "alice@example.org", nil)
	u5.Entries = []storage.Entry{{JID: "alice@example.org", Kind: storage.KindProfile, Payload: []byte("{}")}}
	id5 := commit(t, s, u5)

	state := func(want map[int64]string) {
		t.Helper()
		recs, err := s.RecentUpdates(t.Context(), "alice@example.org", 10)
		ok(t, "RecentUpdates", err)
		got := map[int64]string{}
		for _, r := range recs {
			got[r.ID] = r.State
			if r.Reason != "" {
				got[r.ID] += ":" + r.Reason
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("states = %v, want %v", got, want)
		}
	}
	state(map[int64]string{id1: "published", id2: "published", id3: "pending", id4: "pending", id5: "pending"})

	recs, err = s.RecentUpdates(t.Context(), "alice@example.org", 10)
	ok(t, "RecentUpdates", err)
	var order []int64
	for _, r := range recs {
		order = append(order, r.ID)
	}
	if fmt.Sprint(order) != fmt.Sprint([]int64{id5, id4, id3, id2, id1}) {
		t.Fatalf("RecentUpdates order = %v, want newest first", order)
	}
	r1 := recs[4]
	if r1.Source != "mm7" || r1.Number != "+12025550143" || r1.AvatarID != a.ID ||
		r1.Status != "status of k1" || r1.Nick != "Alice" || !r1.Received.Equal(received) {
		t.Fatalf("RecentUpdates record = %+v", r1)
	}
	if recs[3].AvatarID != "" {
		t.Fatalf("update without a picture has AvatarID %q", recs[3].AvatarID)
	}

	// k3's picture was never published itself; it shares the fate of
	// k4's, which replaced it.
	var avatarItem, profileItem storage.OutboxItem
	for _, it := range pending(t, s, "alice@example.org") {
		switch it.Kind {
		case storage.KindAvatar:
			avatarItem = it
		case storage.KindProfile:
			profileItem = it
		}
	}
	ok(t, "OutboxRetry", s.OutboxRetry(t.Context(), avatarItem.ID, time.Now(), "timeout"))
	state(map[int64]string{id1: "published", id2: "published", id3: "pending", id4: "pending", id5: "pending"})
	ok(t, "OutboxFail", s.OutboxFail(t.Context(), avatarItem.ID, "item-not-found"))
	state(map[int64]string{id1: "published", id2: "published", id3: "failed:item-not-found",
		id4: "failed:item-not-found", id5: "pending"})
	ok(t, "OutboxDone", s.OutboxDone(t.Context(), profileItem.ID))
	state(map[int64]string{id1: "published", id2: "published", id3: "failed:item-not-found",
		id4: "failed:item-not-found", id5: "published"})

	recs, err = s.RecentUpdates(t.Context(), "alice@example.org", 2)
	if err != nil || len(recs) != 2 || recs[0].ID != id5 || recs[1].ID != id4 {
		t.Fatalf("RecentUpdates(limit 2) = %+v, %v", recs, err)
	}
}

func testConcurrentCommit(t *testing.T, s storage.Store) {
	const workers, each = 8, 25
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		ids  = map[int64]bool{}
		errs []error
	)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				jid := fmt.Sprintf("user%d@example.org", w)
				key := fmt.Sprintf("w%d-%d", w, i)
				id, err := s.CommitUpdate(t.Context(), update(key, jid, MakeAvatar(key, 512)))
				mu.Lock()
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", key, err))
				}
				ids[id] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	if len(ids) != workers*each {
		t.Fatalf("%d distinct ids, want %d", len(ids), workers*each)
	}
	// One account per worker: each keeps only its newest picture pending.
	items := all(t, s)
	if len(items) != workers {
		t.Fatalf("outbox has %d items, want %d", len(items), workers)
	}
	for _, it := range items {
		if !ids[it.UpdateID] {
			t.Fatalf("outbox item for unknown update %d", it.UpdateID)
		}
		want := fmt.Sprintf("w%s-%d", strings.TrimSuffix(strings.TrimPrefix(it.JID, "user"), "@example.org"), each-1)
		if it.Avatar.ID != MakeAvatar(want, 512).ID {
			t.Fatalf("pending avatar of %s is not its newest (%s)", it.JID, want)
		}
	}
}

// ConcurrentDuplicate commits one delivery from several goroutines at once
// and checks that exactly one wins. Backends for several nodes should run
// it across two Stores too (see CommitDuplicateAcross).
func testConcurrentDuplicate(t *testing.T, s storage.Store) {
	CommitDuplicateAcross(t, []storage.Store{s}, 8)
}

// CommitDuplicateAcross commits the same delivery from workers goroutines
// spread over stores (two Stores on one database stand for two nodes) and
// checks that exactly one commit wins, the others report ErrDuplicate with
// the winner's id, and one avatar item is queued.
func CommitDuplicateAcross(t *testing.T, stores []storage.Store, workers int) {
	t.Helper()
	var (
		wg               sync.WaitGroup
		mu               sync.Mutex
		won, dup         int
		firstIDs, dupIDs = map[int64]bool{}, map[int64]bool{}
		unexpected       []error
		start            = make(chan struct{})
	)
	for w := range workers {
		s := stores[w%len(stores)]
		wg.Go(func() {
			<-start
			u := update("same", "alice@example.org", MakeAvatar("a", 512))
			u.Entries = []storage.Entry{{JID: "alice@example.org", Kind: storage.KindMessage, Payload: []byte("hi")}}
			id, err := s.CommitUpdate(t.Context(), u)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
				firstIDs[id] = true
			case errors.Is(err, storage.ErrDuplicate):
				dup++
				dupIDs[id] = true
			default:
				unexpected = append(unexpected, err)
			}
		})
	}
	close(start)
	wg.Wait()
	for _, err := range unexpected {
		t.Error(err)
	}
	if won != 1 || dup != workers-1 {
		t.Fatalf("%d committed and %d duplicates, want 1 and %d", won, dup, workers-1)
	}
	for id := range dupIDs {
		if !firstIDs[id] {
			t.Fatalf("duplicate returned id %d, not the first id %v", id, firstIDs)
		}
	}
	if got := kinds(all(t, stores[0])); got != "alice@example.org/message alice@example.org/avatar" {
		t.Fatalf("outbox = %q, want one update's entries", got)
	}
	if recs, err := stores[0].RecentUpdates(t.Context(), "alice@example.org", 10); err != nil || len(recs) != 1 {
		t.Fatalf("RecentUpdates = %d, %v; want one update", len(recs), err)
	}
}

// textUpdate is an update that queues nothing (no avatar, no entries), so
// Prune counts it once it is old: one row.
func textUpdate(key string, received time.Time) storage.Update {
	u := update(key, "alice@example.org", nil)
	u.Received = received
	return u
}

func inbound(key string, received time.Time) *storage.Inbound {
	return &storage.Inbound{Source: "mm7", Key: key, Sender: "+12025550143", JID: "alice@example.org", Outcome: "accepted", Received: received}
}

// An update's inbound record is committed with it, or not at all: a
// refused commit, a failed one and a duplicate leave no record behind.
func testCommitWithInbound(t *testing.T, s storage.Store) {
	old := time.Now().Add(-48 * time.Hour)
	u := textUpdate("k1", old)
	u.Inbound = inbound("k1", old)
	commit(t, s, u)
	// The log has no reader in Store: Prune shows what is there, the
	// update and its record.
	prune(t, s, time.Now(), 2)

	// A commit that fails writes no record either.
	bad := textUpdate("k2", old)
	bad.Avatar = MakeAvatar("a", 64)
	bad.Avatar.ID = "0000"
	bad.Inbound = inbound("k2", old)
	if _, err := s.CommitUpdate(t.Context(), bad); err == nil {
		t.Fatal("CommitUpdate with a bad avatar id succeeded")
	}
	prune(t, s, time.Now(), 0)

	// A duplicate commits nothing, its record neither: its caller logs
	// what became of it.
	first := textUpdate("k3", old)
	first.Inbound = inbound("k3", old)
	commit(t, s, first)
	again := textUpdate("k3", old)
	again.Inbound = inbound("k3", old)
	_, err := s.CommitUpdate(t.Context(), again)
	mustErr(t, "second CommitUpdate", err, storage.ErrDuplicate)
	prune(t, s, time.Now(), 2)
}

// An update's Limit takes its token in the commit: an empty bucket
// refuses the commit whole, and a duplicate is told so before the bucket
// is looked at.
func testCommitTakesToken(t *testing.T, s storage.Store) {
	old := time.Now().Add(-48 * time.Hour)
	r := storage.Rate{Per: time.Hour, Burst: 1}
	t0 := time.Now()
	limited := func(key string) storage.Update {
		u := textUpdate(key, old)
		u.Inbound = inbound(key, old)
		u.Limit = &storage.Take{Key: "updates:+12025550143", Rate: r, At: t0}
		return u
	}
	first := commit(t, s, limited("k1"))
	if got, wait, err := s.Check(t.Context(), "updates:+12025550143", r, t0); err != nil || got || wait != time.Hour {
		t.Fatalf("Check after the commit = %v, %v, %v; want the token taken, an hour to wait", got, wait, err)
	}

	id, err := s.CommitUpdate(t.Context(), limited("k2"))
	mustErr(t, "CommitUpdate past the limit", err, storage.ErrLimited)
	var le *storage.LimitError
	if !errors.As(err, &le) || le.Retry != time.Hour || le.Key != "updates:+12025550143" {
		t.Fatalf("CommitUpdate past the limit = %d, %v; want a *LimitError, an hour to wait", id, err)
	}
	if recs, err := s.RecentUpdates(t.Context(), "alice@example.org", 10); err != nil || len(recs) != 1 || recs[0].ID != first {
		t.Fatalf("RecentUpdates after a refused commit = %+v, %v; want the first only", recs, err)
	}

	// The same delivery again: a duplicate, not a refusal.
	id, err = s.CommitUpdate(t.Context(), limited("k1"))
	mustErr(t, "redelivery past the limit", err, storage.ErrDuplicate)
	if id != first {
		t.Fatalf("redelivery id %d, want %d", id, first)
	}
	// The refused and the duplicate left neither rows nor records; the
	// bucket (full again only in an hour) stays.
	prune(t, s, time.Now(), 2)

	// Without a Limit, nothing is taken or refused.
	commit(t, s, textUpdate("k4", old))
	bad := limited("k5")
	bad.Limit.Rate = storage.Rate{}
	if _, err := s.CommitUpdate(t.Context(), bad); err == nil || errors.Is(err, storage.ErrLimited) {
		t.Fatalf("CommitUpdate with an invalid rate = %v, want an error", err)
	}
}

// Two MMS of one sender at once with one token left: one commits, the
// other is refused, never both.
func testConcurrentCommitLimit(t *testing.T, s storage.Store) {
	const workers, burst = 8, 2
	r := storage.Rate{Per: time.Hour, Burst: burst}
	now := time.Now()
	var (
		wg                 sync.WaitGroup
		mu                 sync.Mutex
		committed, refused int
		unexpected         []error
		start              = make(chan struct{})
	)
	for w := range workers {
		wg.Go(func() {
			<-start
			u := update(fmt.Sprintf("w%d", w), "alice@example.org", MakeAvatar(fmt.Sprint(w), 256))
			u.Inbound = inbound(u.Key, now)
			u.Limit = &storage.Take{Key: "updates:+12025550143", Rate: r, At: now}
			_, err := s.CommitUpdate(t.Context(), u)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				committed++
			case errors.Is(err, storage.ErrLimited):
				refused++
			default:
				unexpected = append(unexpected, err)
			}
		})
	}
	close(start)
	wg.Wait()
	for _, err := range unexpected {
		t.Error(err)
	}
	if committed != burst || refused != workers-burst {
		t.Fatalf("%d committed and %d refused, want %d and %d", committed, refused, burst, workers-burst)
	}
	if recs, err := s.RecentUpdates(t.Context(), "alice@example.org", 100); err != nil || len(recs) != burst {
		t.Fatalf("RecentUpdates = %d, %v; want %d", len(recs), err, burst)
	}
}
