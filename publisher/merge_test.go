package publisher

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"mmsprofile/outbox"
	"mmsprofile/storage"
	"mmsprofile/vcard"
)

func vcardSets(iqs []string) int { return countIQs(iqs, "set <vCard") }

// A backlog of one account's profile items is one vCard write in a pass,
// and ends where the items one by one would: the newest status, the
// newest nickname, each vCard field as the last item that set it left it,
// the user's own fields kept; every item is done.
func TestQueuedProfilesMergeIntoOneWrite(t *testing.T) {
	w := &fakeServer{vcard: `<vCard xmlns='vcard-temp'><FN>Alice</FN><X-MINE>kept</X-MINE></vCard>`}
	p, st := setupWith(t, w, nil, Config{StatusAsMood: true})
	str := func(s string) *string { return &s }
	for _, prof := range []outbox.Change{
		{Status: str("one"), Nick: str("Ally")},
		{Status: str("two"), VCard: &vcard.Fields{Title: str("Diver"), URL: str("https://a.example")}},
		{Status: str("three"), VCard: &vcard.Fields{Title: str("Pilot")}},
		{Status: str("  ")}, // empty: says nothing, undoes nothing
	} {
		if err := st.Enqueue(t.Context(), outbox.ChangeEntry("alice@example.org", prof)); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Enqueue(t.Context(), outbox.MessageEntry("alice@example.org", "updated")); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := vcardSets(w.iqs); n != 1 {
		t.Fatalf("%d vCard writes for four queued profile items, want 1:\n%s", n, strings.Join(w.iqs, "\n"))
	}
	for _, want := range []string{"<FN>Alice</FN>", "<X-MINE>kept</X-MINE>", "<DESC>three</DESC>", "<NICKNAME>Ally</NICKNAME>", "<TITLE>Pilot</TITLE>", "<URL>https://a.example</URL>"} {
		if !strings.Contains(w.vcard, want) {
			t.Errorf("vcard lacks %s:\n%s", want, w.vcard)
		}
	}
	moods := 0
	for _, iq := range w.iqs {
		if strings.Contains(iq, "http://jabber.org/protocol/mood") {
			moods++
			if !strings.Contains(iq, "three") {
				t.Errorf("mood is not the newest status: %s", iq)
			}
		}
	}
	if moods != 1 {
		t.Errorf("%d moods published, want 1", moods)
	}
	if s, _ := st.OutboxStats(t.Context()); s.Pending != 0 || s.Failed != 0 {
		t.Fatalf("outbox %+v, want every item done", s)
	}
}

// A profile item that cannot be read is not merged over: what comes after
// it waits for its own turn, and it fails alone.
func TestMergeStopsAtAnUnreadableItem(t *testing.T) {
	w := &fakeServer{}
	p, st := setup(t, w, nil)
	drainAroundUnreadable(t, p, st)
	if n := vcardSets(w.iqs); n != 2 {
		t.Fatalf("%d vCard writes, want 2 (one before the unreadable item, one after)", n)
	}
	if !strings.Contains(w.vcard, "<DESC>two</DESC>") {
		t.Fatalf("vcard %s", w.vcard)
	}
	if s, _ := st.OutboxStats(t.Context()); s.Pending != 0 || s.Failed != 1 {
		t.Fatalf("outbox %+v, want the unreadable item failed and the rest done", s)
	}
}

// drainAroundUnreadable queues alice's status "one", a profile item that
// cannot be read and status "two", and drains them in one pass.
func drainAroundUnreadable(t *testing.T, p *Publisher, st storage.Store) {
	t.Helper()
	enqueueStatus(t, st, "alice@example.org", "one")
	if err := st.Enqueue(t.Context(), storage.Entry{JID: "alice@example.org", Kind: storage.KindProfile, Payload: []byte("not json")}); err != nil {
		t.Fatal(err)
	}
	enqueueStatus(t, st, "alice@example.org", "two")
	if _, err := p.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// A backlog spread over accounts, queued interleaved, is read account by
// account: a pass holds up to Batch/16 items of each account, so each of
// its accounts gets one vCard write for its share, and Drain says more is
// waiting until the last share.
func TestBacklogPassTakesEachAccountsShare(t *testing.T) {
	w := &fakeServer{vcard: `<vCard xmlns='vcard-temp'/>`}
	p, st := setupWith(t, w, nil, Config{Concurrency: 4, Batch: 32}) // 2 per account
	accounts := []string{"alice@example.org", "bob@example.org", "carol@example.org"}
	const per = 10
	for i := range per {
		for _, a := range accounts {
			status := fmt.Sprintf("%s %d", a, i)
			if err := st.Enqueue(t.Context(), outbox.ChangeEntry(a, outbox.Change{Status: &status})); err != nil {
				t.Fatal(err)
			}
		}
	}
	var results int
	p.OnResult = func(r Result) {
		if r.Err != nil || !r.Final {
			t.Errorf("item %d: %+v", r.Item.ID, r)
		}
		results++
	}
	passes := 0
	for more := true; more; passes++ {
		var err error
		if more, err = p.Drain(t.Context()); err != nil {
			t.Fatal(err)
		}
		if passes == 0 && results != 2*len(accounts) {
			t.Fatalf("first pass published %d items, want 2 of each account's", results)
		}
	}
	if results != per*len(accounts) {
		t.Fatalf("%d results, want %d", results, per*len(accounts))
	}
	if want := per / 2; passes < want || passes > want+1 {
		t.Errorf("%d passes, want %d (+1 finding nothing)", passes, want)
	}
	if n, want := vcardSets(w.iqs), per/2*len(accounts); n != want {
		t.Errorf("%d vCard writes, want %d: one per account and pass", n, want)
	}
	if s, _ := st.OutboxStats(t.Context()); s.Pending != 0 || s.Failed != 0 {
		t.Fatalf("outbox %+v, want every item done", s)
	}
}

// countingOutbox counts the writes that mark items done and the reads of
// due items; Drain's groups write from several goroutines.
type countingOutbox struct {
	storage.Store
	doneWrites atomic.Int64
	dueReads   atomic.Int64
}

func (c *countingOutbox) DueOutbox(ctx context.Context, now time.Time, lim storage.DueLimits) ([]storage.OutboxItem, error) {
	c.dueReads.Add(1)
	return c.Store.DueOutbox(ctx, now, lim)
}

func (c *countingOutbox) OutboxDone(ctx context.Context, ids ...int64) error {
	c.doneWrites.Add(1)
	return c.Store.OutboxDone(ctx, ids...)
}

// A backlog after an outage is, per MMS, a status and a message telling
// the user. An account's share of a pass is then one merged profile write
// and its messages in order, all marked done in one write, not one each.
func TestBacklogMarksAnAccountsShareOnce(t *testing.T) {
	w := &fakeServer{vcard: `<vCard xmlns='vcard-temp'/>`}
	_, st := setupWith(t, w, nil, Config{})
	counted := &countingOutbox{Store: st}
	p := New(counted, w, nil, Config{Concurrency: 4, RetryMin: time.Second, RetryMax: time.Minute, MaxAttempts: 3},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	accounts := []string{"alice@example.org", "bob@example.org"}
	const per = 10
	for i := range per {
		for _, a := range accounts {
			status := fmt.Sprintf("status %d", i)
			if _, err := st.CommitUpdate(t.Context(), storage.Update{Source: "mm7", Key: fmt.Sprint(a, i), JID: a, Number: "+1202555" + fmt.Sprint(1000+i),
				Status: status, Received: time.Now(),
				Entries: []storage.Entry{outbox.ChangeEntry(a, outbox.Change{Status: &status}), outbox.MessageEntry(a, "updated "+fmt.Sprint(i))}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var results int
	p.OnResult = func(r Result) {
		if r.Err != nil || !r.Final {
			t.Errorf("item %d: %+v", r.Item.ID, r)
		}
		results++
	}
	if _, err := p.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if want := 2 * per * len(accounts); results != want {
		t.Fatalf("%d results, want %d", results, want)
	}
	if n := counted.doneWrites.Load(); n != int64(len(accounts)) {
		t.Errorf("%d done writes, want %d: one per account and pass", n, len(accounts))
	}
	for _, a := range accounts {
		var got []string
		for _, m := range w.messages {
			if body, ok := strings.CutPrefix(m, a+": "); ok {
				got = append(got, body)
			}
		}
		if len(got) != per || got[0] != "updated 0" || got[per-1] != fmt.Sprintf("updated %d", per-1) {
			t.Errorf("%s's messages %q, want updated 0 … %d in order", a, got, per-1)
		}
	}
	if s, _ := st.OutboxStats(t.Context()); s.Pending != 0 || s.Failed != 0 {
		t.Fatalf("outbox %+v, want every item done", s)
	}
}
