package backoff

import (
	"math/rand/v2"
	"time"
)

// Delay is min doubled n times, capped at max (n <= 0: min, and never
// above max). Doubling stops at the cap, so a large n cannot overflow.
func Delay(min, max time.Duration, n int) time.Duration {
	d := min
	for i := 0; i < n && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	return d
}

// Jitter is "equal jitter": d's lower half kept, its upper half random, so
// retries stay at least d/2 apart while a crowd spreads out.
func Jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	half := d / 2
	return half + rand.N(d-half+1)
}
