package publisher

import (
	"strings"
	"testing"
	"time"
)

func vcardGets(iqs []string) int {
	n := 0
	for _, iq := range iqs {
		if strings.HasPrefix(iq, "get <vCard") {
			n++
		}
	}
	return n
}

// An account's queued items in one pass read its vCard once: each later
// merge starts from what the one before wrote, and loses nothing.
func TestVCardReadOncePerPass(t *testing.T) {
	w := &fakeServer{vcard: `<vCard xmlns='vcard-temp'><FN>Alice</FN></vCard>`}
	p, st := setup(t, w, nil)
	for _, s := range []string{"one", "two", "three"} {
		enqueueStatus(t, st, "alice@example.org", s)
	}
	if _, err := p.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := vcardGets(w.iqs); n != 1 {
		t.Fatalf("%d vCard reads for three items, want 1", n)
	}
	if !strings.Contains(w.vcard, "<FN>Alice</FN>") || !strings.Contains(w.vcard, "<DESC>three</DESC>") {
		t.Fatalf("vcard %s", w.vcard)
	}

	// The next pass reads again: the user may have changed it since.
	w.vcard = `<vCard xmlns='vcard-temp'><FN>Alice B.</FN></vCard>`
	enqueueStatus(t, st, "alice@example.org", "four")
	if _, err := p.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := vcardGets(w.iqs); n != 2 || !strings.Contains(w.vcard, "<FN>Alice B.</FN>") {
		t.Fatalf("%d reads, vcard %s; want the user's change kept", n, w.vcard)
	}
}

// Past the window, even within one pass, the vCard is read again.
func TestVCardMemoWindow(t *testing.T) {
	w := &fakeServer{}
	p, st := setup(t, w, nil)
	now := time.Now()
	p.now = func() time.Time {
		now = now.Add(vcardMemoWindow / 2)
		return now
	}
	for _, s := range []string{"one", "two", "three"} {
		enqueueStatus(t, st, "alice@example.org", s)
	}
	if _, err := p.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := vcardGets(w.iqs); n != 3 {
		t.Fatalf("%d vCard reads, want 3: each item came over the window after the last write", n)
	}
}

// A server that converts vCards renders vcard-temp from PEP: its vCard
// is read each time.
func TestVCardMemoNotWhereServerConverts(t *testing.T) {
	w := &fakeServer{converts: true}
	p, st := setup(t, w, nil)
	for _, s := range []string{"one", "two"} {
		enqueueStatus(t, st, "alice@example.org", s)
	}
	if _, err := p.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := vcardGets(w.iqs); n != 2 {
		t.Fatalf("%d vCard reads, want 2", n)
	}
}
