package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"

	"mellium.im/xmpp/jid"

	"mmsprofile/config"
	"mmsprofile/internal/app/doctor"
	"mmsprofile/internal/redact"
	"mmsprofile/mmsbridge"
	"mmsprofile/storage"
)

// This file holds what each of the program's sub-commands does once
// cmd/mmsprofile has parsed its flags and loaded the configuration.

// NewLogger is the service's logger as the [log] section asks for it,
// with personal data redacted unless log.show_numbers is set.
func NewLogger(cfg config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level))
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: redact.Options{ShowNumbers: cfg.ShowNumbers}.ReplaceAttr()}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Serve builds the service and runs it until ctx ends (mmsprofile serve).
func Serve(ctx context.Context, cfg config.Config, log *slog.Logger, version string) error {
	srv, err := New(ctx, cfg, log, version)
	if err != nil {
		return err
	}
	log.Info("mmsprofile starting", "version", version, "component", cfg.XMPP.Component, "server", cfg.XMPP.Server)
	return srv.Run(ctx)
}

// CheckConfig checks what config.Load cannot (the image standard has
// rules of its own: what this build decodes) and prints a summary
// (mmsprofile check-config).
func CheckConfig(cfg config.Config, w io.Writer) error {
	if _, err := AvatarStandard(cfg); err != nil {
		return err
	}
	fmt.Fprintf(w, "configuration ok: component %s, server %s, domains %s, storage %s\n",
		cfg.XMPP.Component, cfg.XMPP.Server, strings.Join(cfg.XMPP.Domains, ","), cfg.Storage.Driver)
	return nil
}

// adminStore is what the operator's sub-commands read and change: the
// links and their audit, and the schema version.
type adminStore interface {
	storage.Links
	storage.Maintenance
}

func withStore(ctx context.Context, cfg config.Config, f func(context.Context, adminStore) error) error {
	st, err := OpenStore(ctx, cfg.Storage)
	if err != nil {
		return err
	}
	defer st.Close()
	return f(ctx, st)
}

// Link links a phone number to an account (mmsprofile link JID NUMBER).
func Link(ctx context.Context, cfg config.Config, account, number string, w io.Writer) error {
	account, err := accountJID(cfg, account)
	if err != nil {
		return err
	}
	number, err = mmsbridge.NormalizeNumber(number, cfg.Profile.DefaultCountryCode)
	if err != nil {
		return err
	}
	return withStore(ctx, cfg, func(ctx context.Context, st adminStore) error {
		if err := st.AddLink(ctx, account, number, "cli"); err != nil {
			if errors.Is(err, storage.ErrConflict) {
				return fmt.Errorf("%s is already linked to another account; unlink it first", number)
			}
			return err
		}
		fmt.Fprintf(w, "linked %s to %s\n", number, account)
		return nil
	})
}

// accountJID checks that s is the bare JID of an account on a domain this
// service publishes to.
func accountJID(cfg config.Config, s string) (string, error) {
	j, err := jid.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%q is not a JID: %w", s, err)
	}
	if j.Localpart() == "" || j.Resourcepart() != "" {
		return "", fmt.Errorf("%q: give the bare JID of an account (user@domain)", s)
	}
	for _, d := range cfg.XMPP.Domains {
		if strings.EqualFold(d, j.Domainpart()) {
			return j.String(), nil
		}
	}
	return "", fmt.Errorf("%q: domain %s is not in xmpp.domains (%s)", s, j.Domainpart(), strings.Join(cfg.XMPP.Domains, ", "))
}

// Unlink removes the links of an account or a number (mmsprofile unlink
// JID|NUMBER).
func Unlink(ctx context.Context, cfg config.Config, key string, w io.Writer) error {
	var err error
	if !strings.Contains(key, "@") {
		if key, err = mmsbridge.NormalizeNumber(key, cfg.Profile.DefaultCountryCode); err != nil {
			return err
		}
	} else if j, err := jid.Parse(key); err == nil {
		key = j.Bare().String()
	}
	return withStore(ctx, cfg, func(ctx context.Context, st adminStore) error {
		gone, err := st.RemoveLinks(ctx, key, "cli")
		if err != nil {
			return err
		}
		if len(gone) == 0 {
			return fmt.Errorf("no link for %s", key)
		}
		for _, l := range gone {
			fmt.Fprintf(w, "unlinked %s from %s\n", l.Number, l.JID)
		}
		return nil
	})
}

// Links prints the links that filter matches as a table (mmsprofile links).
func Links(ctx context.Context, cfg config.Config, filter storage.LinkFilter, w io.Writer) error {
	return withStore(ctx, cfg, func(ctx context.Context, st adminStore) error {
		links, err := st.Links(ctx, filter)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "JID\tNUMBER\tSINCE")
		for _, l := range links {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", l.JID, l.Number, l.Created.UTC().Format("2006-01-02 15:04:05Z"))
		}
		return tw.Flush()
	})
}

// Audit prints the newest limit entries of the audit log as a table
// (mmsprofile audit).
func Audit(ctx context.Context, cfg config.Config, limit int, w io.Writer) error {
	return withStore(ctx, cfg, func(ctx context.Context, st adminStore) error {
		entries, err := st.Audit(ctx, limit)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "WHEN\tACTOR\tACTION\tJID\tNUMBER\tDETAIL")
		for _, e := range entries {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.At.UTC().Format("2006-01-02 15:04:05Z"), e.Actor, e.Action, e.JID, e.Number, e.Detail)
		}
		return tw.Flush()
	})
}

// Migrate brings the database schema up to date and prints its version
// (mmsprofile migrate).
func Migrate(ctx context.Context, cfg config.Config, w io.Writer) error {
	// Opening migrates: both backends apply what is missing, each step in
	// a transaction, and refuse a schema newer than this program.
	return withStore(ctx, cfg, func(ctx context.Context, st adminStore) error {
		v, err := st.SchemaVersion(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "database schema is at version %d\n", v)
		return nil
	})
}

// Doctor checks the configuration against the real servers, prints its
// report and says whether everything passed (mmsprofile doctor).
func Doctor(ctx context.Context, cfg config.Config, w io.Writer) bool {
	return doctor.Run(ctx, cfg, w, doctor.Options{
		OpenStore: func(ctx context.Context) (doctor.Store, error) { return OpenStore(ctx, cfg.Storage) },
	})
}
