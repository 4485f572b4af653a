package ejabberd

import (
	"context"
	"testing"
	"time"

	"mmsprofile/internal/daemon"
)

// startTimeout bounds StartT's wait for the server; ejabberd normally
// answers after two to four seconds, more on a loaded machine.
const startTimeout = 60 * time.Second

// StartT starts a server for a test and closes it when the test ends. When
// ejabberd is not installed the test is skipped, or fails under CI=true,
// where a skipped integration test would hide a broken CI machine. When the
// test fails, ejabberd's logs are written to the test log.
func StartT(t testing.TB, opts Options) *Server {
	t.Helper()
	return daemon.StartT(t, Installed(), startTimeout,
		func(ctx context.Context) (*Server, error) { return Start(ctx, opts) },
		func(s *Server) string { return "ejabberd logs (" + s.Dir + ")" })
}
