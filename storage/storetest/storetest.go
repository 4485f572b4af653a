package storetest

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"mmsprofile/storage"
)

// Inspector is implemented by backends that can show what storage.Store
// hides: the reason kept on an outbox item and whether it was given up on.
// The suite checks reasons only when the backend implements it.
type Inspector interface {
	OutboxError(ctx context.Context, id int64) (reason string, failed bool, err error)
}

// precision is the coarsest timestamp resolution a backend may keep
// (PostgreSQL's timestamptz); times are compared after truncating to it.
const precision = time.Microsecond

// Run runs the suite. open must return a new, empty Store each time it is
// called and arrange for its Close with t.Cleanup; subtests run in parallel,
// each on a Store of its own.
func Run(t *testing.T, open func(t *testing.T) storage.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s storage.Store)
	}{
		{"LinksAddList", testLinksAddList},
		{"LinkIdempotent", testLinkIdempotent},
		{"LinkConflict", testLinkConflict},
		{"LinkNotFound", testLinkNotFound},
		{"RemoveLinks", testRemoveLinks},
		{"CommitUpdate", testCommitUpdate},
		{"CommitWithoutAvatar", testCommitWithoutAvatar},
		{"CurrentAvatar", testCurrentAvatar},
		{"Duplicate", testDuplicate},
		{"DueOutboxLimitOrder", testDueOutboxLimitOrder},
		{"OutboxRetry", testOutboxRetry},
		{"OutboxDone", testOutboxDone},
		{"OutboxFail", testOutboxFail},
		{"OutboxUnknownID", testOutboxUnknownID},
		{"ConcurrentCommit", testConcurrentCommit},
		{"ConcurrentDuplicate", testConcurrentDuplicate},
		{"ContextCanceled", testContextCanceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

// MakeAvatar returns a deterministic avatar of n bytes derived from seed.
func MakeAvatar(seed string, n int) *storage.Avatar {
	data := make([]byte, 0, n+sha1.Size)
	h := sha1.Sum([]byte(seed))
	for len(data) < n {
		data = append(data, h[:]...)
		h = sha1.Sum(h[:])
	}
	data = data[:n]
	sum := sha1.Sum(data)
	return &storage.Avatar{
		ID:     hex.EncodeToString(sum[:]),
		Type:   "image/png",
		Width:  128,
		Height: 128,
		Data:   data,
	}
}

func update(key, jid string, av *storage.Avatar) storage.Update {
	return storage.Update{
		Source:   "mm7",
		Key:      key,
		JID:      jid,
		Number:   "+12025550143",
		Avatar:   av,
		Status:   "status of " + key,
		Received: time.Now(),
	}
}

func commit(t *testing.T, s storage.Store, u storage.Update) int64 {
	t.Helper()
	id, err := s.CommitUpdate(t.Context(), u)
	if err != nil {
		t.Fatalf("CommitUpdate(%s/%s): %v", u.Source, u.Key, err)
	}
	return id
}

// all returns every pending outbox item, due or not.
func all(t *testing.T, s storage.Store) []storage.OutboxItem {
	t.Helper()
	items, err := s.DueOutbox(t.Context(), time.Now().Add(1000*time.Hour), 100000)
	if err != nil {
		t.Fatalf("DueOutbox: %v", err)
	}
	return items
}

func addLink(t *testing.T, s storage.Store, jid, number string) {
	t.Helper()
	if err := s.AddLink(t.Context(), jid, number); err != nil {
		t.Fatalf("AddLink(%s, %s): %v", jid, number, err)
	}
}

func sameAvatar(t *testing.T, what string, got, want *storage.Avatar) {
	t.Helper()
	switch {
	case got == nil && want == nil:
		return
	case got == nil || want == nil:
		t.Fatalf("%s: avatar = %v, want %v", what, got, want)
	}
	if got.ID != want.ID || got.Type != want.Type || got.Width != want.Width ||
		got.Height != want.Height || !bytes.Equal(got.Data, want.Data) {
		t.Fatalf("%s: avatar = {%s %s %dx%d %d bytes}, want {%s %s %dx%d %d bytes}", what,
			got.ID, got.Type, got.Width, got.Height, len(got.Data),
			want.ID, want.Type, want.Width, want.Height, len(want.Data))
	}
}

// within fails unless before <= got <= after at the backend's precision.
func within(t *testing.T, what string, got, before, after time.Time) {
	t.Helper()
	if got.IsZero() {
		t.Fatalf("%s is zero", what)
	}
	if got.Before(before.Truncate(precision)) || got.After(after) {
		t.Fatalf("%s = %v, want between %v and %v", what, got, before, after)
	}
}

func testLinksAddList(t *testing.T, s storage.Store) {
	before := time.Now()
	// Added out of order so the listing's ordering is tested.
	addLink(t, s, "bob@example.org", "+12025550003")
	addLink(t, s, "alice@example.org", "+12025550002")
	addLink(t, s, "alice@example.org", "+12025550001")
	after := time.Now()

	links, err := s.Links(t.Context())
	if err != nil {
		t.Fatalf("Links: %v", err)
	}
	want := []storage.Link{
		{JID: "alice@example.org", Number: "+12025550001"},
		{JID: "alice@example.org", Number: "+12025550002"},
		{JID: "bob@example.org", Number: "+12025550003"},
	}
	if len(links) != len(want) {
		t.Fatalf("Links = %v, want %v", links, want)
	}
	for i, l := range links {
		if l.JID != want[i].JID || l.Number != want[i].Number {
			t.Fatalf("Links[%d] = %s %s, want %s %s", i, l.JID, l.Number, want[i].JID, want[i].Number)
		}
		within(t, fmt.Sprintf("Links[%d].Created", i), l.Created, before, after)
	}

	l, err := s.LinkByNumber(t.Context(), "+12025550002")
	if err != nil {
		t.Fatalf("LinkByNumber: %v", err)
	}
	if l.JID != "alice@example.org" || l.Number != "+12025550002" {
		t.Fatalf("LinkByNumber = %+v", l)
	}
	within(t, "LinkByNumber.Created", l.Created, before, after)
}

func testLinkIdempotent(t *testing.T, s storage.Store) {
	addLink(t, s, "alice@example.org", "+12025550001")
	first, err := s.LinkByNumber(t.Context(), "+12025550001")
	if err != nil {
		t.Fatalf("LinkByNumber: %v", err)
	}
	// Linking the same pair again is a no-op, not a conflict, and keeps
	// the original creation time.
	addLink(t, s, "alice@example.org", "+12025550001")
	links, err := s.Links(t.Context())
	if err != nil {
		t.Fatalf("Links: %v", err)
	}
	if len(links) != 1 {
		t.Fatalf("Links = %v, want one", links)
	}
	if !links[0].Created.Equal(first.Created) {
		t.Fatalf("Created changed from %v to %v", first.Created, links[0].Created)
	}
}

func testLinkConflict(t *testing.T, s storage.Store) {
	addLink(t, s, "alice@example.org", "+12025550001")
	err := s.AddLink(t.Context(), "mallory@example.org", "+12025550001")
	if !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("AddLink of a linked number to another JID = %v, want ErrConflict", err)
	}
	l, err := s.LinkByNumber(t.Context(), "+12025550001")
	if err != nil {
		t.Fatalf("LinkByNumber: %v", err)
	}
	if l.JID != "alice@example.org" {
		t.Fatalf("link now belongs to %s", l.JID)
	}
}

func testLinkNotFound(t *testing.T, s storage.Store) {
	_, err := s.LinkByNumber(t.Context(), "+12025550009")
	if !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("LinkByNumber(unknown) = %v, want ErrNotFound", err)
	}
	links, err := s.Links(t.Context())
	if err != nil || len(links) != 0 {
		t.Fatalf("Links on an empty store = %v, %v", links, err)
	}
}

func testRemoveLinks(t *testing.T, s storage.Store) {
	addLink(t, s, "alice@example.org", "+12025550001")
	addLink(t, s, "alice@example.org", "+12025550002")
	addLink(t, s, "bob@example.org", "+12025550003")

	remove := func(key string, want int) {
		t.Helper()
		n, err := s.RemoveLinks(t.Context(), key)
		if err != nil || n != want {
			t.Fatalf("RemoveLinks(%s) = %d, %v; want %d, nil", key, n, err, want)
		}
	}
	remove("alice@example.org", 2)
	remove("alice@example.org", 0)
	remove("+12025550003", 1)
	remove("+12025550009", 0)

	for _, n := range []string{"+12025550001", "+12025550002", "+12025550003"} {
		if _, err := s.LinkByNumber(t.Context(), n); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("LinkByNumber(%s) after removal = %v, want ErrNotFound", n, err)
		}
	}
	// A freed number may be linked to someone else.
	addLink(t, s, "carol@example.org", "+12025550001")
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
	if err != nil {
		t.Fatalf("CurrentAvatar: %v", err)
	}
	sameAvatar(t, "CurrentAvatar", &cur, av)

	items, err := s.DueOutbox(t.Context(), time.Now(), 10)
	if err != nil {
		t.Fatalf("DueOutbox: %v", err)
	}
	if len(items) != 1 {
		t.Fatalf("DueOutbox = %d items, want 1", len(items))
	}
	it := items[0]
	if it.ID <= 0 || it.UpdateID != id || it.JID != "alice@example.org" ||
		it.Kind != storage.KindAvatar || it.Attempts != 0 {
		t.Fatalf("outbox item = %+v, want update %d, alice, avatar, 0 attempts", it, id)
	}
	sameAvatar(t, "outbox avatar", it.Avatar, av)
	within(t, "outbox Created", it.Created, before, after)
}

func testCommitWithoutAvatar(t *testing.T, s storage.Store) {
	id := commit(t, s, update("k1", "alice@example.org", nil))
	if id <= 0 {
		t.Fatalf("CommitUpdate id = %d, want > 0", id)
	}
	for _, it := range all(t, s) {
		if it.Kind == storage.KindAvatar {
			t.Fatalf("update without avatar queued an avatar item: %+v", it)
		}
	}
	if _, err := s.CurrentAvatar(t.Context(), "alice@example.org"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("CurrentAvatar with none = %v, want ErrNotFound", err)
	}
}

func testCurrentAvatar(t *testing.T, s storage.Store) {
	a, b := MakeAvatar("a", 100), MakeAvatar("b", 200)
	commit(t, s, update("k1", "alice@example.org", a))
	commit(t, s, update("k2", "bob@example.org", a)) // same picture, shared
	commit(t, s, update("k3", "alice@example.org", b))
	commit(t, s, update("k4", "alice@example.org", nil)) // status only: keeps b

	cur, err := s.CurrentAvatar(t.Context(), "alice@example.org")
	if err != nil {
		t.Fatalf("CurrentAvatar(alice): %v", err)
	}
	sameAvatar(t, "CurrentAvatar(alice)", &cur, b)
	cur, err = s.CurrentAvatar(t.Context(), "bob@example.org")
	if err != nil {
		t.Fatalf("CurrentAvatar(bob): %v", err)
	}
	sameAvatar(t, "CurrentAvatar(bob)", &cur, a)

	// A newer picture replaces the one still waiting for the same account:
	// publishing the older one later would put it back.
	var got []string
	for _, it := range all(t, s) {
		if it.Kind == storage.KindAvatar {
			got = append(got, it.JID+"="+it.Avatar.ID)
		}
	}
	want := []string{"bob@example.org=" + a.ID, "alice@example.org=" + b.ID}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("outbox = %v, want %v", got, want)
	}
}

func testDuplicate(t *testing.T, s storage.Store) {
	a, b := MakeAvatar("a", 100), MakeAvatar("b", 100)
	first := commit(t, s, update("k1", "alice@example.org", a))

	// A redelivery, even one that differs, changes nothing.
	again := update("k1", "alice@example.org", b)
	id, err := s.CommitUpdate(t.Context(), again)
	if !errors.Is(err, storage.ErrDuplicate) {
		t.Fatalf("second CommitUpdate = %d, %v; want ErrDuplicate", id, err)
	}
	if id != first {
		t.Fatalf("duplicate returned id %d, want the first id %d", id, first)
	}
	if n := len(all(t, s)); n != 1 {
		t.Fatalf("outbox has %d items after a duplicate, want 1", n)
	}
	cur, err := s.CurrentAvatar(t.Context(), "alice@example.org")
	if err != nil {
		t.Fatalf("CurrentAvatar: %v", err)
	}
	sameAvatar(t, "CurrentAvatar after duplicate", &cur, a)

	// The key is scoped by source.
	other := update("k1", "alice@example.org", b)
	other.Source = "email"
	if id := commit(t, s, other); id == first {
		t.Fatalf("same key from another source got the same id %d", id)
	}
}

func testDueOutboxLimitOrder(t *testing.T, s storage.Store) {
	var ids []int64
	for i := range 5 {
		ids = append(ids, commit(t, s, update(fmt.Sprint("k", i), fmt.Sprintf("user%d@example.org", i), MakeAvatar(fmt.Sprint(i), 64))))
	}
	items, err := s.DueOutbox(t.Context(), time.Now(), 3)
	if err != nil {
		t.Fatalf("DueOutbox: %v", err)
	}
	if len(items) != 3 {
		t.Fatalf("DueOutbox(limit 3) = %d items", len(items))
	}
	// Oldest first, so one account's updates are published in order.
	for i, it := range items {
		if it.UpdateID != ids[i] {
			t.Fatalf("DueOutbox[%d] is update %d, want %d", i, it.UpdateID, ids[i])
		}
	}
	// Nothing is due before it was committed.
	items, err = s.DueOutbox(t.Context(), time.Now().Add(-time.Hour), 10)
	if err != nil || len(items) != 0 {
		t.Fatalf("DueOutbox an hour ago = %d items, %v; want none", len(items), err)
	}
}

func testOutboxRetry(t *testing.T, s storage.Store) {
	commit(t, s, update("k1", "alice@example.org", MakeAvatar("a", 64)))
	it := all(t, s)[0]

	// A zone other than UTC must not shift the time.
	zone := time.FixedZone("UTC+5", 5*3600)
	next := time.Now().Add(time.Hour).Truncate(precision).In(zone)
	if err := s.OutboxRetry(t.Context(), it.ID, next, "server said wait"); err != nil {
		t.Fatalf("OutboxRetry: %v", err)
	}
	items, err := s.DueOutbox(t.Context(), next.Add(-precision), 10)
	if err != nil || len(items) != 0 {
		t.Fatalf("DueOutbox just before the next attempt = %d items, %v; want none", len(items), err)
	}
	items, err = s.DueOutbox(t.Context(), next.UTC(), 10)
	if err != nil || len(items) != 1 {
		t.Fatalf("DueOutbox at the next attempt = %d items, %v; want 1", len(items), err)
	}
	if items[0].Attempts != 1 {
		t.Fatalf("Attempts = %d, want 1", items[0].Attempts)
	}
	sameAvatar(t, "avatar after retry", items[0].Avatar, it.Avatar)

	if err := s.OutboxRetry(t.Context(), it.ID, next.Add(time.Minute), "timeout"); err != nil {
		t.Fatalf("OutboxRetry: %v", err)
	}
	if got := all(t, s)[0].Attempts; got != 2 {
		t.Fatalf("Attempts = %d, want 2", got)
	}
	checkReason(t, s, it.ID, "timeout", false)
}

func testOutboxDone(t *testing.T, s storage.Store) {
	commit(t, s, update("k1", "alice@example.org", MakeAvatar("a", 64)))
	commit(t, s, update("k2", "bob@example.org", MakeAvatar("b", 64)))
	items := all(t, s)
	if err := s.OutboxDone(t.Context(), items[0].ID); err != nil {
		t.Fatalf("OutboxDone: %v", err)
	}
	left := all(t, s)
	if len(left) != 1 || left[0].ID != items[1].ID {
		t.Fatalf("after OutboxDone the outbox is %+v, want only item %d", left, items[1].ID)
	}
	if err := s.OutboxDone(t.Context(), items[0].ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("OutboxDone twice = %v, want ErrNotFound", err)
	}
	// The update itself stays: its delivery is still a duplicate.
	if _, err := s.CommitUpdate(t.Context(), update("k1", "alice@example.org", MakeAvatar("a", 64))); !errors.Is(err, storage.ErrDuplicate) {
		t.Fatalf("redelivery after publishing = %v, want ErrDuplicate", err)
	}
}

func testOutboxFail(t *testing.T, s storage.Store) {
	commit(t, s, update("k1", "alice@example.org", MakeAvatar("a", 64)))
	it := all(t, s)[0]
	if err := s.OutboxFail(t.Context(), it.ID, "not authorized"); err != nil {
		t.Fatalf("OutboxFail: %v", err)
	}
	if items := all(t, s); len(items) != 0 {
		t.Fatalf("a failed item is still due: %+v", items)
	}
	checkReason(t, s, it.ID, "not authorized", true)
	// A failed item can be neither retried nor failed again.
	if err := s.OutboxRetry(t.Context(), it.ID, time.Now(), "again"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("OutboxRetry of a failed item = %v, want ErrNotFound", err)
	}
	if err := s.OutboxFail(t.Context(), it.ID, "again"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("OutboxFail of a failed item = %v, want ErrNotFound", err)
	}
	checkReason(t, s, it.ID, "not authorized", true)
}

func checkReason(t *testing.T, s storage.Store, id int64, want string, wantFailed bool) {
	t.Helper()
	in, ok := s.(Inspector)
	if !ok {
		t.Logf("%T does not implement storetest.Inspector; reason not checked", s)
		return
	}
	reason, failed, err := in.OutboxError(t.Context(), id)
	if err != nil {
		t.Fatalf("OutboxError(%d): %v", id, err)
	}
	if reason != want || failed != wantFailed {
		t.Fatalf("OutboxError(%d) = %q, failed %v; want %q, failed %v", id, reason, failed, want, wantFailed)
	}
}

func testOutboxUnknownID(t *testing.T, s storage.Store) {
	ctx := t.Context()
	const id = 424242
	if err := s.OutboxDone(ctx, id); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("OutboxDone(unknown) = %v, want ErrNotFound", err)
	}
	if err := s.OutboxRetry(ctx, id, time.Now(), "x"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("OutboxRetry(unknown) = %v, want ErrNotFound", err)
	}
	if err := s.OutboxFail(ctx, id, "x"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("OutboxFail(unknown) = %v, want ErrNotFound", err)
	}
	if in, ok := s.(Inspector); ok {
		if _, _, err := in.OutboxError(ctx, id); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("OutboxError(unknown) = %v, want ErrNotFound", err)
		}
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

func testConcurrentDuplicate(t *testing.T, s storage.Store) {
	const workers = 8
	var (
		wg               sync.WaitGroup
		mu               sync.Mutex
		ok, dup          int
		firstIDs, dupIDs = map[int64]bool{}, map[int64]bool{}
		unexpected       []error
	)
	for range workers {
		wg.Go(func() {
			id, err := s.CommitUpdate(t.Context(), update("same", "alice@example.org", MakeAvatar("a", 512)))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
				firstIDs[id] = true
			case errors.Is(err, storage.ErrDuplicate):
				dup++
				dupIDs[id] = true
			default:
				unexpected = append(unexpected, err)
			}
		})
	}
	wg.Wait()
	for _, err := range unexpected {
		t.Error(err)
	}
	if ok != 1 || dup != workers-1 {
		t.Fatalf("%d committed and %d duplicates, want 1 and %d", ok, dup, workers-1)
	}
	for id := range dupIDs {
		if !firstIDs[id] {
			t.Fatalf("duplicate returned id %d, not the first id %v", id, firstIDs)
		}
	}
	if n := len(all(t, s)); n != 1 {
		t.Fatalf("outbox has %d items, want 1", n)
	}
}

func testContextCanceled(t *testing.T, s storage.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	canceled := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a canceled context = %v, want context.Canceled", what, err)
		}
	}
	canceled("AddLink", s.AddLink(ctx, "alice@example.org", "+12025550001"))
	_, err := s.CommitUpdate(ctx, update("k1", "alice@example.org", MakeAvatar("a", 64)))
	canceled("CommitUpdate", err)
	_, err = s.Links(ctx)
	canceled("Links", err)
	_, err = s.LinkByNumber(ctx, "+12025550001")
	canceled("LinkByNumber", err)
	_, err = s.DueOutbox(ctx, time.Now(), 10)
	canceled("DueOutbox", err)

	// Nothing was written, and the store still works.
	if _, err := s.LinkByNumber(t.Context(), "+12025550001"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("link written despite canceled context: %v", err)
	}
	if n := len(all(t, s)); n != 0 {
		t.Errorf("outbox has %d items after a canceled commit", n)
	}
	commit(t, s, update("k1", "alice@example.org", MakeAvatar("a", 64)))
}
