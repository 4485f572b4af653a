package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"

	"mmsprofile/config"
	"mmsprofile/mmsbridge/email"
	"mmsprofile/outbox"
	"mmsprofile/publisher"
)

// EmailConfig turns the [email] section into the bridge's configuration.
func EmailConfig(cfg config.Config) (email.Config, error) {
	ec := email.NewConfig()
	ec.Recipients = cfg.Email.Recipients
	ec.AuthServID = cfg.Email.AuthServID
	ec.RequireAuth = cfg.Email.RequireAuth
	ec.MaxMessageBytes = cfg.Email.MaxMessageBytes
	ec.MaxSessions = cfg.Email.MaxSessions
	ec.MaxRecipients = cfg.Email.MaxRecipients
	ec.ReadTimeout = cfg.Email.ReadTimeout
	ec.WriteTimeout = cfg.Email.WriteTimeout
	if cfg.Email.Hostname != "" {
		ec.Hostname = cfg.Email.Hostname
	}
	ec.DefaultCountryCode = cfg.Profile.DefaultCountryCode
	for _, r := range cfg.Email.AllowedRelays {
		p, err := config.ParsePrefix(r)
		if err != nil {
			return email.Config{}, fmt.Errorf("server: email.allowed_relays: %w", err)
		}
		ec.AllowedRelays = append(ec.AllowedRelays, p)
	}
	var over []email.Carrier
	for _, c := range cfg.Email.Carriers {
		ov := email.Carrier{Domain: c.Domain, CountryCode: c.CountryCode, Auth: c.Auth}
		for _, r := range c.Relays {
			p, err := config.ParsePrefix(r)
			if err != nil {
				return email.Config{}, fmt.Errorf("server: email.carrier %s: %w", c.Domain, err)
			}
			ov.Relays = append(ov.Relays, p)
		}
		over = append(over, ov)
	}
	ec.Carriers = email.MergeCarriers(email.DefaultCarriers(), over)
	if err := email.ValidateCarriers(ec); err != nil {
		return email.Config{}, fmt.Errorf("server: email carriers: %w", err)
	}
	return ec, nil
}

// listenEmail binds the mail listener: a unix socket for a path (Postfix's
// lmtp:unix: transport), else TCP.
func listenEmail(ctx context.Context, addr string) (net.Listener, error) {
	var lc net.ListenConfig
	if len(addr) > 0 && addr[0] == '/' {
		if err := os.Remove(addr); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		l, err := lc.Listen(ctx, "unix", addr)
		if err != nil {
			return nil, err
		}
		// The MTA runs as another user.
		if err := os.Chmod(addr, 0o666); err != nil {
			l.Close()
			return nil, err
		}
		return l, nil
	}
	return lc.Listen(ctx, "tcp", addr)
}

// emailReplier sends replies to phones that wrote by mail.
func emailReplier(cfg config.Email) publisher.Replier {
	rp := &email.Replier{
		Smarthost: cfg.Smarthost,
		From:      cfg.ReplyFrom,
		Hostname:  cfg.Hostname,
		Username:  cfg.SmarthostUser,
		Password:  cfg.SmarthostPassword,
	}
	if cfg.SmarthostTLS {
		host, _, _ := net.SplitHostPort(cfg.Smarthost)
		rp.TLS = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	return publisher.ReplierFunc(func(ctx context.Context, r outbox.Reply) error {
		return rp.Send(ctx, email.Reply{To: r.To, Subject: r.Subject, Text: r.Text, InReplyTo: r.InReplyTo})
	})
}

// IngestEmail takes one message from r for `mmsprofile ingest-email`
// (an MTA pipe transport) and returns its sysexits code.
func IngestEmail(ctx context.Context, cfg config.Config, r io.Reader, env email.Envelope, log *slog.Logger) (int, error) {
	ec, err := EmailConfig(cfg)
	if err != nil {
		return email.ExitTempFail, err
	}
	store, err := OpenStore(ctx, cfg.Storage)
	if err != nil {
		return email.ExitTempFail, err
	}
	defer store.Close()
	svc, err := newProfile(cfg, store, nil, log)
	if err != nil {
		return email.ExitTempFail, err
	}
	return email.IngestLog(ctx, ec, svc, r, env, log.With("part", "email"))
}

// ParseClientIP reads the client address an MTA passes to a pipe.
func ParseClientIP(s string) netip.Addr {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}
	}
	return a
}
