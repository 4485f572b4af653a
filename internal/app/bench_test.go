package app_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime/trace"
	"slices"
	"testing"
	"time"

	"mmsprofile/internal/testkit/mm7sample"
)

// BenchmarkMM7ToPEPEvent measures what a user waits for: from the MMSC's
// POST of a 1280×960 JPEG to the PEP event at a contact's client, through
// real Prosody on loopback. Run it with -benchtime=200x or more; it reports
// the median and the 99th percentile. E2E_STORAGE=postgres stores in
// PostgreSQL (pgtest) instead of SQLite.
func BenchmarkMM7ToPEPEvent(b *testing.B) {
	// Past the per-phone hourly limit the rules would refuse: lift it.
	opts := envOptions{extra: "[limits]\nupdates_per_hour = 1000000\n"}
	switch s := os.Getenv("E2E_STORAGE"); s {
	case "", "sqlite":
	case "postgres":
		opts.postgres = true
	default:
		b.Fatalf("E2E_STORAGE=%q: want sqlite or postgres", s)
	}
	e := startWith(b, opts)
	photos := make([][]byte, 4)
	for i := range photos {
		photos[i] = mm7sample.Photo(1280, 960, uint64(100+i))
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		ctx, task := trace.NewTask(context.Background(), "e2e")
		code, status := e.post(mm7sample.Deliver{
			TransactionID: fmt.Sprint("bench-tx-", i), MessageID: fmt.Sprint("bench-", i),
			Sender: aliceNumber, Image: photos[i%len(photos)],
		})
		if code != http.StatusOK || status != "1000" {
			b.Fatalf("message %d: HTTP %d status %s", i, code, status)
		}
		e.nextAvatar()
		lat = append(lat, time.Since(t0))
		trace.Log(ctx, "message", fmt.Sprint(i))
		task.End()
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
