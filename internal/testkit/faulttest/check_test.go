package faulttest

import (
	"context"
	"slices"
	"time"
)

// newestAvatars returns, per account JID, the avatar of its newest update.
func newestAvatars(ups []update) map[string]string {
	out := map[string]string{}
	for _, u := range ups {
		if u.AvatarID != "" {
			out[u.JID] = u.AvatarID
		}
	}
	return out
}

// checkPublished compares what the contact saw with the committed
// updates: for each account every event is one of its updates' avatars,
// none is seen twice, they come in commit order (coalescing may skip
// older ones, never put one back after a newer), and the newest is the
// last. It reports through e.t.
//
// With retried set, an item seen again right after itself (nothing newer
// for that account between) is logged, not an error: a publish cut off
// after the server applied it but before the outbox row was marked done
// (the leader lost its lease or died) is published again by whoever
// leads next. DESIGN.md allows that: the same item id, which clients
// recognise as the avatar they have.
func (e *env) checkPublished(evs []seen, ups []update, retried bool) {
	e.t.Helper()
	order := map[string]int{} // avatar id → position among its account's updates
	owner := map[string]string{}
	for i, u := range ups {
		if u.AvatarID != "" {
			order[u.AvatarID] = i
			owner[u.AvatarID] = u.JID
		}
	}
	last := map[string]int{}
	seenIDs := map[string]bool{}
	for _, ev := range evs {
		from := ev.From.Bare().String()
		pos, ok := order[ev.ItemID]
		switch {
		case len(ev.Infos) == 0:
			e.t.Errorf("%s: avatar disabled (item %s): nothing asked for that", from, shortID(ev.ItemID))
			continue
		case !ok:
			e.t.Errorf("%s: item %s is no committed update's avatar", from, shortID(ev.ItemID))
			continue
		case owner[ev.ItemID] != from:
			e.t.Errorf("%s: item %s belongs to %s", from, shortID(ev.ItemID), owner[ev.ItemID])
		case seenIDs[ev.ItemID] && retried && last[from] == pos:
			e.t.Logf("%s: item %s published again (an interrupted publish retried)", from, shortID(ev.ItemID))
		case seenIDs[ev.ItemID]:
			e.t.Errorf("%s: item %s seen twice", from, shortID(ev.ItemID))
		}
		if p, ok := last[from]; ok && pos < p {
			e.t.Errorf("%s: older item %s published after a newer one", from, shortID(ev.ItemID))
		}
		seenIDs[ev.ItemID] = true
		last[from] = pos
	}
	for jid, id := range newestAvatars(ups) {
		var mine []string
		for _, ev := range evs {
			if ev.From.Bare().String() == jid {
				mine = append(mine, ev.ItemID)
			}
		}
		if len(mine) == 0 || mine[len(mine)-1] != id {
			e.t.Errorf("%s: last item seen %v, want the newest update's %s", jid, short(mine), shortID(id))
		}
	}
}

// settle waits until the contact has seen the newest avatar of every
// account, then a quiet while more, so that a late duplicate or an older
// item arriving after the newest would show.
func (e *env) settle(ups []update) []seen {
	e.t.Helper()
	var want []string
	for _, id := range newestAvatars(ups) {
		want = append(want, id)
	}
	slices.Sort(want)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := e.contact.WaitIDs(ctx, want...); err != nil {
		e.t.Fatal(err)
	}
	e.WaitOutboxDrained()
	// Longer than the publisher's poll (1 s) and first retry (200 ms).
	time.Sleep(3 * time.Second)
	return e.contact.Events()
}
