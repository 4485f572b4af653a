package app_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"mmsprofile/internal/testkit/mm7sample"
	"mmsprofile/internal/testkit/webhooktest"
)

const serviceNumber = "+12025550100"

// webhookEnv is the usual environment with the three fake aggregators
// configured on one webhook listener.
type webhookEnv struct {
	*env
	twilio    *webhooktest.Twilio
	telnyx    *webhooktest.Telnyx
	bandwidth *webhooktest.Bandwidth
	base      string
	// text is what the next post says.
	text string
}

const twilioPublicURL = "https://mms.example.org/twilio"

func startWebhooks(t *testing.T, allowPrivate, unlinked bool) *webhookEnv {
	tw, tx, bw := webhooktest.NewTwilio(), webhooktest.NewTelnyx(), webhooktest.NewBandwidth()
	t.Cleanup(tw.Close)
	t.Cleanup(tx.Close)
	t.Cleanup(bw.Close)
	extra := fmt.Sprintf(`
[webhook]
listen = "127.0.0.1:0"
allow_private_media = %t
max_media_bytes = 2097152
[webhook.twilio]
account_sid = %q
auth_token = %q
url = %q
api_url = %q
[webhook.telnyx]
public_key = %q
api_key = %q
api_url = %q
[webhook.bandwidth]
username = %q
password = %q
account_id = %q
application_id = %q
api_username = %q
api_password = %q
api_url = %q
media_url = %q
`, allowPrivate, tw.AccountSID, tw.AuthToken, twilioPublicURL, tw.API.URL,
		tx.PublicKeyBase64(), tx.APIKey, tx.API.URL,
		bw.CallbackUser, bw.CallbackPassword, bw.AccountID, bw.ApplicationID, bw.APIUser, bw.APIPassword, bw.API.URL, bw.API.URL)
	e := startWith(t, envOptions{extra: extra, unlinked: unlinked})
	return &webhookEnv{env: e, twilio: tw, telnyx: tx, bandwidth: bw, base: "http://" + e.srv.WebhookAddr().String(), text: "At the beach"}
}

// provider posts one MMS through one fake aggregator.
type provider struct {
	name  string
	fake  *webhooktest.Provider
	post  func(id string, media []string, bad bool) (int, string, error)
	badOK int // the status a bad signature gets
}

func (w *webhookEnv) providers() []provider {
	return []provider{
		{"twilio", w.twilio.Provider, func(id string, media []string, bad bool) (int, string, error) {
			tok := ""
			if bad {
				tok = "wrong-token"
			}
			return w.twilio.Post(w.base+"/twilio", twilioPublicURL, id, aliceNumber, serviceNumber, w.text, media, tok)
		}, http.StatusForbidden},
		{"telnyx", w.telnyx.Provider, func(id string, media []string, bad bool) (int, string, error) {
			return w.telnyx.Post(w.base+"/telnyx", id, aliceNumber, serviceNumber, w.text, media, bad)
		}, http.StatusForbidden},
		{"bandwidth", w.bandwidth.Provider, func(id string, media []string, bad bool) (int, string, error) {
			pw := ""
			if bad {
				pw = "wrong"
			}
			return w.bandwidth.Post(w.base+"/bandwidth", id, aliceNumber, serviceNumber, w.text, media, pw)
		}, http.StatusUnauthorized},
	}
}

func mustStatus(t *testing.T, what string, want int, code int, body string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if code != want {
		t.Fatalf("%s: HTTP %d %q, want %d", what, code, body, want)
	}
}

// For each aggregator: a photo becomes alice's avatar as bob sees it; the
// same message again, a bad signature and an oversized picture publish
// nothing (the next event bob sees is the next good message's).
func TestWebhookPhotoBecomesAvatar(t *testing.T) {
	w := startWebhooks(t, true, false)
	seed := uint64(10)
	for _, p := range w.providers() {
		t.Run(p.name, func(t *testing.T) {
			seed++
			photo := p.fake.AddMedia(fmt.Sprintf("%s-1.jpg", p.name), mm7sample.Photo(1280, 960, seed))
			code, body, err := p.post(p.name+"-msg-1", []string{photo}, false)
			mustStatus(t, "first", http.StatusOK, code, body, err)
			ev1 := w.nextAvatar()
			if len(ev1.Infos) != 1 || ev1.Infos[0].Width != 128 {
				t.Fatalf("metadata %+v", ev1.Infos)
			}
			code, body, err = p.post(p.name+"-msg-1", []string{photo}, false)
			mustStatus(t, "duplicate", http.StatusOK, code, body, err)

			hits := p.fake.MediaHits.Load()
			code, body, err = p.post(p.name+"-msg-bad", []string{photo}, true)
			mustStatus(t, "bad signature", p.badOK, code, body, err)
			if p.fake.MediaHits.Load() != hits {
				t.Fatal("media fetched for a webhook with a bad signature")
			}

			big := p.fake.AddMedia(p.name+"-big.jpg", bytes.Repeat([]byte{0xff}, 3<<20))
			code, body, err = p.post(p.name+"-msg-big", []string{big}, false)
			mustStatus(t, "oversized", http.StatusOK, code, body, err)

			seed++
			next := p.fake.AddMedia(p.name+"-2.jpg", mm7sample.Photo(960, 1280, seed))
			code, body, err = p.post(p.name+"-msg-2", []string{next}, false)
			mustStatus(t, "second", http.StatusOK, code, body, err)
			if ev2 := w.nextAvatar(); ev2.ItemID == ev1.ItemID {
				t.Fatalf("the duplicate was published again (%s)", ev2.ItemID)
			}
		})
	}
	if w.twilio.StorageSawAuth.Load() {
		t.Fatal("Twilio credentials were carried to the storage host")
	}
}

// A number that is not linked hears how to link, through the REST API of
// the provider it wrote through, from the number it wrote to.
func TestWebhookUnlinkedGetsInstructions(t *testing.T) {
	w := startWebhooks(t, true, true)
	for _, p := range w.providers() {
		code, body, err := p.post(p.name+"-u", nil, false)
		mustStatus(t, p.name, http.StatusOK, code, body, err)
		select {
		case r := <-p.fake.Replies():
			if r.To != aliceNumber || r.From != serviceNumber || !strings.Contains(r.Text, "not linked") {
				t.Fatalf("%s reply %+v", p.name, r)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: no reply reached the provider", p.name)
		}
	}
}

// With allow_private_media off, media on loopback is never fetched.
func TestWebhookMediaOnLoopbackRefused(t *testing.T) {
	w := startWebhooks(t, false, false)
	for _, p := range w.providers() {
		photo := p.fake.AddMedia(p.name+".jpg", mm7sample.Photo(640, 480, 5))
		code, body, err := p.post(p.name+"-ssrf", []string{photo}, false)
		mustStatus(t, p.name, http.StatusOK, code, body, err)
		if n := p.fake.MediaHits.Load(); n != 0 {
			t.Fatalf("%s: %d media requests reached loopback", p.name, n)
		}
	}
}

// A picture the provider's media host will not give within the limits,
// with a text: the provider is told 200, the text becomes the status bob
// sees, and the phone hears through the provider's REST API, from the
// number it wrote to, that the picture was skipped and why.
func TestWebhookPictureSkippedTextApplied(t *testing.T) {
	w := startWebhooks(t, true, false)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for _, p := range w.providers() {
		t.Run(p.name, func(t *testing.T) {
			w.text = "No photo from " + p.name
			big := p.fake.AddMedia(p.name+"-big.jpg", bytes.Repeat([]byte{0xff}, 3<<20))
			code, body, err := p.post(p.name+"-skip", []string{big}, false)
			mustStatus(t, "oversized with a text", http.StatusOK, code, body, err)
			waitVCard4(ctx, t, w.bob, w.alice, w.text)
			select {
			case r := <-p.fake.Replies():
				if r.To != aliceNumber || r.From != serviceNumber || !strings.Contains(r.Text, "Applied: status. Picture skipped: it is too large to fetch") {
					t.Fatalf("reply %+v", r)
				}
			case <-ctx.Done():
				t.Fatal("no reply reached the provider")
			}
		})
	}
}
