package storetest

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"mmsprofile/storage"
)

// Links checks storage.Links: binding, listing, unbinding and the audit.
func Links(t *testing.T, open Open) {
	run(t, open, []test{
		{"LinksAddList", testLinksAddList},
		{"LinkIdempotent", testLinkIdempotent},
		{"LinkConflict", testLinkConflict},
		{"LinkNotFound", testLinkNotFound},
		{"LinksFilter", testLinksFilter},
		{"RemoveLinks", testRemoveLinks},
		{"Audit", testAudit},
	})
}

// PendingLinks checks storage.PendingLinks: codes asked for, failed and
// confirmed.
func PendingLinks(t *testing.T, open Open) {
	run(t, open, []test{
		{"PendingLinkRoundTrip", testPendingLinkRoundTrip},
		{"PendingLinkReplaces", testPendingLinkReplaces},
		{"PendingLinkFailed", testPendingLinkFailed},
		{"ConfirmPendingLink", testConfirmPendingLink},
		{"ConfirmPendingLinkConflict", testConfirmPendingLinkConflict},
		{"DeletePendingLink", testDeletePendingLink},
	})
}

// Preferences checks storage.Preferences.
func Preferences(t *testing.T, open Open) {
	run(t, open, []test{
		{"Prefs", testPrefs},
	})
}

func testLinksAddList(t *testing.T, s storage.Store) {
	before := time.Now()
	// Added out of order so the listing's ordering is tested.
	addLink(t, s, "bob@example.org", "+12025550003")
	addLink(t, s, "alice@example.org", "+12025550002")
	addLink(t, s, "alice@example.org", "+12025550001")
	after := time.Now()

	links, err := s.Links(t.Context(), storage.LinkFilter{})
	ok(t, "Links", err)
	want := []storage.Link{
		{JID: "alice@example.org", Number: "+12025550001"},
		{JID: "alice@example.org", Number: "+12025550002"},
		{JID: "bob@example.org", Number: "+12025550003"},
	}
	if len(links) != len(want) {
		t.Fatalf("Links = %v, want %v", links, want)
	}
	for i, l := range links {
		if l.JID != want[i].JID || l.Number != want[i].Number {
			t.Fatalf("Links[%d] = %s %s, want %s %s", i, l.JID, l.Number, want[i].JID, want[i].Number)
		}
		within(t, fmt.Sprintf("Links[%d].Created", i), l.Created, before, after)
	}

	l, err := s.LinkByNumber(t.Context(), "+12025550002")
	ok(t, "LinkByNumber", err)
	if l.JID != "alice@example.org" || l.Number != "+12025550002" {
		t.Fatalf("LinkByNumber = %+v", l)
	}
	within(t, "LinkByNumber.Created", l.Created, before, after)
}

func testLinkIdempotent(t *testing.T, s storage.Store) {
	addLink(t, s, "alice@example.org", "+12025550001")
	first, err := s.LinkByNumber(t.Context(), "+12025550001")
	ok(t, "LinkByNumber", err)
	// Linking the same pair again is a no-op, not a conflict, and keeps
	// the original creation time.
	addLink(t, s, "alice@example.org", "+12025550001")
	links, err := s.Links(t.Context(), storage.LinkFilter{})
	ok(t, "Links", err)
	if len(links) != 1 {
		t.Fatalf("Links = %v, want one", links)
	}
	if !links[0].Created.Equal(first.Created) {
		t.Fatalf("Created changed from %v to %v", first.Created, links[0].Created)
	}
}

func testLinkConflict(t *testing.T, s storage.Store) {
	addLink(t, s, "alice@example.org", "+12025550001")
	err := s.AddLink(t.Context(), "mallory@example.org", "+12025550001", "cli")
	mustErr(t, "AddLink of a linked number to another JID", err, storage.ErrConflict)
	l, err := s.LinkByNumber(t.Context(), "+12025550001")
	ok(t, "LinkByNumber", err)
	if l.JID != "alice@example.org" {
		t.Fatalf("link now belongs to %s", l.JID)
	}
}

func testLinkNotFound(t *testing.T, s storage.Store) {
	_, err := s.LinkByNumber(t.Context(), "+12025550009")
	mustErr(t, "LinkByNumber(unknown)", err, storage.ErrNotFound)
	links, err := s.Links(t.Context(), storage.LinkFilter{})
	if err != nil || len(links) != 0 {
		t.Fatalf("Links on an empty store = %v, %v", links, err)
	}
}

func testLinksFilter(t *testing.T, s storage.Store) {
	addLink(t, s, "alice@example.org", "+12025550001")
	addLink(t, s, "alice@example.org", "+12025550002")
	addLink(t, s, "bob@example.net", "+12025550003")
	addLink(t, s, "carol@example.org", "+442079460001")
	addLink(t, s, "under_score@example.org", "+33123456789")
	for _, tc := range []struct {
		f    storage.LinkFilter
		want string
	}{
		{storage.LinkFilter{}, "alice+12025550001 alice+12025550002 bob+12025550003 carol+442079460001 under_score+33123456789"},
		{storage.LinkFilter{JID: "@example.org"}, "alice+12025550001 alice+12025550002 carol+442079460001 under_score+33123456789"},
		{storage.LinkFilter{Number: "+1202"}, "alice+12025550001 alice+12025550002 bob+12025550003"},
		{storage.LinkFilter{JID: "alice", Number: "0002"}, "alice+12025550002"},
		{storage.LinkFilter{JID: "example.net", Number: "+44"}, ""},
		// A plain substring: no SQL wildcards.
		{storage.LinkFilter{JID: "_"}, "under_score+33123456789"},
		{storage.LinkFilter{JID: "%"}, ""},
		{storage.LinkFilter{JID: "ALICE"}, ""},
	} {
		links, err := s.Links(t.Context(), tc.f)
		ok(t, "Links", err)
		var got []string
		for _, l := range links {
			name, _, _ := bytes.Cut([]byte(l.JID), []byte("@"))
			got = append(got, string(name)+l.Number)
		}
		if g := joinSpace(got); g != tc.want {
			t.Errorf("Links(%+v) = %q, want %q", tc.f, g, tc.want)
		}
	}
}

func joinSpace(ss []string) string {
	var b bytes.Buffer
	for i, s := range ss {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s)
	}
	return b.String()
}

func testRemoveLinks(t *testing.T, s storage.Store) {
	addLink(t, s, "alice@example.org", "+12025550001")
	addLink(t, s, "alice@example.org", "+12025550002")
	addLink(t, s, "bob@example.org", "+12025550003")

	remove := func(key, want string) {
		t.Helper()
		gone, err := s.RemoveLinks(t.Context(), key, "cli")
		ok(t, "RemoveLinks("+key+")", err)
		var got []string
		for _, l := range gone {
			if l.Created.IsZero() {
				t.Errorf("RemoveLinks(%s) returned %+v without its creation time", key, l)
			}
			got = append(got, l.JID+"="+l.Number)
		}
		if g := joinSpace(got); g != want {
			t.Fatalf("RemoveLinks(%s) = %q, want %q", key, g, want)
		}
	}
	remove("alice@example.org", "alice@example.org=+12025550001 alice@example.org=+12025550002")
	remove("alice@example.org", "")
	remove("+12025550003", "bob@example.org=+12025550003")
	remove("+12025550009", "")

	for _, n := range []string{"+12025550001", "+12025550002", "+12025550003"} {
		_, err := s.LinkByNumber(t.Context(), n)
		mustErr(t, "LinkByNumber("+n+") after removal", err, storage.ErrNotFound)
	}
	// A freed number may be linked to someone else.
	addLink(t, s, "carol@example.org", "+12025550001")
}

func testAudit(t *testing.T, s storage.Store) {
	entries, err := s.Audit(t.Context(), 10)
	if err != nil || len(entries) != 0 {
		t.Fatalf("Audit on an empty store = %v, %v", entries, err)
	}
	before := time.Now()
	addLinkAs(t, s, "alice@example.org", "+12025550001", "cli")
	addLinkAs(t, s, "alice@example.org", "+12025550001", "cli") // no-op: not audited
	addLinkAs(t, s, "alice@example.org", "+12025550002", "xmpp:alice@example.org")
	_ = s.AddLink(t.Context(), "mallory@example.org", "+12025550001", "cli") // conflict: not audited
	_, err = s.RemoveLinks(t.Context(), "alice@example.org", "phone:+12025550001")
	ok(t, "RemoveLinks", err)
	after := time.Now()

	entries, err = s.Audit(t.Context(), 10)
	ok(t, "Audit", err)
	var got []string
	for i, e := range entries {
		within(t, fmt.Sprintf("Audit[%d].At", i), e.At, before, after)
		if i > 0 && e.ID >= entries[i-1].ID {
			t.Errorf("Audit not newest first: id %d after %d", e.ID, entries[i-1].ID)
		}
		got = append(got, fmt.Sprintf("%s:%s:%s:%s", e.Action, e.Actor, e.JID, e.Number))
	}
	// The two unlinks were one call; their relative order is not defined.
	want := map[string]bool{
		"unlink:phone:+12025550001:alice@example.org:+12025550001": true,
		"unlink:phone:+12025550001:alice@example.org:+12025550002": true,
	}
	if len(got) != 4 || !want[got[0]] || !want[got[1]] || got[0] == got[1] ||
		got[2] != "link:xmpp:alice@example.org:alice@example.org:+12025550002" ||
		got[3] != "link:cli:alice@example.org:+12025550001" {
		t.Fatalf("Audit = %q", got)
	}
	entries, err = s.Audit(t.Context(), 1)
	if err != nil || len(entries) != 1 {
		t.Fatalf("Audit(1) = %d entries, %v", len(entries), err)
	}
}

func pendingLink(jid, number string) storage.PendingLink {
	now := time.Now()
	return storage.PendingLink{JID: jid, Number: number, CodeHash: []byte("hash of " + jid),
		Created: now, Expires: now.Add(15 * time.Minute)}
}

func putPending(t *testing.T, s storage.PendingLinks, p storage.PendingLink) int64 {
	t.Helper()
	id, err := s.PutPendingLink(t.Context(), p)
	if err != nil || id <= 0 {
		t.Fatalf("PutPendingLink(%s, %s) = %d, %v", p.JID, p.Number, id, err)
	}
	return id
}

func samePending(t *testing.T, what string, got, want storage.PendingLink) {
	t.Helper()
	if got.ID != want.ID || got.JID != want.JID || got.Number != want.Number ||
		!bytes.Equal(got.CodeHash, want.CodeHash) || got.Failures != want.Failures ||
		!got.Created.Equal(want.Created.Truncate(precision)) || !got.Expires.Equal(want.Expires.Truncate(precision)) {
		t.Fatalf("%s = %+v, want %+v", what, got, want)
	}
}

func testPendingLinkRoundTrip(t *testing.T, s storage.Store) {
	_, err := s.PendingLink(t.Context(), "alice@example.org")
	mustErr(t, "PendingLink(none)", err, storage.ErrNotFound)
	_, err = s.PendingLinkByNumber(t.Context(), "+12025550001")
	mustErr(t, "PendingLinkByNumber(none)", err, storage.ErrNotFound)

	p := pendingLink("alice@example.org", "+12025550001")
	p.Created = p.Created.Truncate(precision)
	p.Expires = p.Expires.Truncate(precision)
	p.ID = putPending(t, s, p)
	got, err := s.PendingLink(t.Context(), "alice@example.org")
	ok(t, "PendingLink", err)
	samePending(t, "PendingLink", got, p)
	got, err = s.PendingLinkByNumber(t.Context(), "+12025550001")
	ok(t, "PendingLinkByNumber", err)
	samePending(t, "PendingLinkByNumber", got, p)
	// Nothing is linked until the phone confirms.
	_, err = s.LinkByNumber(t.Context(), "+12025550001")
	mustErr(t, "LinkByNumber of a pending link", err, storage.ErrNotFound)
}

func testPendingLinkReplaces(t *testing.T, s storage.Store) {
	first := putPending(t, s, pendingLink("alice@example.org", "+12025550001"))
	putPending(t, s, pendingLink("bob@example.org", "+12025550003"))

	// Same account, another number: the old code stops working.
	second := putPending(t, s, pendingLink("alice@example.org", "+12025550002"))
	if second == first {
		t.Fatalf("replacement got the old id %d", first)
	}
	_, err := s.PendingLinkByNumber(t.Context(), "+12025550001")
	mustErr(t, "PendingLinkByNumber(replaced number)", err, storage.ErrNotFound)
	_, err = s.PendingLinkFailed(t.Context(), first)
	mustErr(t, "PendingLinkFailed(replaced id)", err, storage.ErrNotFound)

	// Same number, another account: the number's old request goes.
	putPending(t, s, pendingLink("carol@example.org", "+12025550002"))
	_, err = s.PendingLink(t.Context(), "alice@example.org")
	mustErr(t, "PendingLink(alice) after carol took her number", err, storage.ErrNotFound)
	got, err := s.PendingLinkByNumber(t.Context(), "+12025550002")
	if err != nil || got.JID != "carol@example.org" {
		t.Fatalf("PendingLinkByNumber = %+v, %v; want carol's", got, err)
	}
	if _, err := s.PendingLink(t.Context(), "bob@example.org"); err != nil {
		t.Fatalf("an unrelated pending link went: %v", err)
	}

	// One request can collide with two: its JID's and its number's.
	putPending(t, s, pendingLink("bob@example.org", "+12025550002"))
	_, err = s.PendingLink(t.Context(), "carol@example.org")
	mustErr(t, "PendingLink(carol)", err, storage.ErrNotFound)
	_, err = s.PendingLinkByNumber(t.Context(), "+12025550003")
	mustErr(t, "PendingLinkByNumber(bob's old number)", err, storage.ErrNotFound)
}

func testPendingLinkFailed(t *testing.T, s storage.Store) {
	id := putPending(t, s, pendingLink("alice@example.org", "+12025550001"))
	for want := 1; want <= 3; want++ {
		n, err := s.PendingLinkFailed(t.Context(), id)
		if err != nil || n != want {
			t.Fatalf("PendingLinkFailed = %d, %v; want %d", n, err, want)
		}
	}
	p, err := s.PendingLink(t.Context(), "alice@example.org")
	if err != nil || p.Failures != 3 {
		t.Fatalf("PendingLink = %+v, %v; want 3 failures", p, err)
	}
	_, err = s.PendingLinkFailed(t.Context(), id+1000)
	mustErr(t, "PendingLinkFailed(unknown)", err, storage.ErrNotFound)
}

func testConfirmPendingLink(t *testing.T, s storage.Store) {
	before := time.Now()
	id := putPending(t, s, pendingLink("alice@example.org", "+12025550001"))
	l, err := s.ConfirmPendingLink(t.Context(), id, "phone:+12025550001")
	ok(t, "ConfirmPendingLink", err)
	after := time.Now()
	if l.JID != "alice@example.org" || l.Number != "+12025550001" {
		t.Fatalf("ConfirmPendingLink = %+v", l)
	}
	within(t, "Link.Created", l.Created, before, after)
	if got, err := s.LinkByNumber(t.Context(), "+12025550001"); err != nil || got.JID != l.JID {
		t.Fatalf("LinkByNumber = %+v, %v", got, err)
	}
	_, err = s.PendingLink(t.Context(), "alice@example.org")
	mustErr(t, "PendingLink after confirmation", err, storage.ErrNotFound)
	_, err = s.ConfirmPendingLink(t.Context(), id, "phone:+12025550001")
	mustErr(t, "ConfirmPendingLink twice", err, storage.ErrNotFound)

	entries, err := s.Audit(t.Context(), 10)
	ok(t, "Audit", err)
	if len(entries) != 1 || entries[0].Action != "link-confirmed" || entries[0].Actor != "phone:+12025550001" ||
		entries[0].JID != "alice@example.org" || entries[0].Number != "+12025550001" {
		t.Fatalf("Audit = %+v, want one link-confirmed", entries)
	}

	// Confirming a link that already exists (the operator made it
	// meanwhile) is not a conflict.
	addLink(t, s, "bob@example.org", "+12025550002")
	id = putPending(t, s, pendingLink("bob@example.org", "+12025550002"))
	if _, err := s.ConfirmPendingLink(t.Context(), id, "phone:+12025550002"); err != nil {
		t.Fatalf("ConfirmPendingLink of an existing link: %v", err)
	}
}

func testConfirmPendingLinkConflict(t *testing.T, s storage.Store) {
	id := putPending(t, s, pendingLink("alice@example.org", "+12025550001"))
	addLink(t, s, "mallory@example.org", "+12025550001")
	_, err := s.ConfirmPendingLink(t.Context(), id, "phone:+12025550001")
	mustErr(t, "ConfirmPendingLink of a number linked meanwhile", err, storage.ErrConflict)
	l, err := s.LinkByNumber(t.Context(), "+12025550001")
	if err != nil || l.JID != "mallory@example.org" {
		t.Fatalf("LinkByNumber = %+v, %v; want mallory's link untouched", l, err)
	}
	entries, err := s.Audit(t.Context(), 10)
	ok(t, "Audit", err)
	for _, e := range entries {
		if e.Action == "link-confirmed" {
			t.Fatalf("a refused confirmation was audited: %+v", e)
		}
	}
}

func testDeletePendingLink(t *testing.T, s storage.Store) {
	putPending(t, s, pendingLink("alice@example.org", "+12025550001"))
	putPending(t, s, pendingLink("bob@example.org", "+12025550002"))
	ok(t, "DeletePendingLink", s.DeletePendingLink(t.Context(), "alice@example.org"))
	_, err := s.PendingLink(t.Context(), "alice@example.org")
	mustErr(t, "PendingLink after delete", err, storage.ErrNotFound)
	ok(t, "DeletePendingLink(none)", s.DeletePendingLink(t.Context(), "alice@example.org"))
	if _, err := s.PendingLink(t.Context(), "bob@example.org"); err != nil {
		t.Fatalf("bob's pending link went: %v", err)
	}
}

func testPrefs(t *testing.T, s storage.Store) {
	p, err := s.Prefs(t.Context(), "alice@example.org")
	if err != nil || p != storage.DefaultPrefs() {
		t.Fatalf("Prefs(never set) = %+v, %v; want defaults", p, err)
	}
	if storage.DefaultPrefs().Roster {
		t.Fatal("DefaultPrefs adds contacts to rosters; it must be off until the owner asks")
	}
	for _, set := range []storage.Prefs{{Avatar: true, Discoverable: true}, {Contacts: true, Roster: true}} {
		ok(t, "SetPrefs", s.SetPrefs(t.Context(), "alice@example.org", set))
		if p, err := s.Prefs(t.Context(), "alice@example.org"); err != nil || p != set {
			t.Fatalf("Prefs = %+v, %v; want %+v", p, err, set)
		}
	}
	// All off is a choice, not "never set".
	ok(t, "SetPrefs", s.SetPrefs(t.Context(), "alice@example.org", storage.Prefs{}))
	if p, err := s.Prefs(t.Context(), "alice@example.org"); err != nil || p != (storage.Prefs{}) {
		t.Fatalf("Prefs = %+v, %v; want all off", p, err)
	}
	if p, err := s.Prefs(t.Context(), "bob@example.org"); err != nil || p != storage.DefaultPrefs() {
		t.Fatalf("Prefs(bob) = %+v, %v; want defaults", p, err)
	}
}
