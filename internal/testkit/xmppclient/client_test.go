package xmppclient_test

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"image"
	"image/color"
	"image/png"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/pubsub"
	"mellium.im/xmpp/stanza"

	"mmsprofile/internal/testkit/prosody"
	"mmsprofile/internal/testkit/xmppclient"
)

const password = "correct horse"

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// testLogger sends the client's debug log to the test log, which shows
// only when a test fails or with -v.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// login registers user on s and logs in.
func login(ctx context.Context, t *testing.T, s *prosody.Server, user string) *xmppclient.Client {
	t.Helper()
	if err := s.Register(ctx, user, password); err != nil {
		t.Fatal(err)
	}
	j := jid.MustParse(user + "@" + s.Domain + "/test")
	c, err := xmppclient.Dial(ctx, s.C2SAddr, j, password, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
	return c
}

func testPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 8, 8))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7)
	}
	img.Set(0, 0, color.NRGBA{R: 255, A: 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// publishAvatar publishes img as the client's own XEP-0084 avatar, data
// first and metadata second as the XEP asks, and returns the item id.
func publishAvatar(ctx context.Context, t *testing.T, c *xmppclient.Client, img []byte, w, h int) string {
	t.Helper()
	sum := sha1.Sum(img)
	id := hex.EncodeToString(sum[:])
	data := xmlstream.Wrap(
		xmlstream.Token(xml.CharData(base64.StdEncoding.EncodeToString(img))),
		xml.StartElement{Name: xml.Name{Space: xmppclient.NSAvatarData, Local: "data"}},
	)
	if _, err := pubsub.Publish(ctx, c.Session(), xmppclient.NSAvatarData, id, data); err != nil {
		t.Fatalf("publish avatar data: %v", err)
	}
	attr := func(k, v string) xml.Attr { return xml.Attr{Name: xml.Name{Local: k}, Value: v} }
	meta := xmlstream.Wrap(
		xmlstream.Wrap(nil, xml.StartElement{
			Name: xml.Name{Local: "info"},
			Attr: []xml.Attr{
				attr("bytes", strconv.Itoa(len(img))),
				attr("id", id),
				attr("type", "image/png"),
				attr("width", strconv.Itoa(w)),
				attr("height", strconv.Itoa(h)),
			},
		}),
		xml.StartElement{Name: xml.Name{Space: xmppclient.NSAvatarMetadata, Local: "metadata"}},
	)
	if _, err := pubsub.Publish(ctx, c.Session(), xmppclient.NSAvatarMetadata, id, meta); err != nil {
		t.Fatalf("publish avatar metadata: %v", err)
	}
	return id
}

// waitAvatar waits for an avatar event from from with item id.
func waitAvatar(ctx context.Context, t *testing.T, c *xmppclient.Client, from jid.JID, id string) xmppclient.AvatarEvent {
	t.Helper()
	for {
		select {
		case ev, ok := <-c.AvatarEvents():
			if !ok {
				t.Fatalf("session ended before the avatar event: %v", c.Err())
			}
			if ev.From.Bare().Equal(from.Bare()) && ev.ItemID == id {
				return ev
			}
			t.Logf("other avatar event: %+v", ev)
		case <-ctx.Done():
			t.Fatalf("no avatar event %s from %s: %v", id, from.Bare(), ctx.Err())
		}
	}
}

// TestAvatarBetweenContacts proves the harness and the client against a
// real Prosody: a contact's client is told of an avatar as soon as it is
// published, and can fetch it.
func TestAvatarBetweenContacts(t *testing.T) {
	s := prosody.StartT(t, prosody.Options{})
	ctx := testContext(t)
	alice := login(ctx, t, s, "alice")
	bob := login(ctx, t, s, "bob")

	if err := xmppclient.MutualSubscribe(ctx, alice, bob); err != nil {
		t.Fatal(err)
	}
	if got := alice.Subscription(bob.JID()); got != "both" {
		t.Errorf("alice's roster: bob is %q, want both", got)
	}

	img := testPNG(t)
	id := publishAvatar(ctx, t, alice, img, 8, 8)

	ev := waitAvatar(ctx, t, bob, alice.JID(), id)
	want := xmppclient.Info{Bytes: len(img), ID: id, Type: "image/png", Width: 8, Height: 8}
	if len(ev.Infos) != 1 || ev.Infos[0] != want {
		t.Errorf("infos = %+v, want [%+v]", ev.Infos, want)
	}

	// The owner's own client is told too, and sees its bare JID as sender.
	waitAvatar(ctx, t, alice, alice.JID(), id)

	got, err := bob.FetchAvatarData(ctx, alice.JID(), id)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, img) {
		t.Errorf("fetched %d bytes, want the %d published", len(got), len(img))
	}
}

// TestLastItemAtLogin: a contact who logs in after the avatar was
// published gets it as the node's last item.
func TestLastItemAtLogin(t *testing.T) {
	s := prosody.StartT(t, prosody.Options{})
	ctx := testContext(t)
	alice := login(ctx, t, s, "alice")
	bob := login(ctx, t, s, "bob")
	if err := xmppclient.MutualSubscribe(ctx, alice, bob); err != nil {
		t.Fatal(err)
	}
	if err := bob.Close(); err != nil {
		t.Fatal(err)
	}
	id := publishAvatar(ctx, t, alice, testPNG(t), 8, 8)

	bob2, err := xmppclient.Dial(ctx, s.C2SAddr, jid.MustParse("bob@"+s.Domain+"/again"), password, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer bob2.Close()
	waitAvatar(ctx, t, bob2, alice.JID(), id)
}

// TestPhotoHashInPresence: with mod_vcard_legacy, Prosody puts the
// XEP-0153 hash of the PEP avatar into the owner's presence, at the
// owner's next presence.
func TestPhotoHashInPresence(t *testing.T) {
	s := prosody.StartT(t, prosody.Options{VCardModule: "vcard_legacy"})
	ctx := testContext(t)
	alice := login(ctx, t, s, "alice")
	bob := login(ctx, t, s, "bob")
	if err := xmppclient.MutualSubscribe(ctx, alice, bob); err != nil {
		t.Fatal(err)
	}
	id := publishAvatar(ctx, t, alice, testPNG(t), 8, 8)
	if err := alice.SendPresence(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := bob.WaitPresence(ctx, alice.JID(), func(p xmppclient.Presence) bool { return p.PhotoHash == id })
	if err != nil {
		last, _ := bob.LastPresence(alice.JID())
		t.Fatalf("%v; last presence %+v", err, last)
	}
	if !p.HasPhoto || p.Type != "" {
		t.Errorf("presence = %+v", p)
	}
}

// TestFetchVCard reads back a vcard-temp that the owner stored.
func TestFetchVCard(t *testing.T) {
	s := prosody.StartT(t, prosody.Options{})
	ctx := testContext(t)
	alice := login(ctx, t, s, "alice")
	bob := login(ctx, t, s, "bob")

	vcard := `<vCard xmlns="vcard-temp"><FN>Alice &amp; Co</FN><NOTE xml:lang="en">hi</NOTE></vCard>`
	d := xml.NewDecoder(strings.NewReader(vcard))
	resp, err := alice.Session().SendIQElement(ctx, d, stanza.IQ{Type: stanza.SetIQ})
	if err != nil {
		t.Fatal(err)
	}
	resp.Close()

	raw, err := bob.FetchVCard(ctx, alice.JID())
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		XMLName xml.Name `xml:"vcard-temp vCard"`
		FN      string   `xml:"FN"`
		Note    string   `xml:"NOTE"`
	}
	if err := xml.Unmarshal(raw, &got); err != nil {
		t.Fatalf("%v in %s", err, raw)
	}
	if got.FN != "Alice & Co" || got.Note != "hi" {
		t.Errorf("vCard = %+v from %s", got, raw)
	}
	t.Logf("%s", raw)
}

func TestWrongPassword(t *testing.T) {
	s := prosody.StartT(t, prosody.Options{})
	ctx := testContext(t)
	if err := s.Register(ctx, "carol", "right"); err != nil {
		t.Fatal(err)
	}
	c, err := xmppclient.Dial(ctx, s.C2SAddr, jid.MustParse("carol@"+s.Domain), "wrong", nil)
	if err == nil {
		c.Close()
		t.Fatal("login with a wrong password succeeded")
	}
}
