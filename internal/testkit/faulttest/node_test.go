package faulttest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"mmsprofile/internal/testkit/mm7sample"
)

const (
	mm7User     = "mmsc-relay"
	mm7Password = "Rel@y-2024"
)

// node is one `mmsprofile serve` process.
type node struct {
	t       testing.TB
	name    string
	cfgPath string
	logPath string
	mm7URL  string
	httpURL string
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error // valid once exited is closed
}

// startNode writes a configuration for a node called name and runs
// `mmsprofile serve` with it, returning once its listeners answer. The
// process is stopped (SIGTERM, then SIGKILL) when t ends.
func (e *env) startNode(name string) *node {
	t := e.t
	t.Helper()
	ports := freePorts(t, 2)
	n := &node{
		t:       t,
		name:    name,
		cfgPath: filepath.Join(e.dir, name+".toml"),
		logPath: filepath.Join(e.dir, name+".log"),
		mm7URL:  "http://127.0.0.1:" + strconv.Itoa(ports[0]) + "/mm7",
		httpURL: "http://127.0.0.1:" + strconv.Itoa(ports[1]),
		exited:  make(chan struct{}),
	}
	cfg := e.config(fmt.Sprintf("127.0.0.1:%d", ports[0]), fmt.Sprintf("127.0.0.1:%d", ports[1]))
	if err := os.WriteFile(n.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	logf, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close() // the child has its own descriptor
	fmt.Fprintf(logf, "==== %s: serve started %s\n", name, time.Now().Format(time.RFC3339Nano))
	n.cmd = exec.Command(binary(t), "serve", "-config", n.cfgPath)
	n.cmd.Stdout, n.cmd.Stderr = logf, logf
	// Its own process group, so that a Ctrl-C to the test does not reach
	// it first; Pdeathsig, so that a test binary killed by -timeout does
	// not leave it running.
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		n.waitErr = n.cmd.Wait()
		close(n.exited)
	}()
	t.Cleanup(n.cleanup)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		if code, _ := n.get(ctx, "/healthz"); code == http.StatusOK {
			return n
		}
		select {
		case <-n.exited:
			t.Fatalf("%s: serve exited at start: %v\n%s", name, n.waitErr, n.logTail())
		case <-ctx.Done():
			t.Fatalf("%s: serve not listening: %v\n%s", name, ctx.Err(), n.logTail())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Kill sends SIGKILL and waits for the process to be gone: no shutdown,
// no last outbox pass, sockets closed by the kernel.
func (n *node) Kill() {
	n.t.Helper()
	if err := n.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		n.t.Fatal(err)
	}
	<-n.exited
}

// Terminate sends SIGTERM, as systemd does to stop a unit, and returns
// when it was sent.
func (n *node) Terminate() time.Time {
	n.t.Helper()
	at := time.Now()
	if err := n.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		n.t.Fatalf("%s: SIGTERM: %v", n.name, err)
	}
	return at
}

// WaitExit waits at most timeout for serve to exit and returns its exit
// status (-1 when a signal ended it). A serve still running then fails t;
// the cleanup kills it.
func (n *node) WaitExit(timeout time.Duration) int {
	n.t.Helper()
	select {
	case <-n.exited:
	case <-time.After(timeout):
		n.t.Fatalf("%s: serve still running %v after being told to stop\n%s", n.name, timeout, n.logTail())
	}
	return n.cmd.ProcessState.ExitCode()
}

func (n *node) cleanup() {
	select {
	case <-n.exited:
	default:
		_ = n.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-n.exited:
		case <-time.After(15 * time.Second):
			n.t.Errorf("%s: serve ignored SIGTERM for 15 s; killing it", n.name)
			_ = n.cmd.Process.Signal(syscall.SIGKILL)
			<-n.exited
		}
	}
	log, _ := os.ReadFile(n.logPath)
	if bytes.Contains(log, []byte("WARNING: DATA RACE")) {
		n.t.Errorf("%s: data race in serve:\n%s", n.name, log)
		return
	}
	if n.t.Failed() || testing.Verbose() {
		n.t.Logf("%s: serve log (%s):\n%s", n.name, n.logPath, tail(log, 64<<10))
	}
}

func (n *node) logTail() string {
	b, _ := os.ReadFile(n.logPath)
	return string(tail(b, 8<<10))
}

func tail(b []byte, max int) []byte {
	if len(b) > max {
		return b[len(b)-max:]
	}
	return b
}

// get fetches path from the ops listener; code is 0 when nothing answered.
func (n *node) get(ctx context.Context, path string) (int, string) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, n.httpURL+path, nil)
	if err != nil {
		return 0, err.Error()
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

// Connected reports whether the node holds a component session: /readyz
// answers "ready (leading)" only on the leader, and only while its
// storage answers and its component is connected; a standby says so.
func (n *node) Connected(ctx context.Context) bool {
	code, body := n.get(ctx, "/readyz")
	return code == http.StatusOK && strings.Contains(body, "(leading)")
}

// WaitConnected polls /readyz until want, or fails t after a minute.
func (n *node) WaitConnected(want bool) {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for n.Connected(ctx) != want {
		select {
		case <-n.exited:
			n.t.Fatalf("%s: serve exited: %v\n%s", n.name, n.waitErr, n.logTail())
		case <-ctx.Done():
			_, body := n.get(context.Background(), "/readyz")
			n.t.Fatalf("%s: component connected never became %v (readyz: %s)", n.name, want, body)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// answer is what the MMSC got back for one DeliverReq.
type answer struct {
	HTTP   int
	Status string // MM7 StatusCode, "" when there was no MM7 answer
	Err    error  // transport failure: no answer at all
	At     time.Time
}

func (a answer) String() string {
	if a.Err != nil {
		return "error: " + a.Err.Error()
	}
	return fmt.Sprintf("HTTP %d status %s", a.HTTP, a.Status)
}

// Post delivers d as the MMSC would, waiting at most timeout.
func (n *node) Post(d mm7sample.Deliver, timeout time.Duration) answer {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	code, body, err := mm7sample.Post(ctx, http.DefaultClient, n.mm7URL, mm7User, mm7Password, d)
	if err != nil {
		return answer{Err: err, At: time.Now()}
	}
	return answer{HTTP: code, Status: mm7sample.StatusCode(body), At: time.Now()}
}

// MustAccept posts d and fails t unless the answer is 1000.
func (n *node) MustAccept(d mm7sample.Deliver) {
	n.t.Helper()
	if a := n.Post(d, 60*time.Second); a.Err != nil || a.Status != "1000" {
		n.t.Fatalf("%s: deliver %s: %s, want 1000", n.name, d.MessageID, a)
	}
}

// freePorts returns n distinct free loopback ports. serve binds them
// itself a moment later; another process taking one meanwhile is rare on
// a test machine and fails the start loudly.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}
