package faulttest

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// Prosody is down for a while: MMS keep being accepted (the database is
// up), and once the component is back every account ends up with its
// newest picture, each published once and none older after it.
func TestProsodyOutage(t *testing.T) {
	e := newEnv(t, envOptions{accounts: 3})
	n := e.startNode("a")
	n.WaitConnected(true)

	if err := e.xmpp.Stop(); err != nil {
		t.Fatal(err)
	}
	// The gate stays shut until bob is back online, so that every publish
	// after the outage reaches him live.
	e.gate.Cut()
	n.WaitConnected(false)

	alice, carol, dave := e.accounts[0], e.accounts[1], e.accounts[2]
	plan := []account{alice, carol, alice, dave, alice, dave}
	for i, a := range plan {
		n.MustAccept(photo(a, fmt.Sprintf("outage-%d", i), uint64(100+i)))
	}
	// Let the component fail a few reconnects against a dead server.
	time.Sleep(2 * time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e.restartProsody(ctx)
	// Prosody takes bob's presence (his +notify interest) to each
	// contact's PEP service as it processes it: give that a moment.
	time.Sleep(500 * time.Millisecond)
	reopened := time.Now()
	e.gate.Open()

	ups := e.updates(ctx)
	if len(ups) != len(plan) {
		t.Fatalf("%d updates committed, want %d", len(ups), len(plan))
	}
	evs := e.settle(ups)
	t.Logf("all accounts published %v after the component could reconnect; events: %s",
		lastAt(evs).Sub(reopened).Round(time.Millisecond), describe(evs))
	if n := e.bareNotifications(); n > 0 {
		t.Errorf("prosody sent %d notifications to bob's bare JID as well: duplicates below are the server's", n)
	}
	e.checkPublished(evs, ups, false)
	if len(evs) != 3 {
		t.Errorf("%d avatar events, want 3 (coalesced: the newest per account)", len(evs))
	}
}

func lastAt(evs []seen) time.Time {
	var t time.Time
	for _, ev := range evs {
		if ev.At.After(t) {
			t = ev.At
		}
	}
	return t
}
