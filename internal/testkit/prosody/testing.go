package prosody

import (
	"context"
	"testing"
	"time"

	"mmsprofile/internal/testkit/daemon"
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
	return daemon.StartT(t, InstalledIn(opts.Root), startTimeout,
		func(ctx context.Context) (*Server, error) { return Start(ctx, opts) },
		func(s *Server) string {
			if s.LogFile == "" {
				return "" // it went to Options.Log
			}
			return "prosody log (" + s.LogFile + ")"
		})
}

// RootsDir holds the Debian roots the tests run newer servers from, one
// directory per suite (scripts/debian13-roots.sh builds them): trixie
// (Prosody 13.0.1) and trixie-backports (13.0.6).
const RootsDir = "/var/cache/mmsprofile-test"

// Generation is one Prosody build: Root for Options.Root, "" for the
// system's (Debian 12's 0.12).
type Generation struct {
	Name string
	Root string
}

// Generations are the Prosody builds the integration tests run on.
func Generations() []Generation {
	return []Generation{
		{Name: "bookworm"},
		{Name: "trixie", Root: RootsDir + "/trixie"},
		{Name: "trixie-backports", Root: RootsDir + "/trixie-backports"},
	}
}
