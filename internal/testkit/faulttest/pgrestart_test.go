package faulttest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"mmsprofile/internal/testkit/mm7sample"
)

// delivery is one MMS the test MMSC sent and every answer it got.
type delivery struct {
	d       mm7sample.Deliver
	account account
	answers []answer
}

func (dl *delivery) accepted() bool {
	n := len(dl.answers)
	return n > 0 && dl.answers[n-1].Err == nil && dl.answers[n-1].Status == "1000"
}

// PostgreSQL goes down and comes back while MMS keep arriving at two
// nodes. During the outage the MMSC hears "retry later" (4006), never
// 1000 for something that was not saved; afterwards the nodes recover by
// themselves, the MMSC's retries are accepted, and every accepted MMS is
// published (the newest per account, nothing older after it).
func TestPostgresRestartUnderLoad(t *testing.T) {
	e := newEnv(t, envOptions{postgres: true, accounts: 4})
	nodes := []*node{e.startNode("a"), e.startNode("b")}
	nodes[0].WaitConnected(true)

	// The outage: from 1 s into the load, for 3 s.
	var stopped, restarted time.Time
	faultDone := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		time.Sleep(time.Second)
		stopped = time.Now()
		if err := e.pg.Stop(ctx); err != nil {
			faultDone <- err
			return
		}
		time.Sleep(3 * time.Second)
		err := e.pg.Restart(ctx)
		restarted = time.Now()
		faultDone <- err
	}()

	// One MMSC worker per account, so that one account's MMS are sent
	// in order; each goes on until 1.5 s after the restart (at most 40).
	var mu sync.Mutex
	var all []*delivery
	var wg sync.WaitGroup
	over := make(chan struct{})
	for w, acct := range e.accounts {
		wg.Go(func() {
			for i := range 40 {
				select {
				case <-over:
					return
				default:
				}
				dl := &delivery{d: photo(acct, fmt.Sprintf("load-%d-%d", w, i), uint64(1000*w+i)), account: acct}
				dl.answers = append(dl.answers, nodes[(w+i)%2].Post(dl.d, 30*time.Second))
				mu.Lock()
				all = append(all, dl)
				mu.Unlock()
				time.Sleep(150 * time.Millisecond)
			}
		})
	}
	if err := <-faultDone; err != nil {
		close(over)
		wg.Wait()
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	close(over)
	wg.Wait()
	t.Logf("postgres down %v; %d MMS sent", restarted.Sub(stopped).Round(time.Millisecond), len(all))

	// What each answer means, checked against the database.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	committed := map[string]bool{}
	for _, u := range e.updates(ctx) {
		committed[u.Key] = true
	}
	counts := map[string]int{}
	for _, dl := range all {
		a := dl.answers[0]
		switch {
		case a.Err != nil:
			counts["no answer"]++
		default:
			counts[a.Status]++
		}
		if a.Err == nil && a.Status != "1000" && a.Status != "4006" {
			t.Errorf("%s: %s, want 1000 or 4006", dl.d.TransactionID, a)
		}
		if dl.accepted() && !committed[deliveryKey(dl.d)] {
			t.Errorf("%s: answered 1000 but not in the database", dl.d.TransactionID)
		}
	}
	t.Logf("first answers: %v", counts)
	var firstAfter time.Time
	for _, dl := range all {
		if a := dl.answers[0]; a.Status == "1000" && a.At.After(restarted) && (firstAfter.IsZero() || a.At.Before(firstAfter)) {
			firstAfter = a.At
		}
	}
	if !firstAfter.IsZero() {
		t.Logf("first 1000 answered %v after postgres was back", firstAfter.Sub(restarted).Round(time.Millisecond))
	}
	if counts["4006"]+counts["no answer"] == 0 {
		t.Errorf("no delivery met the outage (answers %v): the test did not test it", counts)
	}

	// The MMSC retries what was not accepted, as it would; the nodes must
	// have recovered by themselves.
	retries := 0
	for _, dl := range all {
		for try := 0; !dl.accepted(); try++ {
			if try == 10 {
				t.Fatalf("%s: still %s after 10 retries: the service did not recover", dl.d.TransactionID, dl.answers[len(dl.answers)-1])
			}
			if try > 0 {
				time.Sleep(500 * time.Millisecond)
			}
			retries++
			dl.answers = append(dl.answers, nodes[try%2].Post(dl.d, 30*time.Second))
		}
	}
	t.Logf("%d retries by the MMSC, all accepted", retries)

	ups := e.updates(ctx)
	if len(ups) != len(all) {
		t.Errorf("%d updates committed for %d accepted MMS", len(ups), len(all))
	}
	// Exactly one node holds the component again.
	for leaders := 0; leaders != 1; {
		leaders = 0
		for _, n := range nodes {
			if n.Connected(ctx) {
				leaders++
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%d nodes connected to the component after the outage, want 1", leaders)
		case <-time.After(100 * time.Millisecond):
		}
	}
	evs := e.settle(ups)
	t.Logf("events (%d): %s", len(evs), describe(evs))
	e.checkPublished(evs, ups, true)
}
