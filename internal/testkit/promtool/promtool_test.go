package promtool

import "testing"

// A counter without the _total suffix is a finding promtool reports, so
// CheckMetrics must fail on it; a well-formed one passes.
func TestCheckMetrics(t *testing.T) {
	Path(t)
	good := []byte("# HELP x_events_total Events.\n# TYPE x_events_total counter\nx_events_total 1\n")
	CheckMetrics(t, good)

	bad := []byte("# HELP x_events Events.\n# TYPE x_events counter\nx_events 1\n")
	rec := &recorder{TB: t}
	CheckMetrics(rec, bad)
	if !rec.failed {
		t.Error("CheckMetrics passed a counter without _total")
	}
}

// recorder notes a failure instead of failing the test.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) Helper()               {}
