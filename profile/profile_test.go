package profile

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"mmsprofile/avatar"
	"mmsprofile/mmsbridge"
	"mmsprofile/outbox"
	"mmsprofile/storage"
	"mmsprofile/storage/sqlite"
)

type fakeImager struct{}

func (fakeImager) Make(_ context.Context, data []byte) (avatar.Image, error) {
	switch string(data) {
	case "":
		return avatar.Image{}, avatar.ErrEmpty
	case "bomb":
		return avatar.Image{}, errors.Join(errors.New("avatar: decode jpeg 60000x60000"), avatar.ErrTooLarge)
	case "damaged":
		return avatar.Image{}, fmt.Errorf("avatar: JPEG: %w", avatar.ErrCorrupt)
	}
	if strings.HasPrefix(string(data), heicHeader) || string(data) == "unknown" {
		return avatar.Image{}, fmt.Errorf("avatar: HEIC pictures cannot be read by this server: %w", avatar.ErrUnsupported)
	}
	img := avatar.Image{ID: sha1hex(data), Type: "image/png", Width: 128, Height: 128, Data: data}
	if strings.HasPrefix(string(data), "large:") {
		// A picture large enough for a rendition.
		r := append([]byte("jpeg of "), data...)
		img.Renditions = []avatar.Rendition{{ID: sha1hex(r), Type: "image/jpeg", Width: 512, Height: 512, Data: r}}
	}
	return img, nil
}

// heicHeader is how an iPhone's HEIC begins: enough for the format to be
// named in a reply.
const heicHeader = "\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"

const (
	alice       = "alice@example.org"
	aliceNumber = "+12025550143"
)

type fixture struct {
	svc   *Service
	store storage.Store
	now   time.Time
	// wake is the store's signal to the publisher, which commits must give.
	wake <-chan struct{}
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st, err := sqlite.Open(t.Context(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{store: st, wake: st.Wake(t.Context()), now: time.Now().UTC().Truncate(time.Second)}
	f.svc = New(st, fakeImager{}, Rules{
		Domains: []string{"example.org"}, MaxStatusChars: 12, Component: "mms.example.org",
		ServiceNumber: "12345", UpdatesPerHour: 3, RepliesPerDay: 100,
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	f.svc.now = func() time.Time { return f.now }
	return f
}

func (f *fixture) link(t *testing.T) {
	t.Helper()
	if err := f.store.AddLink(t.Context(), alice, aliceNumber, "test"); err != nil {
		t.Fatal(err)
	}
}

var seq int

func msg(sender string, parts ...mmsbridge.Part) *mmsbridge.Message {
	seq++
	return &mmsbridge.Message{Transport: mmsbridge.TransportMM7, Key: "relay/" + string(rune('a'+seq%26)) + time.Now().Format("150405.000000000"),
		MessageID: "mid", Sender: sender, SenderRaw: sender, Parts: parts}
}

func img(data string) mmsbridge.Part {
	return mmsbridge.Part{ContentType: "image/jpeg", Data: []byte(data)}
}
func text(s string) mmsbridge.Part { return mmsbridge.Part{ContentType: "text/plain", Data: []byte(s)} }

// pending returns every pending outbox item. Storage stamps items with the
// wall clock, not the fixture's, so "due" is asked far ahead of both.
func (f *fixture) pending(t *testing.T) []storage.OutboxItem {
	t.Helper()
	items, err := f.store.DueOutbox(t.Context(), time.Now().Add(24*time.Hour), storage.Due(1000))
	if err != nil {
		t.Fatal(err)
	}
	return items
}

func (f *fixture) replies(t *testing.T) []string {
	var out []string
	for _, it := range f.pending(t) {
		if it.Kind == storage.KindReply {
			var r outbox.Reply
			if err := outbox.Decode(it, &r); err != nil {
				t.Fatal(err)
			}
			out = append(out, r.Text)
		}
	}
	return out
}

func (f *fixture) messages(t *testing.T, jid string) []string {
	var out []string
	for _, it := range f.pending(t) {
		if it.Kind == storage.KindMessage && it.JID == jid {
			var m outbox.Message
			if err := outbox.Decode(it, &m); err != nil {
				t.Fatal(err)
			}
			out = append(out, m.Body)
		}
	}
	return out
}

func TestUpdateFromLinkedNumber(t *testing.T) {
	tests := []struct {
		name       string
		msg        *mmsbridge.Message
		wantReason mmsbridge.Reason
		wantText   string // part of the refusal
		wantAvatar bool
		wantStatus string
	}{
		{name: "photo and text", msg: msg(aliceNumber, img("a"), text("  hello\n world  ")), wantAvatar: true, wantStatus: "hello world"},
		{name: "long text is cut", msg: msg(aliceNumber, text("abcdefghijklmnop")), wantStatus: "abcdefghijk…"},
		{name: "control characters", msg: msg(aliceNumber, text("a\x00b\x1bc")), wantStatus: "a b c"},
		{name: "second picture used when first is bad", msg: msg(aliceNumber, img(""), img("b")), wantAvatar: true},
		{name: "no sender", msg: msg("", img("a")), wantReason: mmsbridge.ReasonBadSender, wantText: "no sender"},
		{name: "short code", msg: msg("12345", img("a")), wantReason: mmsbridge.ReasonBadSender, wantText: "not a phone number"},
		{name: "bomb", msg: msg(aliceNumber, img("bomb")), wantReason: mmsbridge.ReasonContent, wantText: "too large"},
		{name: "empty picture", msg: msg(aliceNumber, img("")), wantReason: mmsbridge.ReasonContent, wantText: "empty"},
		{name: "nothing", msg: msg(aliceNumber, mmsbridge.Part{ContentType: "application/smil", Data: []byte("<smil/>")}), wantReason: mmsbridge.ReasonContent, wantText: "nothing to publish"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.link(t)
			err := f.svc.Receive(t.Context(), tc.msg)
			recent, rerr := f.store.RecentUpdates(t.Context(), alice, 10)
			if rerr != nil {
				t.Fatal(rerr)
			}
			if tc.wantReason != 0 {
				r, ok := mmsbridge.AsRefusal(err)
				if !ok || r.Reason != tc.wantReason || !strings.Contains(r.Text, tc.wantText) {
					t.Fatalf("err %v, want refusal %d containing %q", err, tc.wantReason, tc.wantText)
				}
				if len(recent) != 0 {
					t.Fatal("a refused message was committed")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			woken := false
			select {
			case <-f.wake:
				woken = true
			default:
			}
			if len(recent) != 1 || !woken {
				t.Fatalf("updates %d, woken %v", len(recent), woken)
			}
			if recent[0].Status != tc.wantStatus || (recent[0].AvatarID != "") != tc.wantAvatar {
				t.Fatalf("update %+v", recent[0])
			}
			if got := f.messages(t, alice); len(got) != 1 || !strings.Contains(got[0], "updated from +1 202-555-0143") {
				t.Fatalf("notification %q", got)
			}
		})
	}
}

func TestDuplicateIsAcceptedOnce(t *testing.T) {
	f := newFixture(t)
	f.link(t)
	m := msg(aliceNumber, img("a"))
	for range 3 {
		if err := f.svc.Receive(t.Context(), m); err != nil {
			t.Fatal(err)
		}
	}
	recent, _ := f.store.RecentUpdates(t.Context(), alice, 10)
	if len(recent) != 1 {
		t.Fatalf("%d updates", len(recent))
	}
}

func TestUpdatesAreRateLimited(t *testing.T) {
	f := newFixture(t)
	f.link(t)
	for i := range 3 {
		if err := f.svc.Receive(t.Context(), msg(aliceNumber, text("hi"))); err != nil {
			t.Fatalf("update %d: %v", i, err)
		}
	}
	err := f.svc.Receive(t.Context(), msg(aliceNumber, text("hi")))
	if r, ok := mmsbridge.AsRefusal(err); !ok || r.Reason != mmsbridge.ReasonDenied {
		t.Fatalf("fourth update: %v, want denied", err)
	}
	f.now = f.now.Add(21 * time.Minute) // one token back (3 per hour)
	if err := f.svc.Receive(t.Context(), msg(aliceNumber, text("hi"))); err != nil {
		t.Fatalf("after refill: %v", err)
	}
}

func TestPreferencesAreHonoured(t *testing.T) {
	f := newFixture(t)
	f.link(t)
	p := storage.DefaultPrefs()
	p.Avatar, p.Notify = false, false
	if err := f.svc.SetPrefs(t.Context(), alice, p); err != nil {
		t.Fatal(err)
	}
	err := f.svc.Receive(t.Context(), msg(aliceNumber, img("a")))
	if r, ok := mmsbridge.AsRefusal(err); !ok || r.Reason != mmsbridge.ReasonDenied || !strings.Contains(r.Text, "pictures") {
		t.Fatalf("picture with avatar off: %v", err)
	}
	if err := f.svc.Receive(t.Context(), msg(aliceNumber, img("a"), text("status only"))); err != nil {
		t.Fatal(err)
	}
	recent, _ := f.store.RecentUpdates(t.Context(), alice, 10)
	if len(recent) != 1 || recent[0].AvatarID != "" || recent[0].Status != "status only" {
		t.Fatalf("updates %+v", recent)
	}
	if got := f.messages(t, alice); len(got) != 0 {
		t.Fatalf("notified with notify off: %q", got)
	}
}

func TestLinkWithCode(t *testing.T) {
	f := newFixture(t)
	// An unknown phone is told how to link, and refused.
	err := f.svc.Receive(t.Context(), msg(aliceNumber, img("a")))
	if r, ok := mmsbridge.AsRefusal(err); !ok || r.Reason != mmsbridge.ReasonUnknownSender {
		t.Fatalf("unknown phone: %v", err)
	}
	if got := f.replies(t); len(got) != 1 || !strings.Contains(got[0], "Link a phone number") {
		t.Fatalf("replies %q", got)
	}

	in, err := f.svc.RequestLink(t.Context(), alice+"/phone", "+1 202 555 0143")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(in.Text, "LINK "+in.Code) || !strings.Contains(in.Text, "12345") || len(in.Code) != 6 {
		t.Fatalf("instructions %q (code %q)", in.Text, in.Code)
	}
	// A photo before the code: the phone is told to send the code first.
	err = f.svc.Receive(t.Context(), msg(aliceNumber, img("a")))
	if r, ok := mmsbridge.AsRefusal(err); !ok || !strings.Contains(r.Text, "waiting for its link code") {
		t.Fatalf("photo while pending: %v", err)
	}
	// A wrong code counts; the right one links.
	wrong := "000000"
	if in.Code == wrong {
		wrong = "111111"
	}
	if err := f.svc.Receive(t.Context(), msg(aliceNumber, text("link "+wrong))); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.LinkByNumber(t.Context(), aliceNumber); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("linked by a wrong code: %v", err)
	}
	if err := f.svc.Receive(t.Context(), &mmsbridge.Message{Transport: mmsbridge.TransportMM7, Key: "k-ok", Sender: aliceNumber,
		SenderRaw: aliceNumber, Subject: " Link  " + in.Code[:3] + " " + in.Code[3:] + " "}); err != nil {
		t.Fatal(err)
	}
	l, err := f.store.LinkByNumber(t.Context(), aliceNumber)
	if err != nil || l.JID != alice {
		t.Fatalf("link %+v, %v", l, err)
	}
	replies := f.replies(t)
	if last := replies[len(replies)-1]; !strings.Contains(last, "Linked to "+alice) {
		t.Fatalf("last reply %q", last)
	}
	if got := f.messages(t, alice); len(got) == 0 || !strings.Contains(got[len(got)-1], "now linked") {
		t.Fatalf("account not told: %q", got)
	}
	audit, err := f.store.Audit(t.Context(), 10)
	if err != nil || len(audit) == 0 || audit[0].Actor != "phone:"+aliceNumber {
		t.Fatalf("audit %+v, %v", audit, err)
	}

	// STOP unlinks from the phone.
	if err := f.svc.Receive(t.Context(), msg(aliceNumber, text("STOP"))); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.LinkByNumber(t.Context(), aliceNumber); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("still linked after STOP: %v", err)
	}
}

func TestWrongCodesCancel(t *testing.T) {
	f := newFixture(t)
	in, err := f.svc.RequestLink(t.Context(), alice, aliceNumber)
	if err != nil {
		t.Fatal(err)
	}
	wrong := "000000"
	if in.Code == wrong {
		wrong = "111111"
	}
	for range 5 {
		if err := f.svc.Receive(t.Context(), msg(aliceNumber, text("LINK "+wrong))); err != nil {
			t.Fatal(err)
		}
	}
	// Even the right code is too late now.
	if err := f.svc.Receive(t.Context(), msg(aliceNumber, text("LINK "+in.Code))); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.LinkByNumber(t.Context(), aliceNumber); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("linked after 5 wrong codes: %v", err)
	}
	if got := f.messages(t, alice); len(got) != 1 || !strings.Contains(got[0], "cancelled after 5 wrong codes") {
		t.Fatalf("account not told: %q", got)
	}
}

func TestCodeExpires(t *testing.T) {
	f := newFixture(t)
	in, err := f.svc.RequestLink(t.Context(), alice, aliceNumber)
	if err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(16 * time.Minute)
	if err := f.svc.Receive(t.Context(), msg(aliceNumber, text("LINK "+in.Code))); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.LinkByNumber(t.Context(), aliceNumber); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("linked with an expired code: %v", err)
	}
	if got := f.replies(t); !strings.Contains(got[len(got)-1], "expired") {
		t.Fatalf("replies %q", got)
	}
}

func TestRequestLinkRefusals(t *testing.T) {
	f := newFixture(t)
	f.link(t)
	var ue *UserError
	for _, tc := range []struct{ account, number, want string }{
		{"mallory@elsewhere.net", "+12025550199", "cannot be linked here"},
		{"not a jid@@", "+12025550199", "not an account"},
		{"bob@example.org", "12", "not a phone number"},
		{"bob@example.org", aliceNumber, "linked to another account"},
		{alice, aliceNumber, "already linked to this account"},
	} {
		_, err := f.svc.RequestLink(t.Context(), tc.account, tc.number)
		if !errors.As(err, &ue) || !strings.Contains(ue.Text, tc.want) {
			t.Errorf("RequestLink(%s, %s) = %v, want %q", tc.account, tc.number, err, tc.want)
		}
	}
}

func TestParseCommand(t *testing.T) {
	for _, tc := range []struct {
		subject, text string
		cmd           command
		code          string
	}{
		{"", "LINK 123456", cmdLink, "123456"},
		{"link 123 456", "", cmdLink, "123456"},
		{"", "  Link:12345678. ", cmdLink, "12345678"},
		{"", "stop", cmdStop, ""},
		{"UNLINK", "", cmdStop, ""},
		{"", "Help!", cmdHelp, ""},
		{"", "START", cmdStart, ""},
		{"", "link me to my friends please", cmdNone, ""},
		{"", "stop the world, I want to get off", cmdNone, ""},
		{"Photo", "At the beach", cmdNone, ""},
	} {
		cmd, code := parseCommand(tc.subject, tc.text)
		if cmd != tc.cmd || code != tc.code {
			t.Errorf("parseCommand(%q, %q) = %v %q, want %v %q", tc.subject, tc.text, cmd, code, tc.cmd, tc.code)
		}
	}
}

func TestFormatNumber(t *testing.T) {
	if got := FormatNumber("+12025550143"); got != "+1 202-555-0143" {
		t.Fatalf("FormatNumber = %q", got)
	}
}

func sha1hex(b []byte) string {
	h := sha1.Sum(b)
	return hex.EncodeToString(h[:])
}

// Someone who mails photos from their phone's mail app links that address
// the way others link a number: asked from the account, proved by mail.
func TestLinkEmailAddress(t *testing.T) {
	f := newFixture(t)
	f.svc.rules.ServiceEmail = "avatar@example.org"
	in, err := f.svc.RequestLink(t.Context(), alice, " Alice.Phone@Example.NET ")
	if err != nil {
		t.Fatal(err)
	}
	if in.Number != "alice.phone@example.net" || !strings.Contains(in.Text, "send a mail to avatar@example.org") {
		t.Fatalf("instructions %+v", in)
	}
	mail := func(parts ...mmsbridge.Part) *mmsbridge.Message {
		m := msg("alice.phone@example.net", parts...)
		m.Transport, m.SenderRaw = mmsbridge.TransportEmail, "alice.phone@example.net"
		return m
	}
	if err := f.svc.Receive(t.Context(), mail(text("LINK "+in.Code))); err != nil {
		t.Fatal(err)
	}
	if l, err := f.store.LinkByNumber(t.Context(), "alice.phone@example.net"); err != nil || l.JID != alice {
		t.Fatalf("link %+v %v", l, err)
	}
	if err := f.svc.Receive(t.Context(), mail(img("a"))); err != nil {
		t.Fatal(err)
	}
	// An address is never taken from an MM7 sender (only the mail bridge
	// authenticates addresses).
	m := msg("alice.phone@example.net", img("b"))
	if r, ok := mmsbridge.AsRefusal(f.svc.Receive(t.Context(), m)); !ok || r.Reason != mmsbridge.ReasonBadSender {
		t.Fatal("an address accepted over MM7")
	}
	// Without a service address, there is no way in by mail.
	f.svc.rules.ServiceEmail = ""
	var ue *UserError
	if _, err := f.svc.RequestLink(t.Context(), "bob@example.org", "bob@example.net"); !errors.As(err, &ue) {
		t.Fatalf("address link without service_email: %v", err)
	}
}

// The renditions the imager made are committed with the avatar: the
// publisher finds them on the item, the HTTP side by their id.
func TestRenditionsAreCommitted(t *testing.T) {
	f := newFixture(t)
	f.link(t)
	if err := f.svc.Receive(t.Context(), msg(aliceNumber, img("large:photo"))); err != nil {
		t.Fatal(err)
	}
	want, err := fakeImager{}.Make(t.Context(), []byte("large:photo"))
	if err != nil {
		t.Fatal(err)
	}
	cur, err := f.store.CurrentAvatar(t.Context(), alice)
	if err != nil {
		t.Fatal(err)
	}
	r := want.Renditions[0]
	if cur.ID != want.ID || len(cur.Renditions) != 1 || cur.Renditions[0].ID != r.ID || cur.Renditions[0].Bytes != len(r.Data) ||
		cur.Renditions[0].Type != "image/jpeg" || cur.Renditions[0].Width != 512 || cur.Renditions[0].Height != 512 {
		t.Fatalf("current avatar %s with renditions %+v, want %s with %s", cur.ID, cur.Renditions, want.ID, r.ID)
	}
	var items int
	for _, it := range f.pending(t) {
		if it.Kind == storage.KindAvatar {
			items++
			if it.Avatar == nil || len(it.Avatar.Renditions) != 1 || it.Avatar.Renditions[0].ID != r.ID {
				t.Fatalf("avatar item %+v", it.Avatar)
			}
		}
	}
	if items != 1 {
		t.Fatalf("%d avatar items, want 1", items)
	}
	got, err := f.store.Rendition(t.Context(), r.ID)
	if err != nil || string(got.Data) != string(r.Data) {
		t.Fatalf("Rendition = %q, %v; want %q", got.Data, err, r.Data)
	}
}

// A picture that cannot be used does not lose the rest of the MMS: the rest
// is applied, the MMSC or MTA told success, and the phone gets one reply
// naming the picture's problem and what would work. Only an MMS with
// nothing usable is refused.
func TestPartialMMS(t *testing.T) {
	vcf := "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Alice Example\r\nNICKNAME:Ali\r\nEND:VCARD\r\n"
	tests := []struct {
		name       string
		parts      []mmsbridge.Part
		wantStatus string
		wantNick   string
		wantReply  string // part of the one reply; "" for none
		wantRefuse string // part of the refusal; "" when accepted
	}{
		{name: "HEIC and text", parts: []mmsbridge.Part{img(heicHeader + "..."), text("On holiday")},
			wantStatus: "On holiday", wantReply: "Applied: status. Picture skipped: HEIC is not supported here; send a JPEG."},
		{name: "damaged picture and nick", parts: []mmsbridge.Part{img("damaged"), text("nick: Ali\nhi")},
			wantStatus: "hi", wantNick: "Ali", wantReply: "Applied: status, nickname. Picture skipped: it is damaged"},
		{name: "bomb and a contact card", parts: []mmsbridge.Part{img("bomb"), {ContentType: "text/vcard", Data: []byte(vcf)}},
			wantReply: "Applied: contact suggestions. Picture skipped: it is too large; send a smaller JPEG."},
		{name: "unknown format named by its type", parts: []mmsbridge.Part{{ContentType: "image/x-tiff-ish", Data: []byte("unknown")}, text("hi")},
			wantStatus: "hi", wantReply: "Picture skipped: TIFF-ISH is not supported here"},
		{name: "media too large to fetch", parts: []mmsbridge.Part{{ContentType: "image/jpeg", Missing: mmsbridge.ErrMediaTooLarge}, text("hi")},
			wantStatus: "hi", wantReply: "Applied: status. Picture skipped: it is too large to fetch; send a smaller JPEG."},
		{name: "media not fetched", parts: []mmsbridge.Part{{ContentType: "image/*", Missing: mmsbridge.ErrMediaUnavailable}, text("hi")},
			wantStatus: "hi", wantReply: "Picture skipped: it could not be fetched; send it again."},
		{name: "a second picture is used", parts: []mmsbridge.Part{img(heicHeader), img("b"), text("hi")}, wantStatus: "hi"},
		{name: "picture alone is refused", parts: []mmsbridge.Part{img(heicHeader)}, wantRefuse: "cannot be used"},
		{name: "missing picture alone is refused", parts: []mmsbridge.Part{{ContentType: "image/jpeg", Missing: mmsbridge.ErrMediaUnavailable}},
			wantRefuse: "could not be fetched"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.link(t)
			f.svc.rules.MaxStatusChars = 140
			m := msg(aliceNumber, tc.parts...)
			err := f.svc.Receive(t.Context(), m)
			replies := f.replies(t)
			if tc.wantRefuse != "" {
				if r, ok := mmsbridge.AsRefusal(err); !ok || r.Reason != mmsbridge.ReasonContent || !strings.Contains(r.Text, tc.wantRefuse) {
					t.Fatalf("err %v, want a content refusal with %q", err, tc.wantRefuse)
				}
				if len(replies) != 1 || !strings.Contains(replies[0], "not applied") {
					t.Fatalf("replies %q, want the refusal", replies)
				}
				return
			}
			if err != nil {
				t.Fatalf("err %v, want the rest applied", err)
			}
			recent, err := f.store.RecentUpdates(t.Context(), alice, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(recent) != 1 || recent[0].Status != tc.wantStatus || recent[0].Nick != tc.wantNick {
				t.Fatalf("updates %+v, want status %q nick %q", recent, tc.wantStatus, tc.wantNick)
			}
			if tc.wantReply == "" && strings.Contains(tc.name, "second") {
				if len(replies) != 0 || recent[0].AvatarID == "" {
					t.Fatalf("replies %q avatar %q: the second picture should have been used silently", replies, recent[0].AvatarID)
				}
				return
			}
			if len(replies) != 1 {
				t.Fatalf("replies %q, want one", replies)
			}
			if !strings.Contains(replies[0], tc.wantReply) || len(replies[0]) > 160 {
				t.Fatalf("reply %q (%d bytes), want one SMS containing %q", replies[0], len(replies[0]), tc.wantReply)
			}
			if got := f.messages(t, alice); (tc.wantStatus != "" || tc.wantNick != "") && (len(got) != 1 || !strings.Contains(got[0], "picture was skipped")) {
				t.Fatalf("account notification %q", got)
			}
			// A duplicate delivery commits nothing and replies no second time.
			if err := f.svc.Receive(t.Context(), m); err != nil {
				t.Fatal(err)
			}
			if again := f.replies(t); len(again) != 1 {
				t.Fatalf("replies after a duplicate %q", again)
			}
		})
	}
}

func TestPictureAdviceNamesTheDeclaredFormat(t *testing.T) {
	got := pictureAdvice(mmsbridge.Part{ContentType: "image/x-jpeg-xr", Data: []byte("??")}, fmt.Errorf("avatar: %w", avatar.ErrUnsupported))
	if got != "JPEG-XR is not supported here; send a JPEG" {
		t.Fatalf("advice %q", got)
	}
	got = pictureAdvice(mmsbridge.Part{ContentType: "image/<b>", Data: []byte("??")}, fmt.Errorf("avatar: %w", avatar.ErrUnsupported))
	if got != "its format is not recognised; send a JPEG" {
		t.Fatalf("advice for a hostile type %q", got)
	}
}

// TestReplyQuotesOnlyWhatItShould checks the LinkedID a reply carries: an
// MM7 reply quotes the MMS it answers; an aggregator's reply goes from the
// number the phone wrote to, and with none known it is left empty for the
// configured service number (a message id is no number to send from).
func TestReplyQuotesOnlyWhatItShould(t *testing.T) {
	for _, tc := range []struct {
		transport mmsbridge.Transport
		linked    string
		want      string
	}{
		{mmsbridge.TransportMM7, "", "mid"},
		{mmsbridge.TransportMM7, "orig-7", "orig-7"},
		{mmsbridge.TransportTwilio, "", ""},
		{mmsbridge.TransportTelnyx, "+12025550100", "+12025550100"},
		{mmsbridge.TransportBandwidth, "", ""},
	} {
		f := newFixture(t)
		m := msg(aliceNumber, text("HELP"))
		m.Transport, m.LinkedID = tc.transport, tc.linked
		if err := f.svc.Receive(t.Context(), m); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, it := range f.pending(t) {
			if it.Kind == storage.KindReply {
				var r outbox.Reply
				if err := outbox.Decode(it, &r); err != nil {
					t.Fatal(err)
				}
				got = append(got, r.LinkedID)
			}
		}
		if len(got) != 1 || got[0] != tc.want {
			t.Errorf("%s with LinkedID %q: replies quote %q, want %q", tc.transport, tc.linked, got, tc.want)
		}
	}
}
