package config

import (
	"encoding/base64"
	"net/url"
	"strings"
	"time"
)

// Webhook is the listener HTTP aggregators (Twilio, Telnyx, Bandwidth)
// post inbound MMS to. It is on only when [webhook] is in the file, and
// each provider only when its own section is.
type Webhook struct {
	Enabled bool   `toml:"-"`
	Listen  string `toml:"listen"`
	// AllowPrivateMedia lets media be fetched from loopback and private
	// addresses: for tests with a local fake provider only.
	AllowPrivateMedia bool `toml:"allow_private_media"`
	// MaxBodyBytes bounds one webhook request's body.
	MaxBodyBytes int64 `toml:"max_body_bytes"`
	// MaxMediaBytes bounds one fetched media file, counted while reading.
	MaxMediaBytes int64 `toml:"max_media_bytes"`
	// MaxMedia is how many media items of one message are fetched.
	MaxMedia int `toml:"max_media"`
	// FetchTimeout bounds fetching all the media of one message.
	FetchTimeout time.Duration `toml:"fetch_timeout"`

	Twilio    Twilio    `toml:"twilio"`
	Telnyx    Telnyx    `toml:"telnyx"`
	Bandwidth Bandwidth `toml:"bandwidth"`
}

// Twilio is Twilio's Programmable Messaging incoming-message webhook.
type Twilio struct {
	Enabled       bool   `toml:"-"`
	Path          string `toml:"path"`
	AccountSID    string `toml:"account_sid"`
	AuthToken     string `toml:"auth_token"`
	AuthTokenFile string `toml:"auth_token_file"`
	// URL is the public URL configured in Twilio's console: the one
	// X-Twilio-Signature is computed over, whatever proxy sits between.
	URL    string `toml:"url"`
	APIURL string `toml:"api_url"`
}

// Telnyx is Telnyx's API v2 messaging webhook.
type Telnyx struct {
	Enabled    bool   `toml:"-"`
	Path       string `toml:"path"`
	PublicKey  string `toml:"public_key"`
	APIKey     string `toml:"api_key"`
	APIKeyFile string `toml:"api_key_file"`
	APIURL     string `toml:"api_url"`
	// MaxAge refuses a webhook whose telnyx-timestamp is older (replay).
	MaxAge time.Duration `toml:"max_age"`
}

// Bandwidth is Bandwidth's Messaging API v2 callback.
type Bandwidth struct {
	Enabled         bool   `toml:"-"`
	Path            string `toml:"path"`
	Username        string `toml:"username"`
	Password        string `toml:"password"`
	PasswordFile    string `toml:"password_file"`
	AccountID       string `toml:"account_id"`
	ApplicationID   string `toml:"application_id"`
	APIUsername     string `toml:"api_username"`
	APIPassword     string `toml:"api_password"`
	APIPasswordFile string `toml:"api_password_file"`
	APIURL          string `toml:"api_url"`
	MediaURL        string `toml:"media_url"`
}

func (c *Config) validateWebhook(bad func(string, ...any)) {
	w := c.Webhook
	if !w.Enabled {
		return
	}
	checkHostPort(bad, "webhook.listen", w.Listen)
	if w.MaxBodyBytes < 1024 {
		bad("webhook.max_body_bytes %d is too small", w.MaxBodyBytes)
	}
	if w.MaxMediaBytes < 1024 {
		bad("webhook.max_media_bytes %d is too small", w.MaxMediaBytes)
	}
	if w.MaxMedia < 1 {
		bad("webhook.max_media must be >= 1")
	}
	if w.FetchTimeout <= 0 {
		bad("webhook.fetch_timeout must be > 0")
	}
	if !w.Twilio.Enabled && !w.Telnyx.Enabled && !w.Bandwidth.Enabled {
		bad("[webhook] is set but no provider is: add [webhook.twilio], [webhook.telnyx] or [webhook.bandwidth]")
	}
	paths := map[string]string{}
	path := func(key, p string) {
		if !strings.HasPrefix(p, "/") {
			bad("%s %q must start with /", key, p)
		}
		if other, ok := paths[p]; ok {
			bad("%s %q is also %s", key, p, other)
		}
		paths[p] = key
	}
	apiURL := func(key, s string) {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			bad("%s %q: want an http(s):// URL without credentials", key, s)
		}
	}
	if t := w.Twilio; t.Enabled {
		path("webhook.twilio.path", t.Path)
		if !strings.HasPrefix(t.AccountSID, "AC") {
			bad("webhook.twilio.account_sid %q: want Twilio's Account SID (AC…)", t.AccountSID)
		}
		if t.AuthToken == "" {
			bad("webhook.twilio.auth_token (or auth_token_file) is required: it checks X-Twilio-Signature")
		}
		if err := checkPublicURL(t.URL); err != nil && !strings.Contains(err.Error(), "query") {
			bad("webhook.twilio.url %q: %v (the public URL set in Twilio's console)", t.URL, err)
		}
		apiURL("webhook.twilio.api_url", t.APIURL)
	}
	if t := w.Telnyx; t.Enabled {
		path("webhook.telnyx.path", t.Path)
		if k, err := base64.StdEncoding.DecodeString(t.PublicKey); err != nil || len(k) != 32 {
			bad("webhook.telnyx.public_key: want the base64 Ed25519 public key from Telnyx's portal (32 bytes)")
		}
		if t.APIKey == "" {
			bad("webhook.telnyx.api_key (or api_key_file) is required: replies to phones use it")
		}
		apiURL("webhook.telnyx.api_url", t.APIURL)
		if t.MaxAge <= 0 {
			bad("webhook.telnyx.max_age must be > 0")
		}
	}
	if b := w.Bandwidth; b.Enabled {
		path("webhook.bandwidth.path", b.Path)
		if b.Username == "" || b.Password == "" {
			bad("webhook.bandwidth.username and password (or password_file) are required: the Basic auth of Bandwidth's callbacks")
		}
		if b.AccountID == "" || b.ApplicationID == "" {
			bad("webhook.bandwidth.account_id and application_id are required: replies name them")
		}
		if b.APIUsername == "" || b.APIPassword == "" {
			bad("webhook.bandwidth.api_username and api_password (or api_password_file) are required: media and replies use them")
		}
		apiURL("webhook.bandwidth.api_url", b.APIURL)
		apiURL("webhook.bandwidth.media_url", b.MediaURL)
	}
}
