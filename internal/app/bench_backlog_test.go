package app_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"mmsprofile/config"
	"mmsprofile/internal/testkit/prosody"
	"mmsprofile/outbox"
	"mmsprofile/storage"
	"mmsprofile/storage/sqlite"
)

// BenchmarkBacklogDrain measures how fast an outage's backlog reaches the
// server: status updates for many accounts are committed to the outbox
// while no service runs, then the service starts against real Prosody and
// the benchmark waits for the outbox to be empty. It reports the profile
// items published per second, from the service being ready to the last
// item marked done, at publish.concurrency 1 and 16. On loopback the
// limit at 16 is Prosody itself: one Lua process, a core's worth of CPU.
//
//	go test -run '^$' -bench BacklogDrain -benchtime 1x ./internal/app/
//
// BACKLOG_N (default 3000) and BACKLOG_USERS (default 20) change the size,
// BACKLOG_CONCURRENCY (default "1,16") the publish.concurrency values.
func BenchmarkBacklogDrain(b *testing.B) {
	n, users := envInt(b, "BACKLOG_N", 3000), envInt(b, "BACKLOG_USERS", 20)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Prosody logs at info, as in production: the harness's debug log
	// costs Prosody, which runs on one core, more than the IQs do.
	ps := prosody.StartT(b, prosody.Options{LogLevel: "info"})
	xs := &xmppServer{Domain: ps.Domain, Component: ps.Component, Secret: ps.Secret,
		C2SAddr: ps.C2SAddr, ComponentAddr: ps.ComponentAddr, register: ps.Register}
	accounts := make([]string, users)
	for i := range accounts {
		u := fmt.Sprintf("user%02d", i)
		if err := xs.Register(ctx, u, "pw-"+u); err != nil {
			b.Fatal(err)
		}
		accounts[i] = u + "@" + xs.Domain
	}
	levels := []int{1, 16}
	if v := os.Getenv("BACKLOG_CONCURRENCY"); v != "" {
		levels = levels[:0]
		for _, f := range strings.Split(v, ",") {
			c, err := strconv.Atoi(f)
			if err != nil || c < 1 {
				b.Fatalf("BACKLOG_CONCURRENCY=%q: want positive numbers, comma-separated", v)
			}
			levels = append(levels, c)
		}
	}
	for _, conc := range levels {
		b.Run(fmt.Sprintf("concurrency=%d", conc), func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				cfg, dsn := backlogConfig(b, xs, conc)
				fillBacklog(b, dsn, accounts, n)
				st, err := sqlite.Open(context.Background(), dsn)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				runServer(context.Background(), b, cfg, testLogger(b))
				left := waitOutboxEmpty(b, st, 5*time.Minute)
				elapsed := time.Since(start)
				b.StopTimer()
				st.Close()
				if left.Failed > 0 {
					b.Fatalf("%d items failed", left.Failed)
				}
				b.ReportMetric(float64(n)/elapsed.Seconds(), "publishes/s")
				// No IQs/s: an account's queued status items in a pass are
				// one vCard write now (publisher.mergedProfile), so the IQs
				// per item depend on how the backlog falls into passes.
				b.ReportMetric(float64(n), "items")
				b.ReportMetric(float64(users), "users")
			}
		})
	}
}

func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}

// backlogConfig is the service's configuration against xs, on a fresh
// SQLite database, publishing conc accounts at once.
func backlogConfig(b *testing.B, xs *xmppServer, conc int) (config.Config, string) {
	b.Helper()
	dsn := filepath.Join(b.TempDir(), "state.db")
	raw := serviceTOML(xs, dsn, serviceSections{
		publish: fmt.Sprintf("concurrency = %d\n", conc),
		tail:    "[email]\nlisten = \"\"\n[http]\nlisten = \"\"\n",
	})
	cfg, err := config.Parse([]byte(raw), "bench.toml")
	if err != nil {
		b.Fatal(err)
	}
	return cfg, dsn
}

// fillBacklog commits n status updates, round robin over accounts, as the
// MMS taken during an outage would have left them.
func fillBacklog(b *testing.B, dsn string, accounts []string, n int) {
	b.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	entries := make([]storage.Entry, 0, 500)
	for i := range n {
		status := fmt.Sprintf("status %d", i)
		entries = append(entries, outbox.ChangeEntry(accounts[i%len(accounts)], outbox.Change{Status: &status}))
		if len(entries) == cap(entries) || i == n-1 {
			if err := st.Enqueue(ctx, entries...); err != nil {
				b.Fatal(err)
			}
			entries = entries[:0]
		}
	}
	if s, err := st.OutboxStats(ctx); err != nil || s.Pending != n {
		b.Fatalf("backlog %+v, %v; want %d pending", s, err, n)
	}
}

// waitOutboxEmpty polls st until nothing is pending, and returns the
// last stats.
func waitOutboxEmpty(b *testing.B, st storage.Store, limit time.Duration) storage.OutboxStats {
	b.Helper()
	deadline := time.Now().Add(limit)
	for {
		s, err := st.OutboxStats(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if s.Pending == 0 {
			return s
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d items still pending after %s", s.Pending, limit)
		}
		// Counting 100,000 pending items costs a few milliseconds of the
		// CPU the drain itself is measured on.
		time.Sleep(100 * time.Millisecond)
	}
}
