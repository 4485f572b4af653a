package webhooktest

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"mmsprofile/mmsbridge/webhook"
)

// Reply is one message a fake's REST API took.
type Reply struct{ From, To, Text string }

// Provider is what the three fakes share: media under /media/NAME on the
// API host, the replies recorded, and the media requests counted.
type Provider struct {
	API *httptest.Server
	// MediaHits counts media requests that reached the fake.
	MediaHits atomic.Int32

	mu      sync.Mutex
	media   map[string][]byte
	replies chan Reply
	user    string
	pass    string
	bearer  string
}

func newProvider() *Provider {
	return &Provider{media: map[string][]byte{}, replies: make(chan Reply, 16)}
}

// AddMedia serves b as /media/name and returns its URL.
func (p *Provider) AddMedia(name string, b []byte) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.media[name] = b
	return p.API.URL + "/media/" + name
}

// Replies is where the REST replies arrive.
func (p *Provider) Replies() <-chan Reply { return p.replies }

func (p *Provider) authorized(r *http.Request) bool {
	if p.bearer != "" {
		return r.Header.Get("Authorization") == "Bearer "+p.bearer
	}
	u, pw, ok := r.BasicAuth()
	return ok && u == p.user && pw == p.pass
}

func (p *Provider) serveMedia(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	p.MediaHits.Add(1)
	p.mu.Lock()
	b, ok := p.media[strings.TrimPrefix(r.URL.Path, "/media/")]
	p.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
	}
	return b, ok
}

func post(url string, body []byte, contentType string, header map[string]string, basic ...string) (int, string, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", contentType)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if len(basic) == 2 {
		req.SetBasicAuth(basic[0], basic[1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

// Twilio fakes api.twilio.com: media answer with a redirect to a second,
// unauthenticated "storage" host, as Twilio's do.
type Twilio struct {
	*Provider
	Storage    *httptest.Server
	AccountSID string
	AuthToken  string
	// StorageSawAuth is set if credentials ever reached the storage host.
	StorageSawAuth atomic.Bool
}

// Close stops the fake's servers.
func (p *Provider) Close() { p.API.Close() }

// NewTwilio starts the fake; Close stops it.
func NewTwilio() *Twilio {
	f := &Twilio{Provider: newProvider(), AccountSID: "AC0123456789abcdef0123456789abcdef", AuthToken: "twilio-token"}
	f.user, f.pass = f.AccountSID, f.AuthToken
	f.Storage = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			f.StorageSawAuth.Store(true)
		}
		if b, ok := f.serveMedia(w, r); ok {
			w.Write(b)
		}
	}))
	f.API = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !f.authorized(r) {
			http.Error(w, `{"code":20003}`, http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodPost && r.URL.Path == "/2010-04-01/Accounts/"+f.AccountSID+"/Messages.json" {
			r.ParseForm()
			f.replies <- Reply{From: r.PostForm.Get("From"), To: r.PostForm.Get("To"), Text: r.PostForm.Get("Body")}
			w.WriteHeader(http.StatusCreated)
			fmt.Fprint(w, `{"sid":"SM1","status":"queued"}`)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/media/") {
			http.Redirect(w, r, f.Storage.URL+r.URL.Path, http.StatusTemporaryRedirect)
			return
		}
		http.NotFound(w, r)
	}))
	return f
}

// Close stops the API and the storage host.
func (f *Twilio) Close() { f.API.Close(); f.Storage.Close() }

// Post sends an incoming-message webhook signed for publicURL to target;
// a non-empty badToken signs with the wrong token.
func (f *Twilio) Post(target, publicURL, sid, from, to, text string, media []string, badToken string) (int, string, error) {
	form := url.Values{"MessageSid": {sid}, "AccountSid": {f.AccountSID}, "From": {from}, "To": {to}, "Body": {text},
		"NumMedia": {strconv.Itoa(len(media))}, "SmsStatus": {"received"}}
	for i, m := range media {
		form.Set("MediaUrl"+strconv.Itoa(i), m)
		form.Set("MediaContentType"+strconv.Itoa(i), "image/jpeg")
	}
	token := f.AuthToken
	if badToken != "" {
		token = badToken
	}
	sig := webhook.TwilioSignature(token, publicURL, form)
	return post(target, []byte(form.Encode()), "application/x-www-form-urlencoded", map[string]string{"X-Twilio-Signature": sig})
}

// Telnyx fakes api.telnyx.com; media URLs need no credentials.
type Telnyx struct {
	*Provider
	Public ed25519.PublicKey
	key    ed25519.PrivateKey
	APIKey string
}

// NewTelnyx starts the fake; Close stops it.
func NewTelnyx() *Telnyx {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		panic(fmt.Sprintf("webhooktest: ed25519 key: %v", err))
	}
	f := &Telnyx{Provider: newProvider(), Public: pub, key: priv, APIKey: "KEYtelnyx"}
	f.bearer = f.APIKey
	f.API = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/media/") {
			if b, ok := f.serveMedia(w, r); ok {
				w.Write(b)
			}
			return
		}
		if !f.authorized(r) {
			http.Error(w, `{"errors":[{"code":"10009"}]}`, http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodPost && r.URL.Path == "/v2/messages" {
			var m struct{ From, To, Text string }
			json.NewDecoder(r.Body).Decode(&m)
			f.replies <- Reply{From: m.From, To: m.To, Text: m.Text}
			fmt.Fprint(w, `{"data":{"id":"40385f64"}}`)
			return
		}
		http.NotFound(w, r)
	}))
	return f
}

// PublicKeyBase64 is the key as the portal shows it.
func (f *Telnyx) PublicKeyBase64() string { return base64.StdEncoding.EncodeToString(f.Public) }

// Post sends a message.received webhook; forge signs with another key.
func (f *Telnyx) Post(target, id, from, to, text string, media []string, forge bool) (int, string, error) {
	type num struct {
		PhoneNumber string `json:"phone_number"`
	}
	type med struct {
		URL         string `json:"url"`
		ContentType string `json:"content_type"`
	}
	var ms []med
	for _, m := range media {
		ms = append(ms, med{m, "image/jpeg"})
	}
	ev := map[string]any{"data": map[string]any{"event_type": "message.received", "id": "evt-" + id, "record_type": "event",
		"payload": map[string]any{"id": id, "direction": "inbound", "type": "MMS", "from": num{from}, "to": []num{{to}}, "text": text, "media": ms}}}
	body, _ := json.Marshal(ev)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	key := f.key
	if forge {
		_, key, _ = ed25519.GenerateKey(nil)
	}
	sig := base64.StdEncoding.EncodeToString(ed25519.Sign(key, append([]byte(ts+"|"), body...)))
	return post(target, body, "application/json", map[string]string{"telnyx-timestamp": ts, "telnyx-signature-ed25519": sig})
}

// Bandwidth fakes messaging.bandwidth.com: media and replies behind the
// API credentials.
type Bandwidth struct {
	*Provider
	CallbackUser, CallbackPassword string
	APIUser, APIPassword           string
	AccountID, ApplicationID       string
}

// NewBandwidth starts the fake; Close stops it.
func NewBandwidth() *Bandwidth {
	f := &Bandwidth{Provider: newProvider(), CallbackUser: "bw-callback", CallbackPassword: "cb-secret",
		APIUser: "bw-api", APIPassword: "api-secret", AccountID: "9900000", ApplicationID: "app-1"}
	f.user, f.pass = f.APIUser, f.APIPassword
	f.API = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !f.authorized(r) {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/media/") {
			if b, ok := f.serveMedia(w, r); ok {
				w.Write(b)
			}
			return
		}
		if r.Method == http.MethodPost && r.URL.Path == "/api/v2/users/"+f.AccountID+"/messages" {
			var m struct {
				ApplicationID string   `json:"applicationId"`
				To            []string `json:"to"`
				From, Text    string
			}
			json.NewDecoder(r.Body).Decode(&m)
			if m.ApplicationID != f.ApplicationID || len(m.To) != 1 {
				http.Error(w, "bad request", http.StatusBadRequest)
				return
			}
			f.replies <- Reply{From: m.From, To: m.To[0], Text: m.Text}
			w.WriteHeader(http.StatusAccepted)
			fmt.Fprint(w, `{"id":"1589228074636lm4k2je7j7jklbn2"}`)
			return
		}
		http.NotFound(w, r)
	}))
	return f
}

// Post sends a callback batch: a delivery event, then message-received.
func (f *Bandwidth) Post(target, id, from, to, text string, media []string, password string) (int, string, error) {
	if password == "" {
		password = f.CallbackPassword
	}
	now := time.Now().UTC().Format(time.RFC3339)
	body, _ := json.Marshal([]map[string]any{
		{"type": "message-delivered", "time": now, "to": from, "message": map[string]any{"id": "out-" + id, "direction": "out"}},
		{"type": "message-received", "time": now, "to": to, "description": "Incoming message received",
			"message": map[string]any{"id": id, "time": now, "to": []string{to}, "from": from, "text": text,
				"applicationId": f.ApplicationID, "media": media, "owner": to, "direction": "in", "segmentCount": 1}},
	})
	return post(target, body, "application/json", nil, f.CallbackUser, password)
}
