package webhook

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"

	"mmsprofile/mmsbridge"
)

// Bandwidth serves Bandwidth's Messaging API v2 callbacks.
type Bandwidth struct {
	Username, Password       string // the callbacks' Basic auth
	APIUsername, APIPassword string
	APIURL, MediaURL         string
	Common
}

type bandwidthCallback struct {
	Type    string `json:"type"`
	To      string `json:"to"`
	Message struct {
		ID    string   `json:"id"`
		From  string   `json:"from"`
		To    []string `json:"to"`
		Text  string   `json:"text"`
		Media []string `json:"media"`
	} `json:"message"`
}

func (b *Bandwidth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		b.refused("bandwidth", "method")
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	u, p, ok := r.BasicAuth()
	if !BasicAuthOK(u, p, ok, b.Username, b.Password) {
		b.refused("bandwidth", "signature")
		w.Header().Set("WWW-Authenticate", `Basic realm="mmsprofile"`)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, b.MaxBodyBytes))
	if err != nil {
		b.refused("bandwidth", "malformed")
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	var cbs []bandwidthCallback
	if err := json.Unmarshal(body, &cbs); err != nil {
		b.refused("bandwidth", "malformed")
		http.Error(w, "bad JSON", http.StatusBadRequest)
		return
	}
	creds := &Credentials{Username: b.APIUsername, Password: b.APIPassword}
	for _, s := range []string{b.APIURL, b.MediaURL} {
		if u, err := url.Parse(s); err == nil {
			creds.Hosts = append(creds.Hosts, u.Host)
		}
	}
	for _, cb := range cbs {
		if cb.Type != "message-received" {
			continue // delivery events: acknowledged and ignored
		}
		m := cb.Message
		if m.ID == "" {
			b.refused("bandwidth", "malformed")
			http.Error(w, "no message id", http.StatusBadRequest)
			return
		}
		to := m.To
		if cb.To != "" {
			// The number of ours that received it comes first: the
			// reply is sent from it.
			to = append([]string{cb.To}, to...)
		}
		var media []mediaRef
		for _, u := range m.Media {
			media = append(media, mediaRef{URL: u})
		}
		msg := b.message(mmsbridge.TransportBandwidth, m.ID, m.From, to, m.Text)
		// One at a time: a temporary failure answers 503 and Bandwidth
		// retries the batch; those already committed are duplicates then.
		// Bandwidth posts again for a day: a media fetch that fails for
		// now is worth its 503.
		if !b.answer(w, "bandwidth", b.deliver(r, msg, media, creds, delivery{budget: b.FetchTimeout, retried: true})) {
			return
		}
	}
	w.WriteHeader(http.StatusOK)
}
