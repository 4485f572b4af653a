package avatar

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// runHook gives png to the operator's command on its standard input and
// reads its verdict from the exit status: 0 accepts, 1 refuses, anything
// else (a crash, a signal, a timeout, a missing program) means the check
// could not be done. The first line the command prints, if any, is kept in
// the error for the operator's log; the sender sees only the sentinel text.
func runHook(ctx context.Context, argv []string, timeout time.Duration, png []byte) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin = bytes.NewReader(png)
	var out bytes.Buffer
	cmd.Stdout = &limitedWriter{w: &out, n: 4096}
	// A child of the hook may hold its output open after the hook is
	// killed; WaitDelay stops Wait from waiting for it.
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	line, _, _ := strings.Cut(strings.TrimSpace(out.String()), "\n")
	if line != "" {
		line = ": " + line
	}
	var exit *exec.ExitError
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("avatar: hook %s: no answer in %v%s: %w", argv[0], timeout, line, ErrCheckFailed)
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		return fmt.Errorf("avatar: hook %s refused the picture%s: %w", argv[0], line, ErrRejected)
	}
	return fmt.Errorf("avatar: hook %s: %v%s: %w", argv[0], err, line, ErrCheckFailed)
}

// limitedWriter keeps the first n bytes and drops the rest without failing,
// so a chatty hook neither fills memory nor dies of a closed pipe.
type limitedWriter struct {
	w *bytes.Buffer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if room := l.n - l.w.Len(); room > 0 {
		l.w.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
