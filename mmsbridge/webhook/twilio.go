package webhook

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"mmsprofile/mmsbridge"
)

// Twilio serves Twilio's incoming-message webhook.
type Twilio struct {
	AccountSID string
	AuthToken  string
	// URL is the public URL the signature is computed over.
	URL string
	// APIURL is the REST base; media under its host get the credentials.
	APIURL string

	Common
}

// Common holds what every provider's handler shares.
type Common struct {
	MaxBodyBytes int64
	MaxMedia     int
	FetchTimeout time.Duration
	// ReceiveTimeout bounds the commit once the media are in (default
	// 10 s).
	ReceiveTimeout     time.Duration
	DefaultCountryCode string
	Fetcher            *Fetcher
	Receiver           mmsbridge.Receiver
	// Refused counts a refused webhook by reason; may be nil.
	Refused func(provider, reason string)
	Log     *slog.Logger
}

func (c *Common) refused(provider, reason string) {
	if c.Refused != nil {
		c.Refused(provider, reason)
	}
}

// twilioBudget keeps the media fetch inside Twilio's 15 s.
const twilioBudget = 10 * time.Second

// twimlResponse is an empty TwiML answer: Twilio is to do nothing more.
type twimlResponse struct {
	XMLName xml.Name `xml:"Response"`
}

func (t *Twilio) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		t.refused("twilio", "method")
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, t.MaxBodyBytes)
	if err := r.ParseForm(); err != nil {
		t.refused("twilio", "malformed")
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	if !VerifyTwilio(t.AuthToken, t.URL, r.PostForm, r.Header.Get("X-Twilio-Signature")) {
		t.refused("twilio", "signature")
		http.Error(w, "bad signature", http.StatusForbidden)
		return
	}
	msg, media, err := t.parse(r.PostForm)
	if err != nil {
		t.refused("twilio", "malformed")
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	// Twilio waits 15 s and does not post again after a failure (unless
	// the URL asks it to): fetch within that, and never answer 503 for a
	// picture alone.
	err = t.deliver(r, msg, media, t.creds(), delivery{budget: min(t.FetchTimeout, twilioBudget)})
	if t.answer(w, "twilio", err) {
		w.Header().Set("Content-Type", "text/xml")
		io.WriteString(w, xml.Header)
		if err := xml.NewEncoder(w).Encode(twimlResponse{}); err != nil {
			// The message is committed; only the answer did not get out.
			t.Log.Warn("TwiML answer not written", "provider", "twilio", "err", err)
		}
	}
}

func (t *Twilio) creds() *Credentials {
	u, err := url.Parse(t.APIURL)
	if err != nil {
		return nil
	}
	return &Credentials{Hosts: []string{u.Host}, Username: t.AccountSID, Password: t.AuthToken}
}

// mediaRef is one media item as announced by the provider.
type mediaRef struct{ URL, ContentType string }

func (t *Twilio) parse(f url.Values) (*mmsbridge.Message, []mediaRef, error) {
	sid := f.Get("MessageSid")
	if sid == "" {
		return nil, nil, errors.New("no MessageSid")
	}
	if f.Get("AccountSid") != t.AccountSID {
		return nil, nil, errors.New("AccountSid is not this account's")
	}
	n, err := strconv.Atoi(f.Get("NumMedia"))
	if f.Get("NumMedia") == "" {
		n, err = 0, nil
	}
	if err != nil || n < 0 || n > 100 {
		return nil, nil, errors.New("bad NumMedia")
	}
	var media []mediaRef
	for i := 0; i < n; i++ {
		media = append(media, mediaRef{URL: f.Get("MediaUrl" + strconv.Itoa(i)), ContentType: f.Get("MediaContentType" + strconv.Itoa(i))})
	}
	return t.message(mmsbridge.TransportTwilio, sid, f.Get("From"), []string{f.Get("To")}, f.Get("Body")), media, nil
}

// message builds the transport-neutral MMS. The number the phone wrote
// to rides in LinkedID: a reply is sent from it.
func (c *Common) message(tr mmsbridge.Transport, id, from string, to []string, text string) *mmsbridge.Message {
	m := &mmsbridge.Message{
		Transport: tr,
		Key:       string(tr) + ":" + id,
		MessageID: id,
		SenderRaw: from,
		Received:  time.Now(),
	}
	if n, err := mmsbridge.NormalizeNumber(from, c.DefaultCountryCode); err == nil {
		m.Sender = n
	}
	for _, r := range to {
		if r != "" {
			m.Recipients = append(m.Recipients, mmsbridge.Address{Kind: "To", Value: r})
		}
	}
	if len(to) > 0 {
		m.LinkedID = to[0]
	}
	if strings.TrimSpace(text) != "" {
		m.Parts = append(m.Parts, mmsbridge.Part{ContentType: "text/plain", Charset: "utf-8", Data: []byte(text)})
	}
	return m
}

// delivery is how one provider waits for our answer.
type delivery struct {
	// budget bounds fetching all the media, so the answer comes inside
	// the provider's own timeout.
	budget time.Duration
	// retried says the provider will post again after a 5xx: a media
	// fetch that fails for now is then answered 503 and tried again
	// whole. Otherwise the MMS goes on without that picture (the phone
	// is told), since a 503 would lose the text too.
	retried bool
}

// defaultReceiveTimeout bounds the commit after the media are in.
const defaultReceiveTimeout = 10 * time.Second

// deliver fetches the media within the budget and hands the MMS on. The
// work runs under its own deadline, not the request's: a provider that
// hangs up after its timeout must not cancel a commit under way (it posts
// again, and the commit makes that a duplicate).
func (c *Common) deliver(r *http.Request, msg *mmsbridge.Message, media []mediaRef, creds *Credentials, d delivery) error {
	wait := c.ReceiveTimeout
	if wait <= 0 {
		wait = defaultReceiveTimeout
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), d.budget+wait)
	defer cancel()
	if len(media) > c.MaxMedia {
		media = media[:c.MaxMedia]
	}
	fctx, cancelFetch := context.WithTimeout(ctx, d.budget)
	defer cancelFetch()
	for _, ref := range media {
		m, err := c.Fetcher.Fetch(fctx, ref.URL, creds)
		if err == nil {
			msg.Parts = append(msg.Parts, mmsbridge.Part{ContentType: m.ContentType, Data: m.Data})
			continue
		}
		missing := mmsbridge.Part{ContentType: ref.ContentType, Missing: mmsbridge.ErrMediaUnavailable}
		if !strings.HasPrefix(missing.ContentType, "image/") {
			missing.ContentType = "image/*" // unannounced: taken for the picture it most likely is
		}
		switch {
		case errors.Is(err, ErrTooLarge):
			missing.Missing = mmsbridge.ErrMediaTooLarge
			c.refused(string(msg.Transport), "media_too_large")
		case errors.Is(err, errForbiddenAddr):
			// Never a passing failure: retrying would not make it safe.
			c.Log.Warn("media URL points at an inner address; not fetched", "provider", msg.Transport, "message", msg.MessageID)
			c.refused(string(msg.Transport), "media_address")
		case d.retried:
			return fmt.Errorf("webhook: %s %s: %w", msg.Transport, msg.MessageID, err)
		default:
			c.Log.Warn("media not fetched; the rest goes on", "provider", msg.Transport, "message", msg.MessageID, "err", err)
			c.refused(string(msg.Transport), "media_unavailable")
		}
		msg.Parts = append(msg.Parts, missing)
	}
	return c.Receiver.Receive(ctx, msg)
}

// answer writes the status for a failed delivery. A refusal is final: the
// provider is told 200 so it does not retry (the phone hears why through
// the reply the rules queued). Anything else is temporary: 503, retried.
// It reports whether the caller should still write its success answer.
func (c *Common) answer(w http.ResponseWriter, provider string, err error) bool {
	if err == nil {
		return true
	}
	if r, ok := mmsbridge.AsRefusal(err); ok {
		if r.Reason == mmsbridge.ReasonBusy {
			c.refused(provider, "busy")
			w.Header().Set("Retry-After", "5")
			http.Error(w, r.Text, http.StatusServiceUnavailable)
			return false
		}
		c.Log.Info("webhook refused", "provider", provider, "reason", r.Text)
		return true
	}
	c.Log.Warn("webhook failed; the provider retries", "provider", provider, "err", err)
	c.refused(provider, "temporary")
	http.Error(w, "temporary failure", http.StatusServiceUnavailable)
	return false
}
