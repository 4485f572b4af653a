package faulttest

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mmsprofile/internal/testkit/mm7sample"
)

// BenchmarkOutageDrain is an XMPP outage as an operator lives it: the
// real binary goes on accepting MMS while its component link is cut, then
// the link comes back and the backlog drains into real Prosody. Each loop
// is one outage of OUTAGE (default 15s; issue 19 asks for 10m) with
// OUTAGE_RATE MMS/s (default 40) from OUTAGE_ACCOUNTS phones (default 20),
// one in four with a photo and the rest a status line. Reported: the
// backlog (outbox rows pending when the link opens), the drain time from
// the link opening to an empty outbox, and rows/s drained.
func BenchmarkOutageDrain(b *testing.B) {
	outage := envDuration(b, "OUTAGE", 15*time.Second)
	rate := envInt(b, "OUTAGE_RATE", 40)
	accounts := envInt(b, "OUTAGE_ACCOUNTS", 20)
	driver := os.Getenv("OUTAGE_STORAGE")
	e := newEnv(b, envOptions{accounts: accounts, postgres: driver == "postgres", logLevel: "info"})
	n := e.startNode("a")
	n.WaitConnected(true)
	next := e.mixedLoad("outage", 640, 480, 500)
	var backlog, accepted, refused int
	var drainTime, cutTime time.Duration
	for b.Loop() {
		e.gate.Cut()
		n.WaitConnected(false)
		began := time.Now()
		a, r := postPaced(n, outage, rate, next)
		accepted, refused = accepted+a, refused+r
		cutTime += time.Since(began)
		ctx := context.Background()
		// Nothing is posted from here on, so these are the rows to drain.
		backlog += e.outboxStates(ctx)["pending"]
		opened := time.Now()
		e.gate.Open()
		e.waitOutboxDrained(30 * time.Minute)
		drainTime += time.Since(opened)
	}
	b.ReportMetric(float64(backlog)/float64(b.N), "backlog")
	b.ReportMetric(drainTime.Seconds()/float64(b.N), "drain-s")
	b.ReportMetric(float64(backlog)/drainTime.Seconds(), "rows/s")
	b.ReportMetric(float64(accepted)/cutTime.Seconds(), "accepted/s")
	if refused > 0 {
		b.Errorf("%d MMS not accepted during the outage", refused)
	}
	b.Logf("outage %v at %d/s from %d phones: %d accepted, backlog %d rows per outage, drained in %.1f s",
		outage, rate, accounts, accepted, backlog/b.N, drainTime.Seconds()/float64(b.N))
}

// mixedLoad returns the deliveries the benchmarks post, one per call:
// round robin over e's accounts, each with a status line, one in four also
// with one of eight w×h photos.
func (e *env) mixedLoad(prefix string, w, h int, seed uint64) func() mm7sample.Deliver {
	photos := make([][]byte, 8)
	for i := range photos {
		photos[i] = mm7sample.Photo(w, h, seed+uint64(i))
	}
	var seq atomic.Int64
	return func() mm7sample.Deliver {
		i := seq.Add(1)
		acc := e.accounts[int(i)%len(e.accounts)]
		d := mm7sample.Deliver{TransactionID: fmt.Sprintf("%s-%d", prefix, i), Sender: acc.Number, Text: fmt.Sprintf("status %d", i)}
		if i%4 == 0 {
			d.Image = photos[int(i/4)%len(photos)]
		}
		return d
	}
}

// postPaced posts next() at rate per second for d, with as many in flight
// as that needs, and counts the answers 1000 and the others.
func postPaced(n *node, d time.Duration, rate int, next func() mm7sample.Deliver) (accepted, refused int) {
	var wg sync.WaitGroup
	var ok, bad atomic.Int64
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	end := time.After(d)
	for {
		select {
		case <-end:
			wg.Wait()
			return int(ok.Load()), int(bad.Load())
		case <-tick.C:
			wg.Add(1)
			go func(dl mm7sample.Deliver) {
				defer wg.Done()
				if a := n.Post(dl, time.Minute); a.Err == nil && a.Status == "1000" {
					ok.Add(1)
				} else {
					bad.Add(1)
					n.t.Logf("deliver %s: %s", dl.TransactionID, a)
				}
			}(next())
		}
	}
}

func envDuration(b *testing.B, name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		b.Fatalf("%s: %v", name, err)
	}
	return d
}

func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	i, err := strconv.Atoi(v)
	if err != nil || i < 1 {
		b.Fatalf("%s=%q: want a positive number", name, v)
	}
	return i
}
