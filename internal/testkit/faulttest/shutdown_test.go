package faulttest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"mmsprofile/internal/testkit/mm7sample"
)

// grace is publish.shutdown_grace as the env configures it (the default).
const grace = 10 * time.Second

// exitBound is how long a stopping serve may take before the test calls
// it hung: the grace and a generous margin for a loaded machine.
const exitBound = grace + 10*time.Second

// inflight is a DeliverReq posted on a connection of its own.
type inflight struct {
	d    mm7sample.Deliver
	sent chan struct{} // closed once the whole request was written
	done chan answer
}

// postAsync posts d to n on a new connection (no keep-alive, so that
// every post dials) and returns at once.
func postAsync(n *node, d mm7sample.Deliver, timeout time.Duration) *inflight {
	f := &inflight{d: d, sent: make(chan struct{}), done: make(chan answer, 1)}
	var once sync.Once
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
			WroteRequest: func(httptrace.WroteRequestInfo) { once.Do(func() { close(f.sent) }) },
		})
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		defer client.CloseIdleConnections()
		code, body, err := mm7sample.Post(ctx, client, n.mm7URL, mm7User, mm7Password, d)
		if err != nil {
			f.done <- answer{Err: err, At: time.Now()}
			return
		}
		f.done <- answer{HTTP: code, Status: mm7sample.StatusCode(body), At: time.Now()}
	}()
	return f
}

// waitSent waits until every request was written in full: the server is
// reading or working on it.
func waitSent(t *testing.T, fs ...*inflight) {
	t.Helper()
	for _, f := range fs {
		select {
		case <-f.sent:
		case a := <-f.done:
			t.Fatalf("deliver %s answered before it was sent in full: %s", f.d.MessageID, a)
		case <-time.After(60 * time.Second):
			t.Fatalf("deliver %s: request not written after 60 s", f.d.MessageID)
		}
	}
}

// bigPhoto is a delivery with a 4000×3000 camera picture: decoding and
// scaling it keeps serve busy for a while (more so under -race).
func bigPhoto(a account, messageID string, seed uint64) mm7sample.Deliver {
	d := photo(a, messageID, seed)
	d.Image = mm7sample.Photo(4000, 3000, seed)
	return d
}

// committedKeys returns the idempotency keys of the committed updates.
func committedKeys(ups []update) map[string]bool {
	out := map[string]bool{}
	for _, u := range ups {
		out[u.Key] = true
	}
	return out
}

// SIGTERM while large pictures are being worked on: each still gets its
// answer, serve exits 0 within the grace, and every update it answered
// 1000 for is published, before the exit or by the next serve.
func TestShutdownFinishesInFlight(t *testing.T) {
	e := newEnv(t, envOptions{accounts: 2})
	a := e.startNode("a")
	a.WaitConnected(true)

	alice, carol := e.accounts[0], e.accounts[1]
	// Pictures first (seconds each under -race), so that both posts are
	// in flight together.
	ds := []mm7sample.Deliver{bigPhoto(alice, "term-1", 301), bigPhoto(carol, "term-2", 302)}
	var posts []*inflight
	for _, d := range ds {
		posts = append(posts, postAsync(a, d, 2*exitBound))
	}
	waitSent(t, posts...)
	termAt := a.Terminate()
	code := a.WaitExit(exitBound)
	exitAt := time.Now()
	t.Logf("serve exited with status %d %v after SIGTERM", code, exitAt.Sub(termAt).Round(time.Millisecond))
	if code != 0 {
		t.Errorf("serve exit status %d after SIGTERM, want 0", code)
	}

	afterTerm := 0
	for _, p := range posts {
		ans := <-p.done
		t.Logf("deliver %s: %s, %v after SIGTERM", p.d.MessageID, ans, ans.At.Sub(termAt).Round(time.Millisecond))
		if ans.Err != nil || ans.Status != "1000" {
			t.Errorf("deliver %s in flight at SIGTERM: %s, want 1000", p.d.MessageID, ans)
		}
		if ans.At.After(termAt) {
			afterTerm++
		}
	}
	if afterTerm == 0 {
		t.Fatal("every delivery was answered before SIGTERM: nothing was in flight, the test proves nothing")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ups := e.updates(ctx)
	keys := committedKeys(ups)
	for _, p := range posts {
		if !keys[deliveryKey(p.d)] {
			t.Errorf("deliver %s answered 1000 but no update was committed", p.d.MessageID)
		}
	}
	st := e.outboxStates(ctx)
	t.Logf("outbox at exit: %v; events seen by then: %s", st, describe(e.contact.Events()))

	// Whatever the last pass could not publish, the next serve does.
	e.startNode("b")
	evs := e.settle(ups)
	t.Logf("events: %s; the last one %v after SIGTERM", describe(evs), lastAt(evs).Sub(termAt).Round(time.Millisecond))
	e.checkPublished(evs, ups, false)
	if len(evs) != 2 {
		t.Errorf("%d avatar events, want 2", len(evs))
	}
}

// After SIGTERM serve takes no new MMS (while a large picture is still
// being worked on, new connections are refused), and nothing it answered
// 1000 for is missing from the database.
func TestShutdownStopsAccepting(t *testing.T) {
	e := newEnv(t, envOptions{accounts: 2})
	a := e.startNode("a")
	a.WaitConnected(true)

	alice, carol := e.accounts[0], e.accounts[1]
	big := postAsync(a, bigPhoto(alice, "busy", 401), 2*exitBound)
	waitSent(t, big)
	termAt := a.Terminate()

	// Small deliveries, one connection each, until serve is gone.
	var probes []answer
	var sent []mm7sample.Deliver
	for i := 0; ; i++ {
		select {
		case <-a.exited:
		default:
			d := photo(carol, fmt.Sprintf("after-term-%d", i), uint64(500+i))
			sent = append(sent, d)
			probes = append(probes, <-postAsync(a, d, exitBound).done)
			time.Sleep(20 * time.Millisecond)
			continue
		}
		break
	}
	code := a.WaitExit(exitBound)
	t.Logf("serve exited with status %d %v after SIGTERM", code, time.Since(termAt).Round(time.Millisecond))
	if code != 0 {
		t.Errorf("serve exit status %d after SIGTERM, want 0", code)
	}
	bigAns := <-big.done
	t.Logf("deliver %s (in flight at SIGTERM): %s, %v after SIGTERM", big.d.MessageID, bigAns, bigAns.At.Sub(termAt).Round(time.Millisecond))
	if bigAns.Err != nil || bigAns.Status != "1000" {
		t.Errorf("deliver %s in flight at SIGTERM: %s, want 1000", big.d.MessageID, bigAns)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	keys := committedKeys(e.updates(ctx))
	if !keys[deliveryKey(big.d)] {
		t.Errorf("deliver %s answered 1000 but no update was committed", big.d.MessageID)
	}
	accepted, refusedWhileBusy := 0, 0
	outcomes := map[string]int{}
	for i, p := range probes {
		switch {
		case p.Err == nil && p.Status == "1000":
			accepted++
			outcomes["1000"]++
			if !keys[deliveryKey(sent[i])] {
				t.Errorf("deliver %s after SIGTERM answered 1000, %v after it, but no update was committed",
					sent[i].MessageID, p.At.Sub(termAt).Round(time.Millisecond))
			}
		case p.Err != nil:
			kind := "error"
			if errors.Is(p.Err, syscall.ECONNREFUSED) {
				kind = "refused"
				if p.At.Before(bigAns.At) {
					refusedWhileBusy++
				}
			}
			outcomes[kind]++
		default:
			outcomes[fmt.Sprintf("HTTP %d status %q", p.HTTP, p.Status)]++
		}
	}
	t.Logf("%d deliveries after SIGTERM: %v; %d refused while the large one was still being worked on", len(probes), outcomes, refusedWhileBusy)
	if refusedWhileBusy == 0 {
		t.Errorf("no new connection was refused while serve was finishing in-flight work (outcomes %v)", outcomes)
	}
	if accepted > 0 {
		t.Logf("%d deliveries sent right after SIGTERM were taken before the listener closed (each committed)", accepted)
	}
}

// SIGTERM closes the component stream the XMPP way: Prosody reads
// </stream:stream> before the connection ends, and logs no stream error.
func TestShutdownClosesStream(t *testing.T) {
	e := newEnv(t, envOptions{})
	a := e.startNode("a")
	a.WaitConnected(true)
	termAt := a.Terminate()
	code := a.WaitExit(exitBound)
	t.Logf("serve exited with status %d %v after SIGTERM", code, time.Since(termAt).Round(time.Millisecond))
	if code != 0 {
		t.Errorf("serve exit status %d after SIGTERM, want 0", code)
	}

	// Prosody may log the disconnect a moment after serve is gone.
	var sess []string
	deadline := time.Now().Add(10 * time.Second)
	for {
		log, err := e.xmpp.ReadLog()
		if err != nil {
			t.Fatal(err)
		}
		sess = lastComponentSession(string(log))
		if sessionEnded(sess) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("prosody's log of the component session's end:\n%s", strings.Join(sessionEnd(sess), ""))
	if !sessionEnded(sess) {
		t.Fatal("prosody never logged the component's disconnection")
	}
	checkCleanClose(t, sess)
}

// SIGKILL ends the component connection without a stream close: the
// check above tells the two apart.
func TestKilledDropsStream(t *testing.T) {
	e := newEnv(t, envOptions{})
	a := e.startNode("a")
	a.WaitConnected(true)
	a.Kill()
	var sess []string
	deadline := time.Now().Add(10 * time.Second)
	for !sessionEnded(sess) && time.Now().Before(deadline) {
		log, err := e.xmpp.ReadLog()
		if err != nil {
			t.Fatal(err)
		}
		sess = lastComponentSession(string(log))
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("prosody's log of the component session's end:\n%s", strings.Join(sessionEnd(sess), ""))
	if !sessionEnded(sess) {
		t.Fatal("prosody never logged the component's disconnection")
	}
	for _, l := range sess {
		if strings.Contains(l, "Received </stream:stream>") {
			t.Errorf("prosody logged a stream close from a killed component: %s", strings.TrimSpace(l))
		}
	}
}

// With the component link cut when SIGTERM comes, nothing can be
// published: serve still exits within the grace, and the next serve
// publishes what it accepted.
func TestShutdownComponentCut(t *testing.T) {
	e := newEnv(t, envOptions{accounts: 1})
	a := e.startNode("a")
	a.WaitConnected(true)

	alice := e.accounts[0]
	post := postAsync(a, bigPhoto(alice, "cut-1", 601), 2*exitBound)
	waitSent(t, post)
	e.gate.Cut()
	termAt := a.Terminate()
	code := a.WaitExit(exitBound)
	t.Logf("serve exited with status %d %v after SIGTERM", code, time.Since(termAt).Round(time.Millisecond))
	if code != 0 {
		t.Errorf("serve exit status %d after SIGTERM, want 0", code)
	}
	ans := <-post.done
	t.Logf("deliver %s: %s, %v after SIGTERM", post.d.MessageID, ans, ans.At.Sub(termAt).Round(time.Millisecond))
	if ans.Err != nil || ans.Status != "1000" {
		t.Fatalf("deliver %s in flight at SIGTERM: %s, want 1000", post.d.MessageID, ans)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ups := e.updates(ctx)
	if !committedKeys(ups)[deliveryKey(post.d)] {
		t.Fatalf("deliver %s answered 1000 but no update was committed", post.d.MessageID)
	}
	if st := e.outboxStates(ctx); st["pending"] == 0 {
		t.Errorf("outbox at exit: %v, want the update pending (the component link was cut)", st)
	}
	if evs := e.contact.Events(); len(evs) != 0 {
		t.Errorf("published with the component link cut: %s", describe(evs))
	}

	e.restartAndCheck(ups, 1)
}

// lastComponentSession returns the lines Prosody logged for the newest
// component connection: its logger is named after the session ("jcp…"),
// from "Incoming Jabber component connection" on, and the stream errors
// the module logs meanwhile.
func lastComponentSession(log string) []string {
	var name string
	var lines []string
	for line := range strings.Lines(log) {
		if strings.Contains(line, "Incoming Jabber component connection") {
			name = sessionLogger(line)
			lines = nil
		}
		// Prosody logs a stream error it sends under the module's name.
		if name != "" && (strings.Contains(line, name) || strings.Contains(line, "Disconnecting component")) {
			lines = append(lines, line)
		}
	}
	return lines
}

// sessionLogger finds the "jcp…" logger name on a Prosody log line.
func sessionLogger(line string) string {
	for f := range strings.FieldsSeq(line) {
		if strings.HasPrefix(f, "jcp") {
			return f
		}
	}
	return ""
}

// sessionEnded reports whether Prosody logged the session's disconnection.
func sessionEnded(sess []string) bool {
	for _, l := range sess {
		if strings.Contains(l, "component disconnected:") {
			return true
		}
	}
	return false
}

// sessionEnd is the session's last few log lines, for the test log.
func sessionEnd(sess []string) []string {
	return sess[max(0, len(sess)-6):]
}

// checkCleanClose fails t unless the session ended with the component's
// </stream:stream> and no stream error either way.
//
// What Prosody 0.12's mod_component logs: a component closing its
// stream is "Received </stream:stream>", then (Prosody closing its side)
// "component disconnected: HOST (stream error)", the reason it gives
// every close it makes itself, error or not. A connection that just
// ends logs only "component disconnected: HOST ((nil))" (or the socket
// error); a stream error is "Disconnecting component, <stream:error> is"
// when Prosody sends one, "Session closed by remote with error" when it
// receives one, and "XML parse error" for a stream cut mid-element.
func checkCleanClose(t *testing.T, sess []string) {
	t.Helper()
	closed := false
	for _, l := range sess {
		switch {
		case strings.Contains(l, "Received </stream:stream>"):
			closed = true
		case strings.Contains(l, "<stream:error>"),
			strings.Contains(l, "closed by remote with error"),
			strings.Contains(l, "XML parse error"):
			t.Errorf("component session ended with a stream error: %s", strings.TrimSpace(l))
		}
	}
	if !closed {
		t.Errorf("prosody never received the component's </stream:stream>: the connection was dropped, not closed")
	}
}
