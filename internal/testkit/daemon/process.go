package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// Process is a started server process.
type Process struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has exited
	err    error         // from cmd.Wait; valid once exited is closed
}

// Start starts cmd and watches for its exit. Unless cmd.SysProcAttr is
// already set, the process gets a process group of its own, which Stop
// needs, and on Linux the parent-death signal SIGKILL. cmd must be made
// with exec.Command, not CommandContext: a context that bounds only the
// start must not kill the server later.
func Start(cmd *exec.Cmd) (*Process, error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = sysProcAttr()
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Process{cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// Pid returns the process id, which is also its process group id when
// Start set up the group.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Exited returns a channel that is closed once the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Err returns how the process ended, as exec.Cmd.Wait reports it, or nil
// while it runs.
func (p *Process) Err() error {
	select {
	case <-p.exited:
		return p.err
	default:
		return nil
	}
}

// Signal sends sig to the process alone, not its group. It returns
// os.ErrProcessDone once the process has exited.
func (p *Process) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Stop ends the process and its group: SIGTERM to the group, then SIGKILL
// when the process has not exited within grace (at once when grace is 0),
// and SIGKILL to whatever is left in the group after that, even when the
// process had died by itself. It returns once the process has exited. It
// needs the process group that Start sets up. Call it once: once the group
// is gone, its id may be taken again.
func (p *Process) Stop(grace time.Duration) error {
	if grace > 0 {
		select {
		case <-p.exited:
		default:
			if err := p.signalGroup(syscall.SIGTERM); err != nil {
				return err
			}
			timer := time.NewTimer(grace)
			select {
			case <-p.exited:
			case <-timer.C:
			}
			timer.Stop()
		}
	}
	select {
	case <-p.exited:
	default:
		if err := p.signalGroup(syscall.SIGKILL); err != nil {
			return err
		}
		<-p.exited
	}
	// Anything else left in the group goes too.
	return p.signalGroup(syscall.SIGKILL)
}

// signalGroup sends sig to the process group; a group already gone is no
// error.
func (p *Process) signalGroup(sig syscall.Signal) error {
	pgid := p.Pid() // == the group id, thanks to Setpgid
	if err := syscall.Kill(-pgid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("process group %d: %w", pgid, err)
	}
	return nil
}

// pollEvery is how often WaitListening tries again.
const pollEvery = 20 * time.Millisecond

// WaitListening polls addr until it accepts a TCP connection, p exits, or
// ctx ends. Polling is the only way: these servers tell nobody when they
// are ready. check, if not nil, runs after each refused attempt, and an
// error from it ends the wait (Prosody's log tells of a port it could not
// bind). logTail, if not nil, is appended to the errors for p's exit and
// ctx's end: the end of the server's log, with the reason it failed.
func WaitListening(ctx context.Context, addr string, p *Process, check func() error, logTail func() string) error {
	tail := func() string {
		if logTail == nil {
			return ""
		}
		return logTail()
	}
	var d net.Dialer
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			return c.Close()
		}
		if check != nil {
			if err := check(); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w%s", addr, ctx.Err(), tail())
		case <-p.exited:
			return fmt.Errorf("%s exited before listening on %s: %v%s", p.name(), addr, p.err, tail())
		case <-tick.C:
		}
	}
}

// name is the program's name for errors.
func (p *Process) name() string { return filepath.Base(p.cmd.Path) }

// startAttempts is how often Retry starts a server.
const startAttempts = 3

// Retry calls start until it succeeds, fails for another reason than a
// chosen port taken (as taken tells from its error), ctx ends, or it has
// tried three times. FreePorts cannot hold its ports for the server:
// another process (a test running in parallel) may bind one in between,
// and new ports are worth a try.
func Retry[S any](ctx context.Context, taken func(error) bool, start func() (S, error)) (S, error) {
	for i := 1; ; i++ {
		s, err := start()
		if err == nil || !taken(err) || ctx.Err() != nil || i == startAttempts {
			return s, err
		}
	}
}

// FreePorts returns n distinct free TCP ports on 127.0.0.1. The servers
// open their own sockets, so the ports are freed again before they start;
// another process could take one in between: see Retry.
func FreePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		// Kept open until all are chosen, so that the ports differ.
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
