package backoff

import (
	"testing"
	"time"
)

func TestDelay(t *testing.T) {
	for _, c := range []struct {
		n    int
		want time.Duration
	}{
		{-1, time.Second}, {0, time.Second}, {1, 2 * time.Second}, {3, 8 * time.Second},
		{5, 30 * time.Second}, {1000, 30 * time.Second},
	} {
		if got := Delay(time.Second, 30*time.Second, c.n); got != c.want {
			t.Errorf("Delay(1s, 30s, %d) = %v, want %v", c.n, got, c.want)
		}
	}
	if got := Delay(time.Minute, time.Second, 0); got != time.Second {
		t.Errorf("a minimum above the cap: %v, want the cap", got)
	}
}

func TestJitterStaysInUpperHalf(t *testing.T) {
	d := 10 * time.Second
	seen := map[time.Duration]bool{}
	for range 1000 {
		j := Jitter(d)
		if j < d/2 || j > d {
			t.Fatalf("Jitter(%v) = %v, outside [%v, %v]", d, j, d/2, d)
		}
		seen[j] = true
	}
	if len(seen) < 100 {
		t.Fatalf("only %d distinct delays in 1000: not jittered", len(seen))
	}
	if Jitter(0) != 0 || Jitter(-time.Second) != 0 {
		t.Fatal("a zero or negative delay must stay zero")
	}
}
