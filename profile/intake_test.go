package profile

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mmsprofile/avatar"
	"mmsprofile/mmsbridge"
	"mmsprofile/storage"
)

// recordingStore notes what the rules write beside the update: the
// inbound records logged on their own, and the updates committed.
type recordingStore struct {
	storage.Store
	mu      sync.Mutex
	logged  []storage.Inbound
	commits []storage.Update
}

func (r *recordingStore) LogInbound(ctx context.Context, in storage.Inbound) error {
	r.mu.Lock()
	r.logged = append(r.logged, in)
	r.mu.Unlock()
	return r.Store.LogInbound(ctx, in)
}

func (r *recordingStore) CommitUpdate(ctx context.Context, u storage.Update) (int64, error) {
	id, err := r.Store.CommitUpdate(ctx, u)
	if err == nil {
		r.mu.Lock()
		r.commits = append(r.commits, u)
		r.mu.Unlock()
	}
	return id, err
}

// countingImager counts the pictures it is asked to make, and holds each
// until release is closed, when that is set.
type countingImager struct {
	made    atomic.Int64
	started chan struct{}
	release chan struct{}
}

func (c *countingImager) Make(ctx context.Context, data []byte) (avatar.Image, error) {
	c.made.Add(1)
	if c.started != nil {
		c.started <- struct{}{}
	}
	if c.release != nil {
		<-c.release
	}
	return fakeImager{}.Make(ctx, data)
}

func newIntakeFixture(t *testing.T, perHour int, im Imager) (*fixture, *recordingStore) {
	t.Helper()
	f := newFixture(t)
	rs := &recordingStore{Store: f.store}
	f.store = rs
	f.svc = New(rs, im, Rules{
		Domains: []string{"example.org"}, Component: "mms.example.org",
		ServiceNumber: "12345", UpdatesPerHour: perHour, RepliesPerDay: 100,
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	f.svc.now = func() time.Time { return f.now }
	f.link(t)
	return f, rs
}

// An accepted MMS is recorded in the inbound log by its update's commit,
// in one transaction, and by nothing else.
func TestAcceptedIsRecordedWithItsUpdate(t *testing.T) {
	f, rs := newIntakeFixture(t, 2, fakeImager{})
	m := msg(aliceNumber, img("a"), text("hi"))
	if err := f.svc.Receive(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	if len(rs.commits) != 1 {
		t.Fatalf("%d commits, want 1", len(rs.commits))
	}
	u := rs.commits[0]
	want := storage.Inbound{Source: "mm7", Key: m.Key, Sender: aliceNumber, JID: alice, Outcome: "accepted", Received: f.now}
	if u.Inbound == nil || *u.Inbound != want {
		t.Fatalf("the update's inbound record = %+v, want %+v", u.Inbound, want)
	}
	if u.Limit == nil || u.Limit.Key != "updates:"+aliceNumber || u.Limit.Rate != perHour(2) {
		t.Fatalf("the update's limit = %+v, want the sender's hourly bucket", u.Limit)
	}
	if len(rs.logged) != 0 {
		t.Fatalf("also logged on its own: %+v", rs.logged)
	}
	// The commit took the token, and nothing else did: one of two left.
	if ok, _, err := f.store.Check(t.Context(), "updates:"+aliceNumber, perHour(2), f.now); err != nil || !ok {
		t.Fatalf("Check after one MMS = %v, %v; want a token left", ok, err)
	}

	// What commits no update is logged on its own, as before.
	err := f.svc.Receive(t.Context(), msg("+12025550999", img("a")))
	if _, ok := mmsbridge.AsRefusal(err); !ok {
		t.Fatalf("unknown sender: %v", err)
	}
	if len(rs.logged) != 1 || rs.logged[0].Outcome != "refused" {
		t.Fatalf("refusal logged as %+v", rs.logged)
	}
}

// A redelivery is answered as accepted, logged on its own, commits
// nothing and costs its token, as it always did.
func TestDuplicateLogsAndSpends(t *testing.T) {
	f, rs := newIntakeFixture(t, 3, fakeImager{})
	m := msg(aliceNumber, img("a"))
	for i := range 2 {
		if err := f.svc.Receive(t.Context(), m); err != nil {
			t.Fatalf("delivery %d: %v", i, err)
		}
	}
	if len(rs.commits) != 1 || len(rs.logged) != 1 || rs.logged[0].Outcome != "accepted" || rs.logged[0].Key != m.Key {
		t.Fatalf("commits %d, logged %+v; want one commit and the redelivery logged as accepted", len(rs.commits), rs.logged)
	}
	if err := f.svc.Receive(t.Context(), msg(aliceNumber, text("third"))); err != nil {
		t.Fatal(err)
	}
	err := f.svc.Receive(t.Context(), msg(aliceNumber, text("fourth")))
	if r, ok := mmsbridge.AsRefusal(err); !ok || r.Reason != mmsbridge.ReasonDenied {
		t.Fatalf("fourth token: %v, want too many updates", err)
	}
}

// An MMS refused for its content still takes its token: a flood of
// unusable pictures is limited like any other.
func TestRefusedContentSpends(t *testing.T) {
	f, _ := newIntakeFixture(t, 2, fakeImager{})
	for i := range 2 {
		err := f.svc.Receive(t.Context(), msg(aliceNumber, img("damaged")))
		if r, ok := mmsbridge.AsRefusal(err); !ok || r.Reason != mmsbridge.ReasonContent {
			t.Fatalf("damaged picture %d: %v, want a content refusal", i, err)
		}
	}
	err := f.svc.Receive(t.Context(), msg(aliceNumber, img("damaged")))
	if r, ok := mmsbridge.AsRefusal(err); !ok || r.Reason != mmsbridge.ReasonDenied {
		t.Fatalf("third: %v, want too many updates", err)
	}
}

// A sender past the limit is refused before its picture is decoded.
func TestLimitedSenderCostsNoDecode(t *testing.T) {
	im := &countingImager{}
	f, _ := newIntakeFixture(t, 1, im)
	if err := f.svc.Receive(t.Context(), msg(aliceNumber, img("a"))); err != nil {
		t.Fatal(err)
	}
	err := f.svc.Receive(t.Context(), msg(aliceNumber, img("b")))
	if r, ok := mmsbridge.AsRefusal(err); !ok || r.Reason != mmsbridge.ReasonDenied {
		t.Fatalf("second: %v, want too many updates", err)
	}
	if n := im.made.Load(); n != 1 {
		t.Fatalf("%d pictures decoded, want 1: the refused one cost one too", n)
	}
}

// Two MMS of one sender at once with a limit of one: both pass the early
// read, and the commit refuses the second.
func TestConcurrentMMSOverLimit(t *testing.T) {
	im := &countingImager{started: make(chan struct{}), release: make(chan struct{})}
	f, rs := newIntakeFixture(t, 1, im)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		m := msg(aliceNumber, img(string(rune('a'+i))))
		wg.Go(func() { errs[i] = f.svc.Receive(t.Context(), m) })
	}
	// Both are past the read of the bucket, making their pictures.
	<-im.started
	<-im.started
	close(im.release)
	wg.Wait()
	var accepted, denied int
	for _, err := range errs {
		r, refused := mmsbridge.AsRefusal(err)
		switch {
		case err == nil:
			accepted++
		case refused && r.Reason == mmsbridge.ReasonDenied:
			denied++
		default:
			t.Errorf("unexpected: %v", err)
		}
	}
	if accepted != 1 || denied != 1 || len(rs.commits) != 1 {
		t.Fatalf("%d accepted, %d refused, %d commits; want one of each and one commit", accepted, denied, len(rs.commits))
	}
	if got := f.replies(t); len(got) != 1 || !strings.Contains(got[0], "Too many updates") {
		t.Fatalf("replies %q, want the one telling the phone to wait", got)
	}
}
