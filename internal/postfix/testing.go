package postfix

import (
	"context"
	"os"
	"testing"
	"time"
)

// startTimeout bounds StartT's start; Postfix normally greets in about
// 0.3 s, most of it `postfix check`.
const startTimeout = 30 * time.Second

// StartT starts an instance for a test and closes it when the test ends.
// When Postfix is not installed (or the test does not run as root) the test
// is skipped, or fails under CI=true, where a skipped integration test would
// hide a broken CI machine. When the test fails, the mail log is written to
// the test log.
func StartT(t testing.TB, opts Options) *Server {
	t.Helper()
	if err := Installed(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	began := time.Now()
	s, err := Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("postfix %s: smtpd on %s after %v", s.Hostname, s.SMTPAddr, time.Since(began).Round(time.Millisecond))
	t.Cleanup(func() {
		if t.Failed() {
			if b, err := s.ReadLog(); err != nil {
				t.Log(err)
			} else {
				t.Logf("postfix mail log (%s):\n%s", s.LogFile, b)
			}
		}
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}
