package webhook

import (
	"context"
	"errors"
	"fmt"
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
	MaxBodyBytes       int64
	MaxMedia           int
	FetchTimeout       time.Duration
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

const emptyTwiML = `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`

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
	err = t.deliver(r.Context(), msg, media, t.creds())
	if t.answer(w, "twilio", err) {
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprint(w, emptyTwiML)
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

// deliver fetches the media within the budget and hands the MMS on.
func (c *Common) deliver(ctx context.Context, msg *mmsbridge.Message, media []mediaRef, creds *Credentials) error {
	if len(media) > c.MaxMedia {
		media = media[:c.MaxMedia]
	}
	fctx, cancel := context.WithTimeout(ctx, c.FetchTimeout)
	defer cancel()
	for _, ref := range media {
		m, err := c.Fetcher.Fetch(fctx, ref.URL, creds)
		if errors.Is(err, ErrTooLarge) {
			return mmsbridge.Refuse(mmsbridge.ReasonContent, "a picture is larger than this service takes")
		}
		if errors.Is(err, errForbiddenAddr) {
			// Never a passing failure: retrying would not make it safe.
			c.Log.Warn("media URL points at an inner address; not fetched", "provider", msg.Transport, "message", msg.MessageID)
			c.refused(string(msg.Transport), "media_address")
			return mmsbridge.Refuse(mmsbridge.ReasonContent, "the picture could not be fetched")
		}
		if err != nil {
			return fmt.Errorf("webhook: %s %s: %w", msg.Transport, msg.MessageID, err)
		}
		msg.Parts = append(msg.Parts, mmsbridge.Part{ContentType: m.ContentType, Data: m.Data})
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
