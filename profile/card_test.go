package profile

import (
	"fmt"
	"strings"
	"testing"

	"mmsprofile/mmsbridge"
	"mmsprofile/outbox"
	"mmsprofile/storage"
)

func vcf(s string) mmsbridge.Part {
	return mmsbridge.Part{ContentType: "text/x-vcard", Data: []byte(strings.ReplaceAll(s, "\n", "\r\n"))}
}

// profileEntry returns the profile payload committed for alice.
func (f *fixture) profileEntry(t *testing.T) (outbox.Change, bool) {
	t.Helper()
	for _, it := range f.pending(t) {
		if it.Kind == storage.KindProfile && it.JID == alice {
			var p outbox.Change
			if err := outbox.Decode(it, &p); err != nil {
				t.Fatal(err)
			}
			return p, true
		}
	}
	return outbox.Change{}, false
}

func TestNickLine(t *testing.T) {
	f := newFixture(t)
	f.link(t)
	if err := f.svc.Receive(t.Context(), msg(aliceNumber, text("NICK  Ally\nOn holiday"))); err != nil {
		t.Fatal(err)
	}
	p, ok := f.profileEntry(t)
	if !ok || p.Nick == nil || *p.Nick != "Ally" || p.Status == nil || *p.Status != "On holiday" {
		t.Fatalf("profile %+v", p)
	}
}

func TestWhitespaceNickChangesNothing(t *testing.T) {
	f := newFixture(t)
	f.link(t)
	err := f.svc.Receive(t.Context(), msg(aliceNumber, text("nick   \t ")))
	if r, ok := mmsbridge.AsRefusal(err); !ok || r.Reason != mmsbridge.ReasonContent {
		t.Fatalf("whitespace nick: %v", err)
	}
}

func TestHugeStatusIsCut(t *testing.T) {
	f := newFixture(t)
	f.link(t)
	if err := f.svc.Receive(t.Context(), msg(aliceNumber, text(strings.Repeat("a\x07", 50_000)))); err != nil {
		t.Fatal(err)
	}
	p, _ := f.profileEntry(t)
	if p.Status == nil || len([]rune(*p.Status)) > 12 || strings.ContainsRune(*p.Status, 7) {
		t.Fatalf("status %q", *p.Status)
	}
}

const ownCardVCF = `BEGIN:VCARD
VERSION:2.1
N;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:M=FCller;Alice
FN:Alice M=FCller
NICKNAME:Ally
ORG:Example Corp
TITLE:Engineer
TEL;CELL:+1 202 555 0143
EMAIL;INTERNET:alice@example.net
END:VCARD
`

func TestOwnCardSetsDetails(t *testing.T) {
	f := newFixture(t)
	f.link(t)
	if err := f.svc.Receive(t.Context(), msg(aliceNumber, vcf(ownCardVCF))); err != nil {
		t.Fatal(err)
	}
	p, ok := f.profileEntry(t)
	if !ok || p.VCard == nil || p.VCard.Org == nil || p.VCard.Org.Name != "Example Corp" || p.VCard.Title == nil || *p.VCard.Title != "Engineer" {
		t.Fatalf("profile %+v", p)
	}
	if p.Nick == nil || *p.Nick != "Ally" {
		t.Fatalf("nick from card: %+v", p.Nick)
	}
	if len(p.VCard.Emails) != 1 || p.VCard.Emails[0] != "alice@example.net" {
		t.Fatalf("emails %v", p.VCard.Emails)
	}
}

func TestContactsOnlyDiscoverableAreNamed(t *testing.T) {
	f := newFixture(t)
	f.link(t)
	ctx := t.Context()
	for _, l := range []struct{ jid, number string }{{"bob@example.org", "+12025550101"}, {"carol@example.org", "+12025550102"}} {
		if err := f.store.AddLink(ctx, l.jid, l.number, "test"); err != nil {
			t.Fatal(err)
		}
	}
	p := storage.DefaultPrefs()
	p.Discoverable = true
	if err := f.store.SetPrefs(ctx, "bob@example.org", p); err != nil {
		t.Fatal(err)
	}
	book := "BEGIN:VCARD\nVERSION:3.0\nFN:Bob\nTEL:+1 202 555 0101\nEND:VCARD\n" +
		"BEGIN:VCARD\nVERSION:3.0\nFN:Carol\nTEL:+1 202 555 0102\nEND:VCARD\n" +
		"BEGIN:VCARD\nVERSION:3.0\nFN:Dave\nTEL:+1 202 555 0109\nEND:VCARD\n"
	if err := f.svc.Receive(ctx, msg(aliceNumber, vcf(book))); err != nil {
		t.Fatal(err)
	}
	var m outbox.Message
	for _, it := range f.pending(t) {
		if it.Kind == storage.KindMessage {
			var cand outbox.Message
			if err := outbox.Decode(it, &cand); err != nil {
				t.Fatal(err)
			}
			if len(cand.Suggest) > 0 || strings.Contains(cand.Body, "Not found") {
				m = cand
			}
		}
	}
	if len(m.Suggest) != 1 || m.Suggest[0].JID != "bob@example.org" || m.Suggest[0].Name != "Bob" {
		t.Fatalf("suggestions %+v", m)
	}
	// Carol is linked but not discoverable: she must not be revealed.
	if strings.Contains(m.Body, "carol@") || !strings.Contains(m.Body, "Not found: Carol, Dave") {
		t.Fatalf("body %q", m.Body)
	}
}

func TestHostileCardsLeaveTheRestApplied(t *testing.T) {
	f := newFixture(t)
	f.link(t)
	var book strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&book, "BEGIN:VCARD\nVERSION:3.0\nFN:Person %d\nTEL:+1202555%04d\nEND:VCARD\n", i, i)
	}
	err := f.svc.Receive(t.Context(), msg(aliceNumber, vcf(book.String()), img("photo"), text("still here")))
	if err != nil {
		t.Fatal(err)
	}
	recent, _ := f.store.RecentUpdates(t.Context(), alice, 1)
	if len(recent) != 1 || recent[0].AvatarID == "" || recent[0].Status != "still here" {
		t.Fatalf("update %+v", recent)
	}
	got := f.messages(t, alice)
	if len(got) == 0 || !strings.Contains(got[len(got)-1], "too large") {
		t.Fatalf("notification %q", got)
	}
}

// With the roster preference, the contacts found are marked for the roster
// with both texts: the publisher picks one by what the server grants.
// Without it (the default), they are only suggested.
func TestContactsForTheRoster(t *testing.T) {
	for _, roster := range []bool{false, true} {
		f := newFixture(t)
		f.link(t)
		ctx := t.Context()
		if err := f.store.AddLink(ctx, "bob@example.org", "+12025550101", "test"); err != nil {
			t.Fatal(err)
		}
		bob := storage.DefaultPrefs()
		bob.Discoverable = true
		if err := f.store.SetPrefs(ctx, "bob@example.org", bob); err != nil {
			t.Fatal(err)
		}
		aliceP := storage.DefaultPrefs()
		aliceP.Roster = roster
		if err := f.store.SetPrefs(ctx, alice, aliceP); err != nil {
			t.Fatal(err)
		}
		book := "BEGIN:VCARD\nVERSION:3.0\nFN:Bob\nTEL:+1 202 555 0101\nEND:VCARD\n"
		if err := f.svc.Receive(ctx, msg(aliceNumber, vcf(book))); err != nil {
			t.Fatal(err)
		}
		var m outbox.Message
		for _, it := range f.pending(t) {
			if it.Kind == storage.KindMessage {
				if err := outbox.Decode(it, &m); err != nil {
					t.Fatal(err)
				}
			}
		}
		if len(m.Suggest) != 1 || m.Suggest[0].JID != "bob@example.org" || m.AddToRoster != roster {
			t.Fatalf("roster %t: message %+v", roster, m)
		}
		if !strings.Contains(m.Body, "may offer to add") {
			t.Errorf("roster %t: suggestion text %q", roster, m.Body)
		}
		if roster && !strings.Contains(m.AddedBody, "In your contacts now") {
			t.Errorf("text once added %q", m.AddedBody)
		}
	}
}
