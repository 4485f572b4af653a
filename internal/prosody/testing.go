package prosody

import (
	"context"
	"testing"
	"time"

	"mmsprofile/internal/daemon"
)

// startTimeout bounds StartT's wait for the ports; prosody normally opens
// them in about 0.1 s.
const startTimeout = 30 * time.Second

// StartT starts a server for a test and closes it when the test ends. When
// prosody is not installed the test is skipped, or fails under CI=true,
// where a skipped integration test would hide a broken CI machine. When the
// test fails, prosody's log is written to the test log.
func StartT(t testing.TB, opts Options) *Server {
	t.Helper()
	return daemon.StartT(t, Installed(), startTimeout,
		func(ctx context.Context) (*Server, error) { return Start(ctx, opts) },
		func(s *Server) string {
			if s.LogFile == "" {
				return "" // it went to Options.Log
			}
			return "prosody log (" + s.LogFile + ")"
		})
}
