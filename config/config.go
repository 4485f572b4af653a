package config

import (
	"encoding/hex"
	"errors"
	"fmt"
	"image/color"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is the whole configuration file.
type Config struct {
	XMPP    XMPP    `toml:"xmpp"`
	Storage Storage `toml:"storage"`
	MM7     MM7     `toml:"mm7"`
	Email   Email   `toml:"email"`
	// Webhook takes MMS from HTTP aggregators; each section is on only
	// when present in the file.
	Webhook Webhook `toml:"webhook"`
	Avatar  Avatar  `toml:"avatar"`
	HTTP    HTTP    `toml:"http"`
	Profile Profile `toml:"profile"`
	Publish Publish `toml:"publish"`
	Limits  Limits  `toml:"limits"`
	// Ejabberd is the HTTP API used to publish on ejabberd < 24.10, whose
	// XEP-0356 has no IQ permission.
	Ejabberd Ejabberd `toml:"ejabberd"`
	Log      Log      `toml:"log"`
}

// XMPP is the component connection.
type XMPP struct {
	Component  string   `toml:"component"`
	Server     string   `toml:"server"`
	Secret     string   `toml:"secret"`
	SecretFile string   `toml:"secret_file"`
	Domains    []string `toml:"domains"`
	// ReconnectMin and ReconnectMax bound the backoff between attempts.
	ReconnectMin time.Duration `toml:"reconnect_min"`
	ReconnectMax time.Duration `toml:"reconnect_max"`
	// IQTimeout bounds one privileged IQ round trip.
	IQTimeout time.Duration `toml:"iq_timeout"`
	// VCardConversion says whether the server turns vcard-temp into PEP
	// and back itself (Prosody's mod_vcard_legacy): "auto" asks each host
	// (needs disco#info get granted), "on" or "off" say it.
	VCardConversion string `toml:"vcard_conversion"`
}

// Storage selects the database.
type Storage struct {
	Driver string `toml:"driver"`
	DSN    string `toml:"dsn"`
	// MaxConns bounds the PostgreSQL pool.
	MaxConns int32 `toml:"max_conns"`
	// ConnectTimeout bounds each PostgreSQL connection attempt, so an
	// outage turns into "retry later" quickly.
	ConnectTimeout time.Duration `toml:"connect_timeout"`
	// StatementTimeout bounds each PostgreSQL statement.
	StatementTimeout time.Duration `toml:"statement_timeout"`
	// Retention is how long the inbound log, finished outbox items and
	// unused pictures are kept; PruneEvery is how often they are pruned.
	Retention  time.Duration `toml:"retention"`
	PruneEvery time.Duration `toml:"prune_every"`
}

// MM7 is the MMSC-facing endpoint.
type MM7 struct {
	Listen       string `toml:"listen"`
	Path         string `toml:"path"`
	Username     string `toml:"username"`
	Password     string `toml:"password"`
	PasswordFile string `toml:"password_file"`
	// MaxBodyBytes is the largest request accepted (413 above it).
	MaxBodyBytes int64 `toml:"max_body_bytes"`
	// AllowedIPs limits which clients may connect (CIDR or address);
	// empty allows any client that authenticates.
	AllowedIPs []string `toml:"allowed_ips"`

	// SubmitURL is the MMSC's MM7 endpoint for replies to phones
	// (SubmitReq); "" sends no MM7 replies.
	SubmitURL          string `toml:"submit_url"`
	SubmitUsername     string `toml:"submit_username"`
	SubmitPassword     string `toml:"submit_password"`
	SubmitPasswordFile string `toml:"submit_password_file"`
	// VASPID, VASID and SenderAddress identify us in SubmitReq.
	VASPID        string `toml:"vaspid"`
	VASID         string `toml:"vasid"`
	SenderAddress string `toml:"sender_address"`
}

// Email is the carrier-mail listener and the way replies go out by mail.
type Email struct {
	Listen string `toml:"listen"`
	// Protocol spoken on Listen: "lmtp" (what Postfix and Exim deliver to)
	// or "smtp".
	Protocol string `toml:"protocol"`
	// Recipients are the addresses (or "@domain") mail is taken for; empty
	// takes any recipient (the listener then must only be reachable from
	// your own MTA).
	Recipients []string `toml:"recipients"`
	// AuthServID is our own MX's authserv-id; Authentication-Results
	// headers with any other id are ignored.
	AuthServID string `toml:"authserv_id"`
	// AllowedRelays are client addresses or CIDR blocks trusted to relay
	// any carrier's mail.
	AllowedRelays []string `toml:"allowed_relays"`
	// RequireAuth refuses mail whose sender is not proven by DKIM, SPF,
	// our MX or an allowed relay.
	RequireAuth bool `toml:"require_auth"`
	// MaxMessageBytes is announced with SIZE; larger mail is refused.
	MaxMessageBytes int64 `toml:"max_message_bytes"`
	// MaxSessions bounds concurrent SMTP/LMTP sessions.
	MaxSessions int `toml:"max_sessions"`
	// MaxRecipients per transaction; beyond it RCPT gets 452 4.5.3.
	MaxRecipients int `toml:"max_recipients"`
	// ReadTimeout bounds the wait for each command line, and for the
	// whole message after DATA (421 after it); WriteTimeout each answer.
	ReadTimeout  time.Duration `toml:"read_timeout"`
	WriteTimeout time.Duration `toml:"write_timeout"`
	// Hostname is the name we greet with.
	Hostname string `toml:"hostname"`

	// Smarthost (host:port) takes our replies to phones by mail; "" sends
	// none. ReplyFrom is their sender address.
	Smarthost         string `toml:"smarthost"`
	ReplyFrom         string `toml:"reply_from"`
	SmarthostUser     string `toml:"smarthost_username"`
	SmarthostPassword string `toml:"smarthost_password"`
	// SmarthostPasswordFile holds the password instead of the line above.
	SmarthostPasswordFile string `toml:"smarthost_password_file"`
	SmarthostTLS          bool   `toml:"smarthost_tls"`

	// Carriers add to or override the built-in carrier gateways.
	Carriers []Carrier `toml:"carrier"`
}

// Carrier is one MMS-to-mail gateway.
type Carrier struct {
	Domain      string   `toml:"domain"`
	CountryCode string   `toml:"country_code"`
	Relays      []string `toml:"relays"`
	// Auth lists the proofs accepted for this carrier: dkim, spf, relay, mx.
	Auth []string `toml:"auth"`
}

// Avatar is the operator's avatar standard.
type Avatar struct {
	Size          int    `toml:"size"`
	Format        string `toml:"format"`
	MaxBytes      int    `toml:"max_bytes"`
	MaxPixels     int64  `toml:"max_pixels"`
	MaxSide       int    `toml:"max_side"`
	MaxInputBytes int64  `toml:"max_input_bytes"`
	// MinSide refuses pictures smaller than this.
	MinSide int `toml:"min_side"`
	// MaxFrames bounds animated pictures (only the first frame is used).
	MaxFrames int `toml:"max_frames"`
	// Accept lists the input media types taken; empty takes all the
	// build decodes.
	Accept []string `toml:"accept"`
	// Crop is "centre" (fill the square) or "fit" (letterbox on
	// Background).
	Crop string `toml:"crop"`
	// Background is "transparent" or "#rrggbb"/"#rrggbbaa".
	Background string `toml:"background"`
	// MinDetail refuses nearly uniform pictures (a blank frame); negative
	// turns the check off.
	MinDetail float64 `toml:"min_detail"`
	// Hook is an optional command given the finished PNG on stdin; exit 0
	// accepts, 1 refuses.
	Hook        []string      `toml:"hook"`
	HookTimeout time.Duration `toml:"hook_timeout"`
	// MaxConcurrent bounds how many pictures are decoded at once.
	MaxConcurrent int `toml:"max_concurrent"`
	// Backend is "" (the best built in), "go" or "vips".
	Backend string `toml:"backend"`
	// Renditions are the square sides, in pixels, of larger JPEG copies
	// served under http.public_url and listed after the PNG in the avatar
	// metadata; each over Size and at most MaxRenditionSide. Used only
	// while http.public_url is set.
	Renditions []int `toml:"renditions"`
	// RenditionQuality is their JPEG quality, 1 to 100.
	RenditionQuality int `toml:"rendition_quality"`
}

// MaxRenditionSide bounds avatar.renditions: a larger copy would cost more
// to make and store than any client showing a contact's picture needs.
const MaxRenditionSide = 2048

// HTTP is the metrics and health endpoint, and where avatar renditions
// are served.
type HTTP struct {
	Listen string `toml:"listen"`
	// PublicURL is the absolute http(s) URL at which clients reach this
	// listener's /avatar/ path (normally through a reverse proxy that
	// forwards only that path); "" serves and publishes no renditions.
	PublicURL string `toml:"public_url"`
}

// Profile holds the rules applied to an MMS.
type Profile struct {
	// DefaultCountryCode is put in front of numbers that arrive without an
	// international prefix (digits only, e.g. "1" or "44"); empty takes such
	// numbers as already international.
	DefaultCountryCode string `toml:"default_country_code"`
	// MaxStatusChars cuts the status line.
	MaxStatusChars int `toml:"max_status_chars"`
	// StatusAsMood also publishes the status line as an XEP-0107 mood
	// (<undefined/> with the text), for clients that show moods.
	StatusAsMood bool `toml:"status_as_mood"`
	// ServiceNumber is where phones send their MMS (a short code or a
	// number); it is named in the linking instructions.
	ServiceNumber string `toml:"service_number"`
	// ServiceEmail, if set, is named as the e-mail way in.
	ServiceEmail string `toml:"service_email"`
	// CodeTTL is how long a link code stays valid.
	CodeTTL time.Duration `toml:"code_ttl"`
	// CodeDigits is the length of link codes (6 to 8).
	CodeDigits int `toml:"code_digits"`
	// MaxCodeFailures wrong codes end a pending link, and as many wrong
	// codes from one number within an hour lock that number out.
	MaxCodeFailures int `toml:"max_code_failures"`
}

// Ejabberd is ejabberd's HTTP API (mod_http_api).
type Ejabberd struct {
	// APIURL is the API's base URL, e.g. http://127.0.0.1:5280/api; ""
	// turns this path off.
	APIURL          string `toml:"api_url"`
	APIUser         string `toml:"api_user"`
	APIPassword     string `toml:"api_password"`
	APIPasswordFile string `toml:"api_password_file"`
}

// Limits are the rate limits (token buckets, persisted).
type Limits struct {
	// UpdatesPerHour per phone number.
	UpdatesPerHour int `toml:"updates_per_hour"`
	// LinkRequestsPerHour per account.
	LinkRequestsPerHour int `toml:"link_requests_per_hour"`
	// RepliesPerDay per phone number: we never become a way to spam a
	// phone.
	RepliesPerDay int `toml:"replies_per_day"`
	// MaxInFlight bounds the MMS being worked on at once; beyond it MM7
	// answers 4006 and SMTP 451 so the sender retries later.
	MaxInFlight int `toml:"max_in_flight"`

	// Every HTTP listener (mm7, http) against slow and abusive clients:
	// the request head must arrive within HTTPHeaderTimeout and the whole
	// request within HTTPReadTimeout, the answer be taken within
	// HTTPWriteTimeout; an idle keep-alive connection is closed after
	// HTTPIdleTimeout; a head over HTTPMaxHeaderBytes gets 431; at most
	// HTTPMaxConns connections are open per listener (more wait in the
	// kernel's backlog until one closes).
	HTTPHeaderTimeout  time.Duration `toml:"http_header_timeout"`
	HTTPReadTimeout    time.Duration `toml:"http_read_timeout"`
	HTTPWriteTimeout   time.Duration `toml:"http_write_timeout"`
	HTTPIdleTimeout    time.Duration `toml:"http_idle_timeout"`
	HTTPMaxHeaderBytes int           `toml:"http_max_header_bytes"`
	HTTPMaxConns       int           `toml:"http_max_conns"`
}

// Publish governs the outbox drain.
type Publish struct {
	RetryMin    time.Duration `toml:"retry_min"`
	RetryMax    time.Duration `toml:"retry_max"`
	MaxAttempts int           `toml:"max_attempts"`
	// Poll is how often the outbox is read when nothing wakes the
	// publisher.
	Poll time.Duration `toml:"poll"`
	// Concurrency is how many accounts the publisher writes to at once
	// (one account's items always go one after the other, in order): a
	// privileged IQ waits for the server's answer, so a backlog drains at
	// about this many items per round trip.
	Concurrency int `toml:"concurrency"`
	// ShutdownGrace bounds a stop: in-flight requests finish and the
	// outbox drains for at most this long.
	ShutdownGrace time.Duration `toml:"shutdown_grace"`
}

// Log sets the log output.
type Log struct {
	Level  string `toml:"level"`
	Format string `toml:"format"`
	// ShowNumbers logs phone numbers in full; by default all but the last
	// two digits are masked.
	ShowNumbers bool `toml:"show_numbers"`
}

// Default returns the configuration a file holding nothing would give.
func Default() Config {
	return Config{
		XMPP: XMPP{
			Server:       "127.0.0.1:5347",
			ReconnectMin: time.Second,
			ReconnectMax: time.Minute,
			IQTimeout:    30 * time.Second,

			VCardConversion: "auto",
		},
		Storage: Storage{
			Driver:         "sqlite",
			DSN:            "/var/lib/mmsprofile/state.db",
			MaxConns:       10,
			ConnectTimeout: 5 * time.Second,
			Retention:      30 * 24 * time.Hour,
			PruneEvery:     time.Hour,
		},
		MM7: MM7{
			Listen:       "127.0.0.1:8080",
			Path:         "/mm7",
			MaxBodyBytes: 5 << 20,
		},
		Email: Email{
			Listen:          "127.0.0.1:2525",
			Protocol:        "lmtp",
			RequireAuth:     true,
			MaxMessageBytes: 5 << 20,
			MaxSessions:     64,
			MaxRecipients:   50,
			ReadTimeout:     60 * time.Second,
			WriteTimeout:    60 * time.Second,
		},
		Webhook: Webhook{
			Listen:        "127.0.0.1:8081",
			MaxBodyBytes:  1 << 20,
			MaxMediaBytes: 5 << 20,
			MaxMedia:      10,
			FetchTimeout:  10 * time.Second,
			Twilio:        Twilio{Path: "/twilio", APIURL: "https://api.twilio.com"},
			Telnyx:        Telnyx{Path: "/telnyx", APIURL: "https://api.telnyx.com", MaxAge: 5 * time.Minute},
			Bandwidth: Bandwidth{Path: "/bandwidth", APIURL: "https://messaging.bandwidth.com",
				MediaURL: "https://messaging.bandwidth.com"},
		},
		Avatar: Avatar{
			Size:          128,
			Format:        "png",
			MaxBytes:      65536,
			MaxPixels:     25_000_000,
			MaxSide:       10000,
			MaxInputBytes: 10 << 20,
			MinSide:       32,
			MaxFrames:     1000,
			Crop:          "centre",
			Background:    "transparent",
			MinDetail:     2,
			HookTimeout:   5 * time.Second,
			MaxConcurrent: 2,

			Renditions:       []int{512},
			RenditionQuality: 85,
		},
		HTTP: HTTP{Listen: "127.0.0.1:9090"},
		Profile: Profile{
			MaxStatusChars:  140,
			ServiceNumber:   "",
			CodeTTL:         15 * time.Minute,
			CodeDigits:      6,
			MaxCodeFailures: 5,
		},
		Limits: Limits{
			UpdatesPerHour: 20, LinkRequestsPerHour: 5, RepliesPerDay: 10, MaxInFlight: 64,

			HTTPHeaderTimeout:  10 * time.Second,
			HTTPReadTimeout:    60 * time.Second,
			HTTPWriteTimeout:   60 * time.Second,
			HTTPIdleTimeout:    60 * time.Second,
			HTTPMaxHeaderBytes: 64 << 10,
			HTTPMaxConns:       256,
		},
		Publish: Publish{
			RetryMin:    2 * time.Second,
			RetryMax:    10 * time.Minute,
			MaxAttempts: 50,
			Poll:        5 * time.Second,
			Concurrency: 16,

			ShutdownGrace: 10 * time.Second,
		},
		Log: Log{Level: "info", Format: "text"},
	}
}

// Load reads, completes and validates the file at path.
func Load(path string) (Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return Parse(raw, path)
}

// Parse completes and validates a configuration held in memory; name is
// used in messages.
func Parse(raw []byte, name string) (Config, error) {
	cfg := Default()
	md, err := toml.Decode(string(raw), &cfg)
	if err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			return Config{}, fmt.Errorf("config: %s: %s", name, perr.ErrorWithPosition())
		}
		return Config{}, fmt.Errorf("config: %s: %w", name, err)
	}
	if undec := md.Undecoded(); len(undec) > 0 {
		keys := make([]string, len(undec))
		for i, k := range undec {
			keys[i] = k.String()
		}
		return Config{}, fmt.Errorf("config: %s: unknown keys: %s", name, strings.Join(keys, ", "))
	}
	cfg.Webhook.Enabled = md.IsDefined("webhook")
	cfg.Webhook.Twilio.Enabled = md.IsDefined("webhook", "twilio")
	cfg.Webhook.Telnyx.Enabled = md.IsDefined("webhook", "telnyx")
	cfg.Webhook.Bandwidth.Enabled = md.IsDefined("webhook", "bandwidth")
	if err := cfg.resolveSecrets(); err != nil {
		return Config{}, fmt.Errorf("config: %s: %w", name, err)
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, fmt.Errorf("config: %s: %w", name, err)
	}
	return cfg, nil
}

func (c *Config) resolveSecrets() error {
	var err error
	if c.XMPP.Secret, err = secret("xmpp.secret", c.XMPP.Secret, c.XMPP.SecretFile); err != nil {
		return err
	}
	if c.Email.SmarthostPassword, err = secret("email.smarthost_password", c.Email.SmarthostPassword, c.Email.SmarthostPasswordFile); err != nil {
		return err
	}
	if c.Ejabberd.APIPassword, err = secret("ejabberd.api_password", c.Ejabberd.APIPassword, c.Ejabberd.APIPasswordFile); err != nil {
		return err
	}
	if c.MM7.Password, err = secret("mm7.password", c.MM7.Password, c.MM7.PasswordFile); err != nil {
		return err
	}
	if c.Webhook.Twilio.AuthToken, err = secret("webhook.twilio.auth_token", c.Webhook.Twilio.AuthToken, c.Webhook.Twilio.AuthTokenFile); err != nil {
		return err
	}
	if c.Webhook.Telnyx.APIKey, err = secret("webhook.telnyx.api_key", c.Webhook.Telnyx.APIKey, c.Webhook.Telnyx.APIKeyFile); err != nil {
		return err
	}
	if c.Webhook.Bandwidth.Password, err = secret("webhook.bandwidth.password", c.Webhook.Bandwidth.Password, c.Webhook.Bandwidth.PasswordFile); err != nil {
		return err
	}
	if c.Webhook.Bandwidth.APIPassword, err = secret("webhook.bandwidth.api_password", c.Webhook.Bandwidth.APIPassword, c.Webhook.Bandwidth.APIPasswordFile); err != nil {
		return err
	}
	if c.MM7.SubmitPassword, err = secret("mm7.submit_password", c.MM7.SubmitPassword, c.MM7.SubmitPasswordFile); err != nil {
		return err
	}
	return nil
}

// secret takes a value either inline or from a file, never both, so an
// operator can keep secrets out of a world-readable config.
func secret(key, inline, file string) (string, error) {
	if file == "" {
		return inline, nil
	}
	if inline != "" {
		return "", fmt.Errorf("%s and %s_file are both set: keep one", key, key)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%s_file: %w", key, err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// Validate reports every problem at once, one per line.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if c.XMPP.Component == "" {
		bad("xmpp.component is required: the component's domain, e.g. \"mms.example.org\"")
	} else if strings.ContainsAny(c.XMPP.Component, "@/ ") {
		bad("xmpp.component %q must be a bare domain", c.XMPP.Component)
	}
	if c.XMPP.Secret == "" {
		bad("xmpp.secret (or xmpp.secret_file) is required: the component secret shared with the XMPP server")
	}
	checkHostPort(bad, "xmpp.server", c.XMPP.Server)
	if len(c.XMPP.Domains) == 0 {
		bad("xmpp.domains is required: the XMPP domains whose accounts may be linked, e.g. [\"example.org\"]")
	}
	for _, d := range c.XMPP.Domains {
		if d == "" || strings.ContainsAny(d, "@/ ") {
			bad("xmpp.domains: %q is not a bare domain", d)
		}
	}
	if c.XMPP.ReconnectMin <= 0 || c.XMPP.ReconnectMax < c.XMPP.ReconnectMin {
		bad("xmpp.reconnect_min must be > 0 and <= xmpp.reconnect_max")
	}
	switch c.XMPP.VCardConversion {
	case "auto", "on", "off":
	default:
		bad("xmpp.vcard_conversion %q: use auto, on or off", c.XMPP.VCardConversion)
	}
	if c.XMPP.IQTimeout <= 0 {
		bad("xmpp.iq_timeout must be > 0")
	}

	switch c.Storage.Driver {
	case "sqlite":
		if c.Storage.DSN == "" {
			bad("storage.dsn is required: the SQLite file path")
		}
	case "postgres":
		if !strings.HasPrefix(c.Storage.DSN, "postgres://") && !strings.HasPrefix(c.Storage.DSN, "postgresql://") && !strings.Contains(c.Storage.DSN, "=") {
			bad("storage.dsn must be a PostgreSQL URL (postgres://…) or key=value string")
		}
	default:
		bad("storage.driver %q: use \"sqlite\" or \"postgres\"", c.Storage.Driver)
	}

	c.validateWebhook(bad)
	if c.MM7.Listen != "" {
		checkHostPort(bad, "mm7.listen", c.MM7.Listen)
		if !strings.HasPrefix(c.MM7.Path, "/") {
			bad("mm7.path %q must start with /", c.MM7.Path)
		}
		if c.MM7.Username == "" || c.MM7.Password == "" {
			bad("mm7.username and mm7.password (or mm7.password_file) are required while mm7.listen is set; set mm7.listen = \"\" to turn MM7 off")
		}
		if c.MM7.MaxBodyBytes < 1024 {
			bad("mm7.max_body_bytes %d is too small", c.MM7.MaxBodyBytes)
		}
		for _, s := range c.MM7.AllowedIPs {
			if _, err := ParsePrefix(s); err != nil {
				bad("mm7.allowed_ips: %v", err)
			}
		}
	}
	if u := c.MM7.SubmitURL; u != "" {
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			bad("mm7.submit_url %q must be an http:// or https:// URL", u)
		}
		if c.MM7.SenderAddress == "" {
			bad("mm7.sender_address is required with mm7.submit_url: the short code or number replies come from")
		}
	}
	if c.Email.Listen != "" && !strings.HasPrefix(c.Email.Listen, "/") {
		checkHostPort(bad, "email.listen", c.Email.Listen)
	}
	if c.Email.Protocol != "lmtp" && c.Email.Protocol != "smtp" {
		bad("email.protocol %q: use lmtp or smtp", c.Email.Protocol)
	}
	for _, s := range c.Email.AllowedRelays {
		if _, err := ParsePrefix(s); err != nil {
			bad("email.allowed_relays: %v", err)
		}
	}
	if c.Email.MaxRecipients < 1 || c.Email.ReadTimeout <= 0 || c.Email.WriteTimeout <= 0 {
		bad("email.max_recipients must be >= 1, email.read_timeout and email.write_timeout > 0")
	}
	if c.Limits.HTTPHeaderTimeout <= 0 || c.Limits.HTTPReadTimeout < c.Limits.HTTPHeaderTimeout || c.Limits.HTTPWriteTimeout <= 0 || c.Limits.HTTPIdleTimeout <= 0 {
		bad("limits.http_header_timeout, http_write_timeout and http_idle_timeout must be > 0, http_read_timeout >= http_header_timeout")
	}
	if c.Limits.HTTPMaxHeaderBytes < 4096 || c.Limits.HTTPMaxConns < 1 {
		bad("limits.http_max_header_bytes must be >= 4096 and limits.http_max_conns >= 1")
	}
	if c.Email.MaxMessageBytes < 1024 || c.Email.MaxSessions < 1 {
		bad("email.max_message_bytes must be >= 1024 and email.max_sessions >= 1")
	}
	if c.Email.Smarthost != "" {
		checkHostPort(bad, "email.smarthost", c.Email.Smarthost)
		if !strings.Contains(c.Email.ReplyFrom, "@") {
			bad("email.reply_from is required with email.smarthost: the address replies come from")
		}
	}
	for i, car := range c.Email.Carriers {
		if car.Domain == "" {
			bad("email.carrier[%d]: domain is required", i)
		}
		for _, r := range car.Relays {
			if _, err := ParsePrefix(r); err != nil {
				bad("email.carrier[%d] (%s) relays: %v", i, car.Domain, err)
			}
		}
		for _, a := range car.Auth {
			switch a {
			case "dkim", "spf", "relay", "mx":
			default:
				bad("email.carrier[%d] (%s) auth %q: use dkim, spf, relay or mx", i, car.Domain, a)
			}
		}
	}
	if u := c.Ejabberd.APIURL; u != "" && !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		bad("ejabberd.api_url %q must be an http:// or https:// URL", u)
	}
	if c.Storage.Retention < time.Hour || c.Storage.PruneEvery < time.Minute {
		bad("storage.retention must be >= 1h and storage.prune_every >= 1m")
	}
	if c.Storage.MaxConns < 1 || c.Storage.ConnectTimeout <= 0 {
		bad("storage.max_conns must be >= 1 and storage.connect_timeout > 0")
	}
	if c.HTTP.Listen != "" {
		checkHostPort(bad, "http.listen", c.HTTP.Listen)
	}
	if c.HTTP.PublicURL != "" {
		if err := checkPublicURL(c.HTTP.PublicURL); err != nil {
			bad("http.public_url %q: %v", c.HTTP.PublicURL, err)
		}
		if c.HTTP.Listen == "" {
			bad("http.public_url is set but http.listen is \"\": renditions are served on http.listen")
		}
		// Checked only while they are used, so that a large avatar.size
		// does not need renditions changed to keep the feature off.
		seen := map[int]bool{}
		for _, side := range c.Avatar.Renditions {
			switch {
			case side <= c.Avatar.Size || side > MaxRenditionSide:
				bad("avatar.renditions: %d: each must be larger than avatar.size (%d) and at most %d pixels", side, c.Avatar.Size, MaxRenditionSide)
			case seen[side]:
				bad("avatar.renditions: %d is listed twice", side)
			}
			seen[side] = true
		}
	}

	if c.Avatar.Size < 16 || c.Avatar.Size > 1024 {
		bad("avatar.size %d: use 16 to 1024 pixels", c.Avatar.Size)
	}
	if c.Avatar.Format != "png" {
		bad("avatar.format %q: only \"png\" is supported (XEP-0084 requires a PNG)", c.Avatar.Format)
	}
	if c.Avatar.MaxBytes < 1024 {
		bad("avatar.max_bytes %d is too small: at least 1024", c.Avatar.MaxBytes)
	}
	if c.Avatar.MaxPixels <= 0 || c.Avatar.MaxSide <= 0 || c.Avatar.MaxInputBytes <= 0 {
		bad("avatar.max_pixels, avatar.max_side and avatar.max_input_bytes must be > 0")
	}
	if c.Avatar.Crop != "centre" && c.Avatar.Crop != "fit" {
		bad("avatar.crop %q: use centre or fit", c.Avatar.Crop)
	}
	if _, err := ParseColor(c.Avatar.Background); err != nil {
		bad("avatar.background: %v", err)
	}
	if c.Avatar.RenditionQuality < 1 || c.Avatar.RenditionQuality > 100 {
		bad("avatar.rendition_quality %d: use 1 to 100", c.Avatar.RenditionQuality)
	}
	if c.Avatar.MaxConcurrent < 1 || c.Avatar.MaxFrames < 1 || c.Avatar.MinSide < 1 || c.Avatar.HookTimeout <= 0 {
		bad("avatar.max_concurrent, avatar.max_frames, avatar.min_side and avatar.hook_timeout must be > 0")
	}

	if cc := c.Profile.DefaultCountryCode; cc != "" {
		if strings.Trim(cc, "0123456789") != "" || len(cc) > 3 || cc[0] == '0' {
			bad("profile.default_country_code %q: digits only, without + (e.g. \"1\", \"44\")", cc)
		}
	}
	if c.Profile.MaxStatusChars < 1 {
		bad("profile.max_status_chars must be > 0")
	}
	if c.Profile.CodeTTL < time.Minute || c.Profile.CodeTTL > 24*time.Hour {
		bad("profile.code_ttl %v: use 1m to 24h", c.Profile.CodeTTL)
	}
	if c.Profile.CodeDigits < 6 || c.Profile.CodeDigits > 8 {
		bad("profile.code_digits %d: use 6 to 8", c.Profile.CodeDigits)
	}
	if c.Profile.MaxCodeFailures < 1 {
		bad("profile.max_code_failures must be >= 1")
	}
	if c.Limits.UpdatesPerHour < 1 || c.Limits.LinkRequestsPerHour < 1 || c.Limits.RepliesPerDay < 1 || c.Limits.MaxInFlight < 1 {
		bad("limits.updates_per_hour, limits.link_requests_per_hour, limits.replies_per_day and limits.max_in_flight must be >= 1")
	}
	if c.Publish.RetryMin <= 0 || c.Publish.RetryMax < c.Publish.RetryMin {
		bad("publish.retry_min must be > 0 and <= publish.retry_max")
	}
	if c.Publish.MaxAttempts < 1 {
		bad("publish.max_attempts must be >= 1")
	}
	if c.Publish.Poll <= 0 {
		bad("publish.poll must be > 0")
	}
	if c.Publish.Concurrency < 1 {
		bad("publish.concurrency must be >= 1")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level %q: use debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format %q: use text or json", c.Log.Format)
	}
	return errors.Join(errs...)
}

func checkHostPort(bad func(string, ...any), key, addr string) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		bad("%s %q: want host:port (%v)", key, addr, err)
	}
}

// checkPublicURL accepts an absolute http or https URL that other URLs can
// be built under: no query, fragment or credentials (it is published to
// every contact).
func checkPublicURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return errors.New("not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return errors.New("want an absolute http:// or https:// URL")
	case u.Host == "" || u.Opaque != "":
		return errors.New("the URL has no host")
	case u.User != nil:
		return errors.New("the URL must not hold credentials: it is published to every contact")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(s, "#"):
		return errors.New("the URL must not have a query or fragment: paths are added to it")
	}
	return nil
}

// ParsePrefix reads an address ("192.0.2.7") or a CIDR block
// ("192.0.2.0/24") as a prefix.
func ParsePrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is neither an address nor a CIDR block", s)
		}
		return netip.PrefixFrom(ip, ip.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is neither an address nor a CIDR block", s)
	}
	return p.Masked(), nil
}

// ShutdownGrace is how long a stopping serve lets in-flight work finish
// and the outbox drain.
func (c *Config) ShutdownGrace() time.Duration {
	if c.Publish.ShutdownGrace > 0 {
		return c.Publish.ShutdownGrace
	}
	return 10 * time.Second
}

// ParseColor reads "transparent", "#rrggbb" or "#rrggbbaa".
func ParseColor(s string) (color.NRGBA, error) {
	if s == "" || s == "transparent" {
		return color.NRGBA{}, nil
	}
	h := strings.TrimPrefix(s, "#")
	if len(h) != 6 && len(h) != 8 || len(h) == len(s) {
		return color.NRGBA{}, fmt.Errorf("%q: use transparent, #rrggbb or #rrggbbaa", s)
	}
	b, err := hex.DecodeString(h)
	if err != nil {
		return color.NRGBA{}, fmt.Errorf("%q: use transparent, #rrggbb or #rrggbbaa", s)
	}
	c := color.NRGBA{R: b[0], G: b[1], B: b[2], A: 255}
	if len(b) == 4 {
		c.A = b[3]
	}
	return c, nil
}
