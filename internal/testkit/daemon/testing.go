package daemon

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Require skips t when installedErr says a server is not installed, or
// fails it under CI=true, where a skipped integration test would hide a
// broken CI machine. A nil installedErr lets t go on.
func Require(t testing.TB, installedErr error) {
	t.Helper()
	if installedErr == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(installedErr)
	}
	t.Skip(installedErr)
}

// Server is what StartT needs of a started server.
type Server interface {
	ReadLog() ([]byte, error)
	Close() error
}

// StartT is the StartT of each harness. It skips or fails t when
// installedErr is not nil (see Require), starts a server with start, giving
// it timeout to come up, and closes it when t ends. When t has failed, it
// first writes the server's log to the test log under the header that
// header returns, unless that is "" (the log went elsewhere).
func StartT[S Server](t testing.TB, installedErr error, timeout time.Duration,
	start func(context.Context) (S, error), header func(S) string) S {
	t.Helper()
	Require(t, installedErr)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	s, err := start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if h := header(s); t.Failed() && h != "" {
			if b, err := s.ReadLog(); err != nil {
				t.Log(err)
			} else {
				t.Logf("%s:\n%s", h, b)
			}
		}
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// Processes lists the ids of the processes whose command line contains s,
// for tests that check a server leaves nothing running. It reads /proc,
// which a test should check for before it starts the server.
func Processes(t testing.TB, s string) []string {
	t.Helper()
	cmdlines, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	var pids []string
	for _, p := range cmdlines {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // gone meanwhile
		}
		if bytes.Contains(b, []byte(s)) {
			pids = append(pids, filepath.Base(filepath.Dir(p)))
		}
	}
	return pids
}
