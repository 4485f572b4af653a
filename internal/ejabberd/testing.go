package ejabberd

import (
	"context"
	"os"
	"testing"
	"time"
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
		if t.Failed() {
			if b, err := s.ReadLog(); err != nil {
				t.Log(err)
			} else {
				t.Logf("ejabberd logs (%s):\n%s", s.Dir, b)
			}
		}
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}
