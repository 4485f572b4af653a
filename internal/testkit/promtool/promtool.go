package promtool

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Path finds promtool. A missing one skips locally and fails under
// CI=true, where a skip would hide a broken CI machine.
func Path(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		const msg = "promtool not installed (apt-get install -y --no-install-recommends prometheus)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

// Run runs promtool in dir with stdin and returns its output; it fails t
// with that output when promtool does not exit 0.
func Run(t testing.TB, dir string, stdin io.Reader, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, Path(t), args...)
	cmd.Dir = dir
	cmd.Stdin = stdin
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// CheckMetrics fails t with every finding of `promtool check metrics` on a
// scrape. The Go runtime's series count too: promtool 2.42 finds none in
// them today, and one that a client_golang update brings should be looked
// at, not waved through.
func CheckMetrics(t testing.TB, scrape []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, Path(t), "check", "metrics")
	cmd.Stdin = bytes.NewReader(scrape)
	// promtool exits non-zero on a finding, and prints it.
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}
