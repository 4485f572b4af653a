package postfix

import (
	"context"
	"testing"
	"time"

	"mmsprofile/internal/testkit/daemon"
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
	return daemon.StartT(t, Installed(), startTimeout,
		func(ctx context.Context) (*Server, error) {
			t.Helper()
			began := time.Now()
			s, err := Start(ctx, opts)
			if err == nil {
				t.Logf("postfix %s: smtpd on %s after %v", s.Hostname, s.SMTPAddr, time.Since(began).Round(time.Millisecond))
			}
			return s, err
		},
		func(s *Server) string { return "postfix mail log (" + s.LogFile + ")" })
}
