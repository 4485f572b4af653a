package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"mmsprofile/storage"
)

// Outbox checks storage.Outbox: due items in order, and each outcome of
// an attempt.
func Outbox(t *testing.T, open Open) {
	run(t, open, []test{
		{"DueOutboxLimitOrder", testDueOutboxLimitOrder},
		{"DueOutboxByAccount", testDueOutboxByAccount},
		{"OutboxRetry", testOutboxRetry},
		{"OutboxDone", testOutboxDone},
		{"OutboxFail", testOutboxFail},
		{"OutboxUnknownID", testOutboxUnknownID},
	})
}

func testDueOutboxLimitOrder(t *testing.T, s storage.Store) {
	var ids []int64
	for i := range 5 {
		ids = append(ids, commit(t, s, update(fmt.Sprint("k", i), fmt.Sprintf("user%d@example.org", i), MakeAvatar(fmt.Sprint(i), 64))))
	}
	items, err := s.DueOutbox(t.Context(), time.Now(), storage.Due(3))
	ok(t, "DueOutbox", err)
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
	items, err = s.DueOutbox(t.Context(), time.Now().Add(-time.Hour), storage.Due(10))
	if err != nil || len(items) != 0 {
		t.Fatalf("DueOutbox an hour ago = %d items, %v; want none", len(items), err)
	}
}

// testDueOutboxByAccount: an account's due items come together, so that
// the publisher can write them as one, with the accounts in the order of
// their oldest due item and each account's items in order.
func testDueOutboxByAccount(t *testing.T, s storage.Store) {
	// Queued in this order; "" is a reply to a phone, an account of its own.
	order := []string{"a", "b", "a", "", "c", "a", "b", "a", "c", ""}
	for i, acc := range order {
		jid := ""
		if acc != "" {
			jid = acc + "@example.org"
		}
		ok(t, "Enqueue", s.Enqueue(t.Context(), storage.Entry{JID: jid, Kind: storage.KindMessage, Payload: []byte(fmt.Sprint(acc, i))}))
	}
	got := func(lim storage.DueLimits) string {
		t.Helper()
		items, err := s.DueOutbox(t.Context(), time.Now(), lim)
		ok(t, "DueOutbox", err)
		var out []string
		for _, it := range items {
			out = append(out, string(it.Payload))
		}
		return strings.Join(out, " ")
	}
	for _, c := range []struct {
		lim  storage.DueLimits
		want string
	}{
		{storage.Due(10), "a0 a2 a5 a7 b1 b6 3 9 c4 c8"},
		{storage.DueLimits{Items: 10, Accounts: 10, PerAccount: 2}, "a0 a2 b1 b6 3 9 c4 c8"},
		{storage.DueLimits{Items: 5, Accounts: 10, PerAccount: 2}, "a0 a2 b1 b6 3"},
		{storage.DueLimits{Items: 6, Accounts: 10, PerAccount: 1}, "a0 b1 3 c4"},
		// Only the accounts of the oldest Accounts items are looked at:
		// a0 b1 a2 name two.
		{storage.DueLimits{Items: 10, Accounts: 3, PerAccount: 10}, "a0 a2 a5 a7 b1 b6"},
		{storage.DueLimits{Items: 10, Accounts: 1, PerAccount: 2}, "a0 a2"},
		{storage.DueLimits{Items: 3, Accounts: 10, PerAccount: 10}, "a0 a2 a5"},
	} {
		if g := got(c.lim); g != c.want {
			t.Errorf("DueOutbox(%+v) = %q, want %q", c.lim, g, c.want)
		}
	}

	// An item waiting for its retry holds back its account's later items,
	// which must not overtake it; a reply to a phone holds back no other.
	retry := func(payload string) {
		t.Helper()
		for _, it := range all(t, s) {
			if string(it.Payload) == payload {
				ok(t, "OutboxRetry", s.OutboxRetry(t.Context(), it.ID, time.Now().Add(time.Hour), "wait"))
				return
			}
		}
		t.Fatalf("no item %q", payload)
	}
	retry("b6")
	retry("a0")
	retry("3")
	if g, want := got(storage.DueLimits{Items: 10, Accounts: 10, PerAccount: 10}), "b1 c4 c8 9"; g != want {
		t.Errorf("with a0, b6 and 3 waiting, DueOutbox = %q, want %q", g, want)
	}
}

func testOutboxRetry(t *testing.T, s storage.Store) {
	commit(t, s, update("k1", "alice@example.org", MakeAvatar("a", 64)))
	it := all(t, s)[0]

	// A zone other than UTC must not shift the time.
	zone := time.FixedZone("UTC+5", 5*3600)
	next := time.Now().Add(time.Hour).Truncate(precision).In(zone)
	ok(t, "OutboxRetry", s.OutboxRetry(t.Context(), it.ID, next, "server said wait"))
	items, err := s.DueOutbox(t.Context(), next.Add(-precision), storage.Due(10))
	if err != nil || len(items) != 0 {
		t.Fatalf("DueOutbox just before the next attempt = %d items, %v; want none", len(items), err)
	}
	items, err = s.DueOutbox(t.Context(), next.UTC(), storage.Due(10))
	if err != nil || len(items) != 1 {
		t.Fatalf("DueOutbox at the next attempt = %d items, %v; want 1", len(items), err)
	}
	if items[0].Attempts != 1 || items[0].LastError != "server said wait" || !items[0].NextAttempt.Equal(next) {
		t.Fatalf("after a retry: %+v", items[0])
	}
	sameAvatar(t, "avatar after retry", items[0].Avatar, it.Avatar)

	ok(t, "OutboxRetry", s.OutboxRetry(t.Context(), it.ID, next.Add(time.Minute), "timeout"))
	if got := all(t, s)[0]; got.Attempts != 2 || got.LastError != "timeout" {
		t.Fatalf("after two retries: %+v", got)
	}
}

func testOutboxDone(t *testing.T, s storage.Store) {
	commit(t, s, update("k1", "alice@example.org", MakeAvatar("a", 64)))
	commit(t, s, update("k2", "bob@example.org", MakeAvatar("b", 64)))
	items := all(t, s)
	ok(t, "OutboxDone", s.OutboxDone(t.Context(), items[0].ID))
	left := all(t, s)
	if len(left) != 1 || left[0].ID != items[1].ID {
		t.Fatalf("after OutboxDone the outbox is %+v, want only item %d", left, items[1].ID)
	}
	mustErr(t, "OutboxDone twice", s.OutboxDone(t.Context(), items[0].ID), storage.ErrNotFound)
	// The update itself stays: its delivery is still a duplicate.
	_, err := s.CommitUpdate(t.Context(), update("k1", "alice@example.org", MakeAvatar("a", 64)))
	mustErr(t, "redelivery after publishing", err, storage.ErrDuplicate)
	// A new item never reuses a finished one's id.
	commit(t, s, update("k3", "alice@example.org", MakeAvatar("c", 64)))
	for _, it := range all(t, s) {
		if it.ID == items[0].ID {
			t.Fatalf("id %d reused", it.ID)
		}
	}

	// Several at once: those still pending are done even when one is gone.
	ok(t, "Enqueue", s.Enqueue(t.Context(),
		storage.Entry{JID: "carol@example.org", Kind: storage.KindMessage, Payload: []byte("1")},
		storage.Entry{JID: "carol@example.org", Kind: storage.KindMessage, Payload: []byte("2")}))
	var ids []int64
	for _, it := range all(t, s) {
		ids = append(ids, it.ID)
	}
	if len(ids) != 4 {
		t.Fatalf("outbox has %d items, want 4", len(ids))
	}
	ok(t, "OutboxDone(3 of 4)", s.OutboxDone(t.Context(), ids[1:]...))
	if left := all(t, s); len(left) != 1 || left[0].ID != ids[0] {
		t.Fatalf("after OutboxDone of three the outbox is %+v, want only item %d", left, ids[0])
	}
	mustErr(t, "OutboxDone with one done already", s.OutboxDone(t.Context(), ids[0], ids[1]), storage.ErrNotFound)
	if left := all(t, s); len(left) != 0 {
		t.Fatalf("after OutboxDone with one done already the outbox is %+v, want it empty", left)
	}
}

func testOutboxFail(t *testing.T, s storage.Store) {
	commit(t, s, update("k1", "alice@example.org", MakeAvatar("a", 64)))
	it := all(t, s)[0]
	ok(t, "OutboxFail", s.OutboxFail(t.Context(), it.ID, "not authorized"))
	if items := all(t, s); len(items) != 0 {
		t.Fatalf("a failed item is still due: %+v", items)
	}
	// A failed item can be neither retried, failed again nor done.
	mustErr(t, "OutboxRetry of a failed item", s.OutboxRetry(t.Context(), it.ID, time.Now(), "again"), storage.ErrNotFound)
	mustErr(t, "OutboxFail of a failed item", s.OutboxFail(t.Context(), it.ID, "again"), storage.ErrNotFound)
	mustErr(t, "OutboxDone of a failed item", s.OutboxDone(t.Context(), it.ID), storage.ErrNotFound)
	failed, err := s.FailedOutbox(t.Context(), 10)
	if err != nil || len(failed) != 1 || failed[0].LastError != "not authorized" {
		t.Fatalf("FailedOutbox = %+v, %v", failed, err)
	}
}

func testFailedOutbox(t *testing.T, s storage.Store) {
	if failed, err := s.FailedOutbox(t.Context(), 10); err != nil || len(failed) != 0 {
		t.Fatalf("FailedOutbox(empty) = %v, %v", failed, err)
	}
	a := MakeAvatar("a", 64)
	id := commit(t, s, update("k1", "alice@example.org", a))
	ok(t, "Enqueue", s.Enqueue(t.Context(), storage.Entry{JID: "bob@example.org", Kind: storage.KindMessage, Payload: []byte("hi")}))
	ok(t, "Enqueue", s.Enqueue(t.Context(), storage.Entry{JID: "carol@example.org", Kind: storage.KindMessage, Payload: []byte("yo")}))
	items := all(t, s)
	ok(t, "OutboxRetry", s.OutboxRetry(t.Context(), items[0].ID, time.Now(), "timeout"))
	before := time.Now()
	ok(t, "OutboxFail", s.OutboxFail(t.Context(), items[0].ID, "forbidden"))
	time.Sleep(2 * precision) // distinct failure times
	ok(t, "OutboxFail", s.OutboxFail(t.Context(), items[1].ID, "item-not-found"))
	after := time.Now()

	failed, err := s.FailedOutbox(t.Context(), 10)
	ok(t, "FailedOutbox", err)
	if len(failed) != 2 || failed[0].ID != items[1].ID || failed[1].ID != items[0].ID {
		t.Fatalf("FailedOutbox = %s, want newest first", kinds(failed))
	}
	f := failed[1]
	if f.UpdateID != id || f.Kind != storage.KindAvatar || f.Attempts != 2 || f.LastError != "forbidden" {
		t.Fatalf("failed item = %+v", f)
	}
	sameAvatar(t, "failed avatar", f.Avatar, a)
	within(t, "FailedAt", f.FailedAt, before, after)
	if string(failed[0].Payload) != "hi" || failed[0].LastError != "item-not-found" {
		t.Fatalf("failed message = %+v", failed[0])
	}
	if failed, err := s.FailedOutbox(t.Context(), 1); err != nil || len(failed) != 1 || failed[0].ID != items[1].ID {
		t.Fatalf("FailedOutbox(1) = %s, %v", kinds(failed), err)
	}
}

func testOutboxStats(t *testing.T, s storage.Store) {
	st, err := s.OutboxStats(t.Context())
	if err != nil || st != (storage.OutboxStats{}) {
		t.Fatalf("OutboxStats(empty) = %+v, %v", st, err)
	}
	before := time.Now()
	commit(t, s, update("k1", "alice@example.org", MakeAvatar("a", 64)))
	after := time.Now()
	commit(t, s, update("k2", "bob@example.org", MakeAvatar("b", 64)))
	ok(t, "Enqueue", s.Enqueue(t.Context(), storage.Entry{JID: "carol@example.org", Kind: storage.KindMessage}))
	items := all(t, s)

	st, err = s.OutboxStats(t.Context())
	ok(t, "OutboxStats", err)
	if st.Pending != 3 || st.Failed != 0 {
		t.Fatalf("OutboxStats = %+v, want 3 pending", st)
	}
	within(t, "Oldest", st.Oldest, before, after)
	if !st.Oldest.Equal(items[0].Created) {
		t.Fatalf("Oldest = %v, want the first item's %v", st.Oldest, items[0].Created)
	}

	ok(t, "OutboxFail", s.OutboxFail(t.Context(), items[0].ID, "x"))
	ok(t, "OutboxDone", s.OutboxDone(t.Context(), items[1].ID))
	// Retried items are still pending.
	ok(t, "OutboxRetry", s.OutboxRetry(t.Context(), items[2].ID, time.Now().Add(time.Hour), "x"))
	st, err = s.OutboxStats(t.Context())
	ok(t, "OutboxStats", err)
	if st.Pending != 1 || st.Failed != 1 || !st.Oldest.Equal(items[2].Created) {
		t.Fatalf("OutboxStats = %+v, want 1 pending since %v, 1 failed", st, items[2].Created)
	}
	ok(t, "OutboxDone", s.OutboxDone(t.Context(), items[2].ID))
	st, err = s.OutboxStats(t.Context())
	if err != nil || st.Pending != 0 || st.Failed != 1 || !st.Oldest.IsZero() {
		t.Fatalf("OutboxStats = %+v, %v; want 0 pending, no oldest", st, err)
	}
}

func testOutboxUnknownID(t *testing.T, s storage.Store) {
	ctx := t.Context()
	const id = 424242
	mustErr(t, "OutboxDone(unknown)", s.OutboxDone(ctx, id), storage.ErrNotFound)
	mustErr(t, "OutboxRetry(unknown)", s.OutboxRetry(ctx, id, time.Now(), "x"), storage.ErrNotFound)
	mustErr(t, "OutboxFail(unknown)", s.OutboxFail(ctx, id, "x"), storage.ErrNotFound)
}
