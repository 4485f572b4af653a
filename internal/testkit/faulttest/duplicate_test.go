package faulttest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// The MMSC delivers the same MMS to two nodes at the same moment (a retry
// racing the original through a load balancer): one update, one publish,
// and both deliveries answered 1000.
func TestConcurrentDuplicate(t *testing.T) {
	e := newEnv(t, envOptions{postgres: true, accounts: 1})
	a := e.startNode("a")
	a.WaitConnected(true)
	b := e.startNode("b")
	alice := e.accounts[0]
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()

	const rounds = 5
	for r := range rounds {
		d := photo(alice, fmt.Sprintf("dup-%d", r), uint64(500+r))
		var answers [2]answer
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, n := range []*node{a, b} {
			wg.Go(func() {
				<-start
				answers[i] = n.Post(d, 60*time.Second)
			})
		}
		close(start)
		wg.Wait()
		for i, ans := range answers {
			if ans.Err != nil || ans.Status != "1000" {
				t.Errorf("round %d, node %d: %s, want 1000 for both deliveries", r, i, ans)
			}
		}
		var rows []update
		for _, u := range e.updates(ctx) {
			if u.Key == deliveryKey(d) {
				rows = append(rows, u)
			}
		}
		if len(rows) != 1 {
			t.Fatalf("round %d: %d update rows for message %s, want 1", r, len(rows), d.MessageID)
		}
		// One round at a time: coalescing must not hide a second publish.
		if err := e.contact.WaitIDs(ctx, rows[0].AvatarID); err != nil {
			t.Fatal(err)
		}
	}
	ups := e.updates(ctx)
	evs := e.settle(ups)
	t.Logf("events: %s", describe(evs))
	e.checkPublished(evs, ups, false)
	if len(ups) != rounds || len(evs) != rounds {
		t.Errorf("%d updates and %d avatar events, want %d of each", len(ups), len(evs), rounds)
	}
	var outboxRows int
	err := e.query(ctx, `SELECT COUNT(*) FROM outbox WHERE kind = 'avatar'`, func(r scanner) error { return r.Scan(&outboxRows) })
	if err != nil {
		t.Fatal(err)
	}
	if outboxRows != rounds {
		t.Errorf("%d avatar outbox rows, want %d", outboxRows, rounds)
	}
}
