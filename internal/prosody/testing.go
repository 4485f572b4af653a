package prosody

import (
	"context"
	"os"
	"testing"
	"time"
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
	if err := Installed(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	s, err := Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() && s.LogFile != "" {
			if b, err := s.ReadLog(); err != nil {
				t.Log(err)
			} else {
				t.Logf("prosody log (%s):\n%s", s.LogFile, b)
			}
		}
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}
