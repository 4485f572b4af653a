package ejabberd

import (
	"context"
	"testing"
	"time"

	"mmsprofile/internal/testkit/daemon"
)

// startTimeout bounds StartT's wait for the server; ejabberd normally
// answers after two to four seconds, more on a loaded machine.
const startTimeout = 60 * time.Second

// RootsDir holds the Debian roots the tests run newer servers from, one
// directory per suite: trixie (ejabberd 24.12) and trixie-backports
// (26.07).
const RootsDir = "/var/cache/mmsprofile-test"

// Generations are the ejabberd builds the integration tests run on: the
// system's (Debian 12's 23.01) and each Debian 13 root, by name.
func Generations() []Generation {
	return []Generation{
		{Name: "bookworm"},
		{Name: "trixie", Root: RootsDir + "/trixie"},
		{Name: "trixie-backports", Root: RootsDir + "/trixie-backports"},
	}
}

// Generation is one ejabberd build: Root for Options.Root.
type Generation struct {
	Name string
	Root string
}

// StartT starts a server for a test and closes it when the test ends. When
// ejabberd is not installed the test is skipped, or fails under CI=true,
// where a skipped integration test would hide a broken CI machine. When the
// test fails, ejabberd's logs are written to the test log.
func StartT(t testing.TB, opts Options) *Server {
	t.Helper()
	return daemon.StartT(t, InstalledIn(opts.Root), startTimeout,
		func(ctx context.Context) (*Server, error) { return Start(ctx, opts) },
		func(s *Server) string { return "ejabberd logs (" + s.Dir + ")" })
}
