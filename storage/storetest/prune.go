package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"mmsprofile/storage"
)

// InboundLog checks storage.InboundLog.
func InboundLog(t *testing.T, open Open) {
	run(t, open, []test{
		{"LogInbound", testLogInbound},
	})
}

// Maintenance checks storage.Maintenance: health, schema, the backlog's
// counts and what pruning drops and keeps.
func Maintenance(t *testing.T, open Open) {
	run(t, open, []test{
		{"FailedOutbox", testFailedOutbox},
		{"OutboxStats", testOutboxStats},
		{"Prune", testPrune},
		{"PruneKeepsNeededAvatars", testPruneKeepsNeededAvatars},
		{"PruneKeepsNeededRenditions", testPruneKeepsNeededRenditions},
		{"PingSchema", testPingSchema},
	})
}

func testLogInbound(t *testing.T, s storage.Store) {
	for _, in := range []storage.Inbound{
		{Source: "mm7", Key: "m1", Sender: "+12025550001", JID: "alice@example.org", Outcome: "accepted", Received: time.Now()},
		{Source: "mm7", Key: "m1", Sender: "+12025550001", JID: "alice@example.org", Outcome: "duplicate", Received: time.Now()},
		{Source: "email", Key: "<x@example.net>", Sender: "+12025550009", Outcome: "refused", Reason: "number not linked"},
	} {
		ok(t, "LogInbound", s.LogInbound(t.Context(), in))
	}
	// The log has no reader in Store; Prune shows the rows are there.
	n, err := s.Prune(t.Context(), time.Now().Add(time.Hour))
	if err != nil || n != 3 {
		t.Fatalf("Prune = %d, %v; want the 3 inbound rows", n, err)
	}
}

func prune(t *testing.T, s storage.Maintenance, before time.Time, want int) {
	t.Helper()
	n, err := s.Prune(t.Context(), before)
	if err != nil || n != want {
		t.Fatalf("Prune(%v) = %d, %v; want %d", before, n, err, want)
	}
}

func testPrune(t *testing.T, s storage.Store) {
	now := time.Now()
	old := now.Add(-48 * time.Hour)
	at := func(key, jid string, av *storage.Avatar, received time.Time) storage.Update {
		u := update(key, jid, av)
		u.Received = received
		return u
	}
	a, b, c, d, e := MakeAvatar("a", 64), MakeAvatar("b", 64), MakeAvatar("c", 64), MakeAvatar("d", 64), MakeAvatar("e", 64)

	for _, in := range []storage.Inbound{
		{Source: "mm7", Key: "1", Outcome: "accepted", Received: old},
		{Source: "mm7", Key: "2", Outcome: "refused", Received: old},
		{Source: "mm7", Key: "3", Outcome: "accepted", Received: now},
	} {
		ok(t, "LogInbound", s.LogInbound(t.Context(), in))
	}
	commit(t, s, at("u1", "alice@example.org", a, old))
	ok(t, "OutboxDone", s.OutboxDone(t.Context(), pending(t, s, "alice@example.org")[0].ID))
	commit(t, s, at("u2", "alice@example.org", b, old)) // current, pending
	commit(t, s, at("u3", "bob@example.org", c, old))
	ok(t, "OutboxDone", s.OutboxDone(t.Context(), pending(t, s, "bob@example.org")[0].ID))
	commit(t, s, at("u4", "bob@example.org", d, now))
	ok(t, "OutboxDone", s.OutboxDone(t.Context(), pending(t, s, "bob@example.org")[0].ID))
	commit(t, s, at("u5", "carol@example.org", e, old))
	ok(t, "OutboxFail", s.OutboxFail(t.Context(), pending(t, s, "carol@example.org")[0].ID, "forbidden"))

	expired := pendingLink("dave@example.org", "+12025550004")
	expired.Expires = now.Add(-time.Minute)
	putPending(t, s, expired)
	putPending(t, s, pendingLink("erin@example.org", "+12025550005"))

	// A bucket full again is the same as none; one still draining stays.
	if ok, _, err := s.Allow(t.Context(), "refilled", storage.Rate{Per: time.Minute, Burst: 1}, now.Add(-2*time.Hour)); !ok || err != nil {
		t.Fatalf("Allow = %v, %v", ok, err)
	}
	if ok, _, err := s.Allow(t.Context(), "draining", storage.Rate{Per: time.Hour, Burst: 1}, now); !ok || err != nil {
		t.Fatalf("Allow = %v, %v", ok, err)
	}
	addLinkAs(t, s, "alice@example.org", "+12025550001", "cli")

	// A day ago: the two old inbound rows, the expired pending link and
	// the full bucket. Old updates stay while their items (finished just
	// now) do.
	prune(t, s, now.Add(-24*time.Hour), 4)
	if recs, err := s.RecentUpdates(t.Context(), "alice@example.org", 10); err != nil || len(recs) != 2 {
		t.Fatalf("RecentUpdates(alice) = %d, %v; want 2", len(recs), err)
	}
	_, err := s.PendingLink(t.Context(), "dave@example.org")
	mustErr(t, "PendingLink(expired) after Prune", err, storage.ErrNotFound)

	// Everything up to an hour ahead: 1 inbound row; u1, u3, u4 and u5's
	// finished items and the updates themselves (u2's item is pending);
	// pictures a and c. b (current, pending), d (bob's current) and e
	// (carol's current) stay.
	prune(t, s, now.Add(time.Hour), 1+4+4+2)
	prune(t, s, now.Add(time.Hour), 0)

	for jid, want := range map[string]*storage.Avatar{"alice@example.org": b, "bob@example.org": d, "carol@example.org": e} {
		cur, err := s.CurrentAvatar(t.Context(), jid)
		ok(t, "CurrentAvatar("+jid+")", err)
		sameAvatar(t, "CurrentAvatar("+jid+") after Prune", &cur, want)
	}
	items := all(t, s)
	if len(items) != 1 {
		t.Fatalf("outbox after Prune = %s, want alice's pending avatar", kinds(items))
	}
	sameAvatar(t, "pending avatar after Prune", items[0].Avatar, b)
	if recs, err := s.RecentUpdates(t.Context(), "alice@example.org", 10); err != nil || len(recs) != 1 || recs[0].State != "pending" {
		t.Fatalf("RecentUpdates(alice) = %+v, %v; want u2 pending", recs, err)
	}
	if recs, err := s.RecentUpdates(t.Context(), "bob@example.org", 10); err != nil || len(recs) != 0 {
		t.Fatalf("RecentUpdates(bob) = %+v, %v; want none", recs, err)
	}
	if failed, err := s.FailedOutbox(t.Context(), 10); err != nil || len(failed) != 0 {
		t.Fatalf("FailedOutbox after Prune = %+v, %v", failed, err)
	}
	if _, err := s.PendingLink(t.Context(), "erin@example.org"); err != nil {
		t.Fatalf("a valid pending link went: %v", err)
	}
	if ok, _, err := s.Allow(t.Context(), "draining", storage.Rate{Per: time.Hour, Burst: 1}, now); ok || err != nil {
		t.Fatalf("Allow(draining) after Prune = %v, %v; want still empty", ok, err)
	}
	if _, err := s.LinkByNumber(t.Context(), "+12025550001"); err != nil {
		t.Fatalf("Prune removed a link: %v", err)
	}
	if audit, err := s.Audit(t.Context(), 10); err != nil || len(audit) != 1 {
		t.Fatalf("Audit after Prune = %+v, %v; want it kept", audit, err)
	}
	// A pruned picture can come back.
	commit(t, s, at("u6", "bob@example.org", a, now))
	cur, err := s.CurrentAvatar(t.Context(), "bob@example.org")
	ok(t, "CurrentAvatar", err)
	sameAvatar(t, "re-sent picture", &cur, a)
}

func testPruneKeepsNeededAvatars(t *testing.T, s storage.Store) {
	a, b, x, y := MakeAvatar("a", 64), MakeAvatar("b", 64), MakeAvatar("x", 64), MakeAvatar("y", 64)
	// Two pictures pending for alice without coalescing: a is no longer
	// current, but its item still needs it.
	for _, u := range []storage.Update{update("u1", "alice@example.org", a), update("u2", "alice@example.org", b)} {
		u.Entries = []storage.Entry{{JID: u.JID, Kind: storage.KindAvatar}}
		commit(t, s, u)
	}
	commit(t, s, update("u3", "carol@example.org", x))
	commit(t, s, update("u4", "carol@example.org", y)) // replaces x's item

	// The replaced item, its update and x go.
	prune(t, s, time.Now().Add(time.Hour), 3)
	items := all(t, s)
	if len(items) != 3 {
		t.Fatalf("outbox = %s, want 3 pending", kinds(items))
	}
	sameAvatar(t, "alice's older pending picture", items[0].Avatar, a)
	sameAvatar(t, "alice's newer pending picture", items[1].Avatar, b)
	sameAvatar(t, "carol's pending picture", items[2].Avatar, y)
	if recs, err := s.RecentUpdates(t.Context(), "carol@example.org", 10); err != nil || len(recs) != 1 || recs[0].State != "pending" {
		t.Fatalf("RecentUpdates(carol) = %+v, %v", recs, err)
	}
}

func testPingSchema(t *testing.T, s storage.Store) {
	ok(t, "Ping", s.Ping(t.Context()))
	v, err := s.SchemaVersion(t.Context())
	if err != nil || v < 1 {
		t.Fatalf("SchemaVersion = %d, %v", v, err)
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
	u := update("k1", "alice@example.org", MakeAvatar("a", 64))
	canceled("AddLink", s.AddLink(ctx, "alice@example.org", "+12025550001", "cli"))
	_, err := s.RemoveLinks(ctx, "alice@example.org", "cli")
	canceled("RemoveLinks", err)
	_, err = s.Links(ctx, storage.LinkFilter{})
	canceled("Links", err)
	_, err = s.LinkByNumber(ctx, "+12025550001")
	canceled("LinkByNumber", err)
	_, err = s.PutPendingLink(ctx, pendingLink("alice@example.org", "+12025550001"))
	canceled("PutPendingLink", err)
	_, err = s.PendingLink(ctx, "alice@example.org")
	canceled("PendingLink", err)
	_, err = s.PendingLinkByNumber(ctx, "+12025550001")
	canceled("PendingLinkByNumber", err)
	_, err = s.PendingLinkFailed(ctx, 1)
	canceled("PendingLinkFailed", err)
	_, err = s.ConfirmPendingLink(ctx, 1, "x")
	canceled("ConfirmPendingLink", err)
	canceled("DeletePendingLink", s.DeletePendingLink(ctx, "alice@example.org"))
	_, err = s.Prefs(ctx, "alice@example.org")
	canceled("Prefs", err)
	canceled("SetPrefs", s.SetPrefs(ctx, "alice@example.org", storage.Prefs{}))
	_, err = s.CommitUpdate(ctx, u)
	canceled("CommitUpdate", err)
	_, err = s.CurrentAvatar(ctx, "alice@example.org")
	canceled("CurrentAvatar", err)
	_, err = s.Rendition(ctx, MakeRendition("r", 512, 10).ID)
	canceled("Rendition", err)
	_, err = s.Current(ctx, "alice@example.org")
	canceled("Current", err)
	_, err = s.RecentUpdates(ctx, "alice@example.org", 10)
	canceled("RecentUpdates", err)
	canceled("LogInbound", s.LogInbound(ctx, storage.Inbound{Source: "mm7", Key: "k"}))
	canceled("Enqueue", s.Enqueue(ctx, storage.Entry{JID: "alice@example.org", Kind: storage.KindMessage}))
	_, err = s.DueOutbox(ctx, time.Now(), storage.Due(10))
	canceled("DueOutbox", err)
	canceled("OutboxDone", s.OutboxDone(ctx, 1))
	canceled("OutboxRetry", s.OutboxRetry(ctx, 1, time.Now(), "x"))
	canceled("OutboxFail", s.OutboxFail(ctx, 1, "x"))
	_, err = s.FailedOutbox(ctx, 10)
	canceled("FailedOutbox", err)
	_, err = s.OutboxStats(ctx)
	canceled("OutboxStats", err)
	_, _, err = s.Allow(ctx, "k", storage.Rate{Per: time.Second, Burst: 1}, time.Now())
	canceled("Allow", err)
	_, _, err = s.Check(ctx, "k", storage.Rate{Per: time.Second, Burst: 1}, time.Now())
	canceled("Check", err)
	_, err = s.Audit(ctx, 10)
	canceled("Audit", err)
	_, err = s.Prune(ctx, time.Now())
	canceled("Prune", err)
	canceled("Ping", s.Ping(ctx))
	_, err = s.SchemaVersion(ctx)
	canceled("SchemaVersion", err)

	// Nothing was written, and the store still works.
	_, err = s.LinkByNumber(t.Context(), "+12025550001")
	mustErr(t, "LinkByNumber after a canceled AddLink", err, storage.ErrNotFound)
	if n := len(all(t, s)); n != 0 {
		t.Errorf("outbox has %d items after canceled writes", n)
	}
	commit(t, s, u)
}
