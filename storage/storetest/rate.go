package storetest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mmsprofile/storage"
)

// Limiter checks storage.Limiter's token buckets.
func Limiter(t *testing.T, open Open) {
	run(t, open, []test{
		{"Allow", testAllow},
		{"AllowRefill", testAllowRefill},
		{"AllowKeysAndRates", testAllowKeysAndRates},
		{"AllowConcurrent", testAllowConcurrent},
		{"Check", testCheck},
	})
}

type take struct {
	at    time.Duration // after t0
	ok    bool
	retry time.Duration // when refused
}

func takes(t *testing.T, s storage.Limiter, key string, r storage.Rate, t0 time.Time, steps []take) {
	t.Helper()
	for i, st := range steps {
		allowed, retry, err := s.Allow(t.Context(), key, r, t0.Add(st.at))
		ok(t, "Allow", err)
		if allowed != st.ok || retry != st.retry {
			t.Fatalf("step %d: Allow(%s) at t0+%v = %v, %v; want %v, %v", i, key, st.at, allowed, retry, st.ok, st.retry)
		}
	}
}

func testAllow(t *testing.T, s storage.Store) {
	r := storage.Rate{Per: time.Minute, Burst: 3}
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	takes(t, s, "+12025550001", r, t0, []take{
		// A new bucket is full: Burst takes at once, then the wait for one.
		{0, true, 0}, {0, true, 0}, {0, true, 0},
		{0, false, time.Minute},
		// Refusals take nothing: the wait only shrinks with time.
		{time.Second, false, 59 * time.Second},
		{59 * time.Second, false, time.Second},
		{time.Minute - time.Nanosecond, false, time.Nanosecond},
		// Exactly when it said, one token is back, and only one.
		{time.Minute, true, 0},
		{time.Minute, false, time.Minute},
		// A long pause refills to Burst, not beyond.
		{time.Hour, true, 0}, {time.Hour, true, 0}, {time.Hour, true, 0},
		{time.Hour, false, time.Minute},
	})
	if _, _, err := s.Allow(t.Context(), "k", storage.Rate{Per: 0, Burst: 1}, t0); err == nil {
		t.Error("Allow with Per 0 succeeded")
	}
	if _, _, err := s.Allow(t.Context(), "k", storage.Rate{Per: time.Second, Burst: 0}, t0); err == nil {
		t.Error("Allow with Burst 0 succeeded")
	}
}

func testAllowRefill(t *testing.T, s storage.Store) {
	r := storage.Rate{Per: 10 * time.Second, Burst: 5}
	t0 := time.Now()
	takes(t, s, "k", r, t0, []take{
		{0, true, 0}, {0, true, 0}, {0, true, 0}, {0, true, 0}, {0, true, 0},
		{0, false, 10 * time.Second},
		// 25 s give two tokens and half of a third.
		{25 * time.Second, true, 0}, {25 * time.Second, true, 0},
		{25 * time.Second, false, 5 * time.Second},
		{30 * time.Second, true, 0},
		{31 * time.Second, false, 9 * time.Second},
		// A clock that steps back (another node's) does not mint tokens.
		{20 * time.Second, false, 20 * time.Second},
	})
}

func testAllowKeysAndRates(t *testing.T, s storage.Store) {
	t0 := time.Now()
	one := storage.Rate{Per: time.Hour, Burst: 1}
	takes(t, s, "a", one, t0, []take{{0, true, 0}, {0, false, time.Hour}})
	// Buckets are per key.
	takes(t, s, "b", one, t0, []take{{0, true, 0}, {0, false, time.Hour}})
	// A bucket follows the rate it is asked with: a deeper bucket for the
	// same key has room again.
	takes(t, s, "a", storage.Rate{Per: time.Hour, Burst: 2}, t0, []take{{0, true, 0}, {0, false, time.Hour}})
}

func testAllowConcurrent(t *testing.T, s storage.Store) {
	const workers, each, burst = 8, 10, 20
	r := storage.Rate{Per: time.Hour, Burst: burst}
	now := time.Now()
	var (
		wg      sync.WaitGroup
		allowed atomic.Int64
		errs    = make(chan error, workers*each)
	)
	for range workers {
		wg.Go(func() {
			for range each {
				ok, _, err := s.Allow(t.Context(), "shared", r, now)
				if err != nil {
					errs <- err
					return
				}
				if ok {
					allowed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := allowed.Load(); n != burst {
		t.Fatalf("%d takes allowed by %d concurrent takers, want exactly %d", n, workers, burst)
	}
}

// Check answers what Allow would and takes nothing.
func testCheck(t *testing.T, s storage.Store) {
	r := storage.Rate{Per: time.Minute, Burst: 2}
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	check := func(at time.Duration, want bool, wantWait time.Duration) {
		t.Helper()
		got, wait, err := s.Check(t.Context(), "k", r, t0.Add(at))
		ok(t, "Check", err)
		if got != want || wait != wantWait {
			t.Fatalf("Check at t0+%v = %v, %v; want %v, %v", at, got, wait, want, wantWait)
		}
	}
	// A new bucket is full, and asking does not empty it.
	for range 5 {
		check(0, true, 0)
	}
	takes(t, s, "k", r, t0, []take{{0, true, 0}})
	check(0, true, 0)
	takes(t, s, "k", r, t0, []take{{0, true, 0}})
	check(0, false, time.Minute)
	check(30*time.Second, false, 30*time.Second)
	check(time.Minute, true, 0)
	// Still one token back at t0+1m: checking took none.
	takes(t, s, "k", r, t0, []take{{time.Minute, true, 0}, {time.Minute, false, time.Minute}})
	if _, _, err := s.Check(t.Context(), "k", storage.Rate{Per: time.Second}, t0); err == nil {
		t.Error("Check with Burst 0 succeeded")
	}
}
