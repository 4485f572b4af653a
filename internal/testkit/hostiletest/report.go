package hostiletest

import (
	"os"
	"strings"
	"testing"
	"time"
)

// Report logs, under HOSTILE_MEASURE=1, the line scripts/hostile.sh reads:
// the class, the time to refusal, the answer and the process's peak
// resident memory so far (VmHWM; hostile.sh runs one case per process).
// It asserts nothing: the tests that call it do.
func Report(t testing.TB, class string, elapsed time.Duration, answer any) {
	t.Helper()
	if os.Getenv("HOSTILE_MEASURE") == "" {
		return
	}
	t.Logf("HOSTILE class=%s time=%s answer=%v peak_rss=%q", class, elapsed.Round(time.Microsecond), answer, peakRSS())
}

func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}
