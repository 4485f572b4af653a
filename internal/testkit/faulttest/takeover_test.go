package faulttest

import (
	"context"
	"testing"
	"time"
)

// Two nodes on one PostgreSQL; the leader is SIGKILLed with work in the
// outbox. The other takes the lock, connects the component and drains
// what both had accepted, and what it accepts meanwhile.
func TestLeaderKilled(t *testing.T) {
	e := newEnv(t, envOptions{postgres: true, accounts: 3})
	a := e.startNode("a")
	a.WaitConnected(true)
	b := e.startNode("b")
	alice, carol, dave := e.accounts[0], e.accounts[1], e.accounts[2]

	// b takes MMS without leading: a publishes them, woken by NOTIFY.
	b.MustAccept(photo(alice, "lead-1", 301))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := e.contact.WaitIDs(ctx, newestAvatars(e.updates(ctx))[alice.JID.String()]); err != nil {
		t.Fatal(err)
	}
	if b.Connected(ctx) {
		t.Fatal("b holds a component session while a leads")
	}
	// Nothing in flight when the link is cut: a publish cut off midway
	// would be published again, legitimately (see checkPublished).
	e.WaitOutboxDrained()

	// Work piles up in the outbox while the component link is cut.
	e.gate.Cut()
	a.WaitConnected(false)
	a.MustAccept(photo(carol, "lead-2", 302))
	b.MustAccept(photo(dave, "lead-3", 303))

	killed := time.Now()
	a.Kill()
	e.gate.Open()
	b.MustAccept(photo(alice, "lead-4", 304))
	b.WaitConnected(true)
	connected := time.Since(killed)

	ups := e.updates(ctx)
	if len(ups) != 4 {
		t.Fatalf("%d updates committed, want 4", len(ups))
	}
	evs := e.settle(ups)
	t.Logf("takeover: b's component connected %v after the leader was killed; outbox drained (last event) after %v (target 5 s)",
		connected.Round(time.Millisecond), lastAt(evs).Sub(killed).Round(time.Millisecond))
	t.Logf("events: %s", describe(evs))
	e.checkPublished(evs, ups, false)
	if len(evs) != 4 {
		t.Errorf("%d avatar events, want 4 (alice twice, carol, dave)", len(evs))
	}
}
