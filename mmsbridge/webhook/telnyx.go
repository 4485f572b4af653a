package webhook

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"time"

	"mmsprofile/mmsbridge"
)

// Telnyx serves Telnyx's API v2 messaging webhook.
type Telnyx struct {
	PublicKey ed25519.PublicKey
	MaxAge    time.Duration
	// APIURL's host is the only one that gets the API key for media.
	APIURL string
	APIKey string
	Common
}

type telnyxEvent struct {
	Data struct {
		EventType string `json:"event_type"`
		Payload   struct {
			ID   string `json:"id"`
			From struct {
				PhoneNumber string `json:"phone_number"`
			} `json:"from"`
			To []struct {
				PhoneNumber string `json:"phone_number"`
			} `json:"to"`
			Text  string `json:"text"`
			Media []struct {
				URL         string `json:"url"`
				ContentType string `json:"content_type"`
			} `json:"media"`
		} `json:"payload"`
	} `json:"data"`
	Meta struct {
		// Attempt counts Telnyx's posts of this event, from 1.
		Attempt int `json:"attempt"`
	} `json:"meta"`
}

// Telnyx waits 2 s for the answer and posts an event at most 3 times to a
// URL (then to the failover URL, if any).
const (
	telnyxBudget   = 1200 * time.Millisecond
	telnyxAttempts = 3
)

func (t *Telnyx) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		t.refused("telnyx", "method")
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, t.MaxBodyBytes))
	if err != nil {
		t.refused("telnyx", "malformed")
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	switch err := VerifyTelnyx(t.PublicKey, r.Header.Get("telnyx-signature-ed25519"), r.Header.Get("telnyx-timestamp"), body, time.Now(), t.MaxAge); {
	case errors.Is(err, errStale):
		t.refused("telnyx", "stale")
		http.Error(w, "stale timestamp", http.StatusForbidden)
		return
	case err != nil:
		t.refused("telnyx", "signature")
		http.Error(w, "bad signature", http.StatusForbidden)
		return
	}
	var ev telnyxEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		t.refused("telnyx", "malformed")
		http.Error(w, "bad JSON", http.StatusBadRequest)
		return
	}
	p := ev.Data.Payload
	if ev.Data.EventType != "message.received" {
		// Delivery reports and the like: acknowledged, nothing to do.
		w.WriteHeader(http.StatusOK)
		return
	}
	if p.ID == "" {
		t.refused("telnyx", "malformed")
		http.Error(w, "no message id", http.StatusBadRequest)
		return
	}
	var to []string
	for _, a := range p.To {
		to = append(to, a.PhoneNumber)
	}
	var media []mediaRef
	for _, m := range p.Media {
		media = append(media, mediaRef{URL: m.URL, ContentType: m.ContentType})
	}
	msg := t.message(mmsbridge.TransportTelnyx, p.ID, p.From.PhoneNumber, to, p.Text)
	// Telnyx media URLs are pre-signed on its storage host: no
	// credentials needed, and none go there.
	var creds *Credentials
	if u, err := url.Parse(t.APIURL); err == nil {
		creds = &Credentials{Hosts: []string{u.Host}}
	}
	// The fetch leaves room for the commit inside Telnyx's 2 s. Slow
	// media gets a 503 and Telnyx's next post tries again; on its last
	// one the MMS goes on without the picture rather than be lost.
	d := delivery{budget: min(t.FetchTimeout, telnyxBudget), retried: ev.Meta.Attempt < telnyxAttempts}
	if t.answer(w, "telnyx", t.deliver(r, msg, media, creds, d)) {
		w.WriteHeader(http.StatusOK)
	}
}
