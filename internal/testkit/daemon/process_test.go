package daemon_test

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"mmsprofile/internal/testkit/daemon"
)

func TestFreePorts(t *testing.T) {
	ports, err := daemon.FreePorts(5)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p <= 0 || seen[p] {
			t.Fatalf("ports %v: want 5 distinct", ports)
		}
		seen[p] = true
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			t.Fatalf("port %d not free again: %v", p, err)
		}
		l.Close()
	}
}

// startGroup starts sh, which starts two sleeps marked by their duration
// and waits for them; script runs first.
func startGroup(t *testing.T, script, mark string) *daemon.Process {
	t.Helper()
	if _, err := os.Stat("/proc/self/cmdline"); err != nil {
		t.Skip("no /proc to look for processes in")
	}
	cmd := exec.Command("/bin/sh", "-c", script+"; sleep "+mark+" & sleep "+mark+" & wait")
	p, err := daemon.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Stop(0) })
	deadline := time.Now().Add(10 * time.Second)
	for len(daemon.Processes(t, "sleep\x00"+mark)) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the sleeps did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return p
}

func TestStop(t *testing.T) {
	for i, tc := range []struct {
		name, script string
		grace        time.Duration
		atLeast      time.Duration
	}{
		{"term", "true", 10 * time.Second, 0},
		// SIGTERM ignored, by sh and the sleeps it starts: SIGKILL after
		// the grace period.
		{"kill after grace", "trap '' TERM", 200 * time.Millisecond, 200 * time.Millisecond},
		{"kill at once", "trap '' TERM", 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mark := strconv.Itoa(1_000_000 + os.Getpid()*4 + i) // seconds to sleep
			p := startGroup(t, tc.script, mark)
			began := time.Now()
			if err := p.Stop(tc.grace); err != nil {
				t.Fatal(err)
			}
			if took := time.Since(began); took < tc.atLeast || took > tc.atLeast+5*time.Second {
				t.Errorf("Stop took %v, want about %v", took, tc.atLeast)
			}
			select {
			case <-p.Exited():
			default:
				t.Fatal("Stop returned before the process exited")
			}
			if p.Err() == nil {
				t.Error("Err() = nil for a killed process")
			}
			// The sleeps may linger as zombies until init reaps them:
			// wait for them to go.
			deadline := time.Now().Add(5 * time.Second)
			for pids := daemon.Processes(t, "sleep\x00"+mark); len(pids) > 0; pids = daemon.Processes(t, "sleep\x00"+mark) {
				if time.Now().After(deadline) {
					t.Fatalf("processes %v of the group still run after Stop", pids)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

func TestWaitListening(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	listening := l.Addr().String()
	ports, err := daemon.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	closed := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	tail := func() string { return "\nTAIL" }
	start := func(script string) *daemon.Process {
		p, err := daemon.Start(exec.Command("/bin/sh", "-c", script))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.Stop(0) })
		return p
	}
	errCheck := errors.New("port taken")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := daemon.WaitListening(ctx, listening, start("sleep 60"), nil, tail); err != nil {
		t.Errorf("listening: %v", err)
	}

	err = daemon.WaitListening(ctx, closed, start("exit 3"), nil, tail)
	if err == nil || !strings.Contains(err.Error(), "sh exited before listening on "+closed+": exit status 3\nTAIL") {
		t.Errorf("exited: got %v", err)
	}

	err = daemon.WaitListening(ctx, closed, start("sleep 60"), func() error { return errCheck }, tail)
	if !errors.Is(err, errCheck) {
		t.Errorf("check: got %v, want %v", err, errCheck)
	}

	short, cancelShort := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancelShort()
	err = daemon.WaitListening(short, closed, start("sleep 60"), nil, tail)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.HasSuffix(err.Error(), "\nTAIL") {
		t.Errorf("deadline: got %v", err)
	}
}

func TestRetry(t *testing.T) {
	errTaken, errOther := errors.New("port taken"), errors.New("bad config")
	taken := func(err error) bool { return errors.Is(err, errTaken) }
	for _, tc := range []struct {
		name      string
		results   []error // what each call of start returns
		wantCalls int
		wantErr   error
	}{
		{"first", []error{nil}, 1, nil},
		{"taken then started", []error{errTaken, nil}, 2, nil},
		{"other error", []error{errOther, nil}, 1, errOther},
		{"taken thrice", []error{errTaken, errTaken, errTaken, nil}, 3, errTaken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			s, err := daemon.Retry(context.Background(), taken, func() (*int, error) {
				err := tc.results[calls]
				calls++
				if err != nil {
					return nil, err
				}
				return &calls, nil
			})
			if calls != tc.wantCalls || !errors.Is(err, tc.wantErr) || (err == nil) != (s != nil) {
				t.Errorf("%d calls, %v, %v; want %d calls, %v", calls, s, err, tc.wantCalls, tc.wantErr)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := 0
	_, err := daemon.Retry(ctx, taken, func() (int, error) { calls++; return 0, errTaken })
	if calls != 1 || !errors.Is(err, errTaken) {
		t.Errorf("ended ctx: %d calls, %v; want 1 call", calls, err)
	}
}
