package email

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"time"
)

// Defaults for the zero values in Config and Limits.
const (
	DefaultMaxMessageBytes = 5 << 20
	DefaultMaxMIMEDepth    = 8
	DefaultMaxParts        = 64
	// DefaultMaxLineLength doubles RFC 5322's 998 as go-smtp does: carrier
	// gateways overshoot it, and the limit is there against abuse, not
	// pedantry.
	DefaultMaxLineLength = 2000
	DefaultReadTimeout   = 60 * time.Second
	DefaultWriteTimeout  = 60 * time.Second
	DefaultMaxSessions   = 64
	// DefaultMaxRecipients is per transaction: a carrier gateway sends one.
	DefaultMaxRecipients = 50
	// DefaultReceiveTimeout bounds one rcv.Receive call so a stuck store
	// turns into a 451 instead of a hung SMTP session.
	DefaultReceiveTimeout = 60 * time.Second
)

// Authentication methods a carrier may be allowed to pass with.
const (
	AuthDKIM  = "dkim"  // a valid DKIM signature aligned with the From domain
	AuthSPF   = "spf"   // SPF pass for an envelope domain aligned with From
	AuthRelay = "relay" // the connecting IP is in an allowlist
	AuthMX    = "mx"    // our own MX recorded a dkim or spf pass (Authentication-Results)
)

// DNSResolver is what DKIM and SPF need from DNS. *net.Resolver satisfies
// it; tests inject their own so nothing leaves the machine.
type DNSResolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
}

// Config is everything the e-mail bridge needs, as plain values.
type Config struct {
	// Recipients are the addresses accepted at RCPT time: a full address
	// ("avatar@xmpp.example.com") or a whole domain ("@xmpp.example.com").
	// Empty accepts any recipient (the MTA in front already routed it).
	Recipients []string
	// Carriers override or extend the built-in carrier table
	// (DefaultCarriers) by domain; non-zero fields replace built-in ones.
	Carriers []Carrier
	// AuthServID is our own MX's authserv-id (RFC 8601). Only
	// Authentication-Results carrying it are believed; empty believes none.
	AuthServID string
	// AllowedRelays are connecting IPs trusted for every sender domain.
	// Carrier.Relays trusts IPs for one carrier only.
	AllowedRelays []netip.Prefix
	// RequireAuth refuses mail whose sender could not be authenticated.
	// Use NewConfig (or set it) to get the default true: a zero Config
	// would otherwise publish whatever a From header claims.
	RequireAuth bool

	MaxMessageBytes int64
	MaxMIMEDepth    int
	MaxParts        int
	MaxLineLength   int
	ReadTimeout     time.Duration
	WriteTimeout    time.Duration
	MaxSessions     int
	MaxRecipients   int
	ReceiveTimeout  time.Duration
	// Hostname is announced in the SMTP greeting.
	Hostname string

	// DefaultCountryCode is used for carrier numbers when the carrier has
	// none ("1", "44"): digits only.
	DefaultCountryCode string
	// Resolver looks up DKIM keys and SPF records; nil uses the system's.
	Resolver DNSResolver
}

// NewConfig returns a Config with every default filled in, RequireAuth on.
func NewConfig() Config {
	c := Config{RequireAuth: true}
	return c.withDefaults()
}

// Limits bound what Extract accepts from one message.
type Limits struct {
	MaxMessageBytes int64
	MaxMIMEDepth    int
	MaxParts        int
	MaxLineLength   int
}

// Limits returns the extraction limits of c, defaults filled in.
func (c Config) Limits() Limits {
	c = c.withDefaults()
	return Limits{
		MaxMessageBytes: c.MaxMessageBytes,
		MaxMIMEDepth:    c.MaxMIMEDepth,
		MaxParts:        c.MaxParts,
		MaxLineLength:   c.MaxLineLength,
	}
}

func (l Limits) withDefaults() Limits {
	if l.MaxMessageBytes <= 0 {
		l.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if l.MaxMIMEDepth <= 0 {
		l.MaxMIMEDepth = DefaultMaxMIMEDepth
	}
	if l.MaxParts <= 0 {
		l.MaxParts = DefaultMaxParts
	}
	if l.MaxLineLength <= 0 {
		l.MaxLineLength = DefaultMaxLineLength
	}
	return l
}

func (c Config) withDefaults() Config {
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if c.MaxMIMEDepth <= 0 {
		c.MaxMIMEDepth = DefaultMaxMIMEDepth
	}
	if c.MaxParts <= 0 {
		c.MaxParts = DefaultMaxParts
	}
	if c.MaxLineLength <= 0 {
		c.MaxLineLength = DefaultMaxLineLength
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.MaxSessions <= 0 {
		c.MaxSessions = DefaultMaxSessions
	}
	if c.MaxRecipients <= 0 {
		c.MaxRecipients = DefaultMaxRecipients
	}
	if c.ReceiveTimeout <= 0 {
		c.ReceiveTimeout = DefaultReceiveTimeout
	}
	if c.Hostname == "" {
		c.Hostname = "localhost"
	}
	if c.Resolver == nil {
		c.Resolver = net.DefaultResolver
	}
	return c
}

// acceptsRecipient reports whether rcpt is one of ours.
func (c Config) acceptsRecipient(rcpt string) bool {
	if len(c.Recipients) == 0 {
		return true
	}
	rcpt = strings.ToLower(strings.TrimSpace(rcpt))
	at := strings.LastIndexByte(rcpt, '@')
	for _, r := range c.Recipients {
		r = strings.ToLower(strings.TrimSpace(r))
		if strings.HasPrefix(r, "@") {
			if at >= 0 && rcpt[at:] == r {
				return true
			}
			continue
		}
		if rcpt == r {
			return true
		}
	}
	return false
}
