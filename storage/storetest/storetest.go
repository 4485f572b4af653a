package storetest

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
	"time"

	"mmsprofile/storage"
)

// precision is the coarsest timestamp resolution a backend may keep
// (PostgreSQL's timestamptz); times are compared after truncating to it.
const precision = time.Microsecond

// Open returns a new, empty Store each time it is called and arranges for
// its Close with t.Cleanup.
type Open func(t *testing.T) storage.Store

// Run runs the whole suite: one subtest per storage group (Links,
// PendingLinks, …, and Store for what spans them all), each test in
// parallel on a Store of its own. A backend runs Run; the group functions
// are there to run or read one group alone.
func Run(t *testing.T, open Open) {
	groups := []struct {
		name string
		run  func(*testing.T, Open)
	}{
		{"Links", Links},
		{"PendingLinks", PendingLinks},
		{"Preferences", Preferences},
		{"Updates", Updates},
		{"InboundLog", InboundLog},
		{"Outbox", Outbox},
		{"Limiter", Limiter},
		{"Maintenance", Maintenance},
		{"Store", Store},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			g.run(t, open)
		})
	}
}

// test is one test of the suite, run on a Store of its own. Tests take the
// whole Store even where they check one group: most need another group to
// set up (an outbox item comes from a commit).
type test struct {
	name string
	fn   func(t *testing.T, s storage.Store)
}

func run(t *testing.T, open Open, tests []test) {
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

// Store checks what every method must do alike, and what spans the groups.
func Store(t *testing.T, open Open) {
	run(t, open, []test{
		{"ContextCanceled", testContextCanceled},
	})
}

// MakeAvatar returns a deterministic avatar of n bytes derived from seed.
func MakeAvatar(seed string, n int) *storage.Avatar {
	data := make([]byte, 0, n+sha1.Size)
	h := sha1.Sum([]byte(seed))
	for len(data) < n {
		data = append(data, h[:]...)
		h = sha1.Sum(h[:])
	}
	data = data[:n]
	sum := sha1.Sum(data)
	return &storage.Avatar{
		ID:     hex.EncodeToString(sum[:]),
		Type:   "image/png",
		Width:  128,
		Height: 128,
		Data:   data,
	}
}

func update(key, jid string, av *storage.Avatar) storage.Update {
	return storage.Update{
		Source:   "mm7",
		Key:      key,
		JID:      jid,
		Number:   "+12025550143",
		Avatar:   av,
		Status:   "status of " + key,
		Received: time.Now(),
	}
}

func commit(t *testing.T, s storage.Updates, u storage.Update) int64 {
	t.Helper()
	id, err := s.CommitUpdate(t.Context(), u)
	if err != nil {
		t.Fatalf("CommitUpdate(%s/%s): %v", u.Source, u.Key, err)
	}
	return id
}

// all returns every pending outbox item, due or not.
func all(t *testing.T, s storage.Outbox) []storage.OutboxItem {
	t.Helper()
	items, err := s.DueOutbox(t.Context(), time.Now().Add(1000*time.Hour), storage.Due(100000))
	if err != nil {
		t.Fatalf("DueOutbox: %v", err)
	}
	return items
}

func addLink(t *testing.T, s storage.Links, jid, number string) {
	t.Helper()
	if err := s.AddLink(t.Context(), jid, number, "test"); err != nil {
		t.Fatalf("AddLink(%s, %s): %v", jid, number, err)
	}
}

func sameAvatar(t *testing.T, what string, got, want *storage.Avatar) {
	t.Helper()
	switch {
	case got == nil && want == nil:
		return
	case got == nil || want == nil:
		t.Fatalf("%s: avatar = %v, want %v", what, got, want)
	}
	if got.ID != want.ID || got.Type != want.Type || got.Width != want.Width ||
		got.Height != want.Height || !bytes.Equal(got.Data, want.Data) {
		t.Fatalf("%s: avatar = {%s %s %dx%d %d bytes}, want {%s %s %dx%d %d bytes}", what,
			got.ID, got.Type, got.Width, got.Height, len(got.Data),
			want.ID, want.Type, want.Width, want.Height, len(want.Data))
	}
}

// within fails unless before <= got <= after at the backend's precision.
func within(t *testing.T, what string, got, before, after time.Time) {
	t.Helper()
	if got.IsZero() {
		t.Fatalf("%s is zero", what)
	}
	if got.Before(before.Truncate(precision)) || got.After(after) {
		t.Fatalf("%s = %v, want between %v and %v", what, got, before, after)
	}
}

func addLinkAs(t *testing.T, s storage.Links, jid, number, actor string) {
	t.Helper()
	if err := s.AddLink(t.Context(), jid, number, actor); err != nil {
		t.Fatalf("AddLink(%s, %s): %v", jid, number, err)
	}
}

func pending(t *testing.T, s storage.Outbox, jid string) []storage.OutboxItem {
	t.Helper()
	var out []storage.OutboxItem
	for _, it := range all(t, s) {
		if it.JID == jid {
			out = append(out, it)
		}
	}
	return out
}

// kinds describes items as "jid/kind" in order, for compact comparisons.
func kinds(items []storage.OutboxItem) string {
	var b bytes.Buffer
	for i, it := range items {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s/%s", it.JID, it.Kind)
	}
	return b.String()
}

func mustErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s = %v, want %v", what, err, want)
	}
}

func ok(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}
