package publisher

import (
	"strings"
	"testing"
	"time"

	"mmsprofile/outbox"
	"mmsprofile/storage"
	"mmsprofile/storage/storetest"
)

// countIQs counts the IQs the fake server saw that start with prefix
// ("get <vCard", "set <vCard").
func countIQs(iqs []string, prefix string) int {
	n := 0
	for _, iq := range iqs {
		if strings.HasPrefix(iq, prefix) {
			n++
		}
	}
	return n
}

func vcardGets(iqs []string) int { return countIQs(iqs, "get <vCard") }

// commitPhotoAndStatus commits one MMS with a picture and a status line:
// an avatar item and a profile item, both merging into the vCard.
func commitPhotoAndStatus(t *testing.T, st storage.Store, key, status string) {
	t.Helper()
	if _, err := st.CommitUpdate(t.Context(), storage.Update{Source: "mm7", Key: key, JID: "alice@example.org", Number: "+12025550143",
		Avatar: storetest.MakeAvatar(key, 200), Status: status, Received: time.Now(),
		Entries: []storage.Entry{outbox.ChangeEntry("alice@example.org", outbox.Change{Status: &status})}}); err != nil {
		t.Fatal(err)
	}
}

// An MMS's avatar and status, in one pass, read the account's vCard once:
// the status merge starts from what the photo's write left, and loses
// nothing.
func TestVCardReadOncePerPass(t *testing.T) {
	w := &fakeServer{vcard: `<vCard xmlns='vcard-temp'><FN>Alice</FN></vCard>`}
	p, st := setup(t, w, nil)
	commitPhotoAndStatus(t, st, "k1", "one")
	if _, err := p.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := vcardGets(w.iqs); n != 1 {
		t.Fatalf("%d vCard reads for a photo and a status, want 1", n)
	}
	for _, want := range []string{"<FN>Alice</FN>", "<DESC>one</DESC>", "<BINVAL>"} {
		if !strings.Contains(w.vcard, want) {
			t.Fatalf("vcard lacks %s: %s", want, w.vcard)
		}
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
	commitPhotoAndStatus(t, st, "k1", "one")
	if _, err := p.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := vcardGets(w.iqs); n != 2 {
		t.Fatalf("%d vCard reads, want 2: the status came over the window after the photo's write", n)
	}
}

// A server that converts vCards renders vcard-temp from PEP: its vCard
// is read for every merge. Two merges in one pass there take a profile
// item that cannot be read between two good ones (it stops the merge).
func TestVCardMemoNotWhereServerConverts(t *testing.T) {
	w := &fakeServer{converts: true}
	p, st := setup(t, w, nil)
	drainAroundUnreadable(t, p, st)
	if n := vcardGets(w.iqs); n != 2 {
		t.Fatalf("%d vCard reads, want 2", n)
	}
}
