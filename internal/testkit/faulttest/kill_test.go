package faulttest

import (
	"context"
	"testing"
	"time"
)

// serve answers 1000 and is SIGKILLed before it could publish: the
// update was committed first, so the next serve publishes it.
func TestKilledBeforePublish(t *testing.T) {
	e := newEnv(t, envOptions{accounts: 2})
	a := e.startNode("a")
	a.WaitConnected(true)
	// Nothing can be published from here on: the component link is cut.
	e.gate.Cut()
	a.WaitConnected(false)

	alice, carol := e.accounts[0], e.accounts[1]
	a.MustAccept(photo(alice, "killed-1", 201))
	a.MustAccept(photo(carol, "killed-2", 202))
	a.Kill()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ups := e.updates(ctx)
	if len(ups) != 2 {
		t.Fatalf("%d updates committed before the kill, want 2", len(ups))
	}
	if st := e.outboxStates(ctx); st["pending"] == 0 {
		t.Fatalf("outbox after the kill: %v, want items pending", st)
	}
	if evs := e.contact.Events(); len(evs) != 0 {
		t.Fatalf("published before the kill: %s", describe(evs))
	}

	e.restartAndCheck(ups, 2)
}

// restartAndCheck reopens the component link, starts serve again as node
// "b", and checks that the pending updates ups are published, each once,
// as want avatar events.
func (e *env) restartAndCheck(ups []update, want int) {
	e.t.Helper()
	e.gate.Open()
	restarted := time.Now()
	e.startNode("b")
	evs := e.settle(ups)
	e.t.Logf("published %v after serve was started again; events: %s", lastAt(evs).Sub(restarted).Round(time.Millisecond), describe(evs))
	e.checkPublished(evs, ups, false)
	if len(evs) != want {
		e.t.Errorf("%d avatar events, want %d", len(evs), want)
	}
}
