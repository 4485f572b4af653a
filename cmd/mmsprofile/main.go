package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"text/tabwriter"

	"mellium.im/xmpp/jid"

	"mmsprofile/config"
	"mmsprofile/internal/app"
	"mmsprofile/internal/app/doctor"
	"mmsprofile/internal/app/redact"
	"mmsprofile/mmsbridge"
	"mmsprofile/mmsbridge/email"
	"mmsprofile/storage"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// exit codes: 0 ok, 1 failure, 2 usage (as flag does).
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, args := args[0], args[1:]
	var err error
	switch cmd {
	case "serve":
		err = cmdServe(args, stderr)
	case "check-config":
		err = cmdCheckConfig(args, stdout)
	case "link":
		err = cmdLink(args, stdout)
	case "unlink":
		err = cmdUnlink(args, stdout)
	case "links":
		err = cmdLinks(args, stdout)
	case "audit":
		err = cmdAudit(args, stdout)
	case "doctor":
		ok, derr := cmdDoctor(args, stdout)
		if derr == nil && !ok {
			return 1
		}
		err = derr
	case "migrate":
		err = cmdMigrate(args, stdout)
	case "ingest-email":
		// An MTA reads our exit status: sysexits codes, not 1/2.
		return cmdIngestEmail(args, os.Stdin, stderr)
	case "version":
		printVersion(stdout)
	case "man":
		// Hidden: the packaging writes mmsprofile(8) with it.
		err = writeMan(stdout)
	case "completion":
		// Hidden as well: the package's bash completion.
		err = writeBashCompletion(stdout)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "mmsprofile: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "mmsprofile %s: %v\n", cmd, err)
		return 2
	default:
		fmt.Fprintf(stderr, "mmsprofile %s: %v\n", cmd, err)
		return 1
	}
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// parseFlags parses -config and returns the loaded configuration and the
// remaining arguments.
func parseFlags(name string, args []string, nargs int, argsUsage string) (config.Config, []string, error) {
	return parseFlagsWith(name, args, nargs, argsUsage, nil)
}

func parseFlagsWith(name string, args []string, nargs int, argsUsage string, more func(*flag.FlagSet)) (config.Config, []string, error) {
	fs, path := newFlagSet(name, more)
	if err := fs.Parse(args); err != nil {
		return config.Config{}, nil, usageError{err.Error()}
	}
	if *path == "" {
		return config.Config{}, nil, usageError{"-config FILE is required"}
	}
	if fs.NArg() != nargs {
		return config.Config{}, nil, usageError{fmt.Sprintf("usage: mmsprofile %s -config FILE %s", name, argsUsage)}
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return config.Config{}, nil, err
	}
	return cfg, fs.Args(), nil
}

// newFlagSet defines a sub-command's flags, for parsing and for the man
// page alike, so that the two never disagree.
func newFlagSet(name string, more func(*flag.FlagSet)) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	if more != nil {
		more(fs)
	}
	fs.SetOutput(io.Discard)
	return fs, fs.String("config", "", "configuration `FILE` (TOML)")
}

func newLogger(cfg config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level))
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: redact.Options{ShowNumbers: cfg.ShowNumbers}.ReplaceAttr()}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func cmdServe(args []string, stderr io.Writer) error {
	cfg, _, err := parseFlags("serve", args, 0, "")
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := app.New(ctx, cfg, log, version)
	if err != nil {
		return err
	}
	log.Info("mmsprofile starting", "version", version, "component", cfg.XMPP.Component, "server", cfg.XMPP.Server)
	return srv.Run(ctx)
}

func cmdCheckConfig(args []string, stdout io.Writer) error {
	cfg, _, err := parseFlags("check-config", args, 0, "")
	if err != nil {
		return err
	}
	// The image standard has rules of its own (what this build decodes).
	if _, err := app.AvatarStandard(cfg); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "configuration ok: component %s, server %s, domains %s, storage %s\n",
		cfg.XMPP.Component, cfg.XMPP.Server, strings.Join(cfg.XMPP.Domains, ","), cfg.Storage.Driver)
	return nil
}

func withStore(cfg config.Config, f func(context.Context, storage.Store) error) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	st, err := app.OpenStore(ctx, cfg.Storage)
	if err != nil {
		return err
	}
	defer st.Close()
	return f(ctx, st)
}

func cmdLink(args []string, stdout io.Writer) error {
	cfg, rest, err := parseFlags("link", args, 2, "JID NUMBER")
	if err != nil {
		return err
	}
	account, err := accountJID(cfg, rest[0])
	if err != nil {
		return err
	}
	number, err := mmsbridge.NormalizeNumber(rest[1], cfg.Profile.DefaultCountryCode)
	if err != nil {
		return err
	}
	return withStore(cfg, func(ctx context.Context, st storage.Store) error {
		if err := st.AddLink(ctx, account, number, "cli"); err != nil {
			if errors.Is(err, storage.ErrConflict) {
				return fmt.Errorf("%s is already linked to another account; unlink it first", number)
			}
			return err
		}
		fmt.Fprintf(stdout, "linked %s to %s\n", number, account)
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

func cmdUnlink(args []string, stdout io.Writer) error {
	cfg, rest, err := parseFlags("unlink", args, 1, "JID|NUMBER")
	if err != nil {
		return err
	}
	key := rest[0]
	if !strings.Contains(key, "@") {
		if key, err = mmsbridge.NormalizeNumber(key, cfg.Profile.DefaultCountryCode); err != nil {
			return err
		}
	} else if j, err := jid.Parse(key); err == nil {
		key = j.Bare().String()
	}
	return withStore(cfg, func(ctx context.Context, st storage.Store) error {
		gone, err := st.RemoveLinks(ctx, key, "cli")
		if err != nil {
			return err
		}
		if len(gone) == 0 {
			return fmt.Errorf("no link for %s", key)
		}
		for _, l := range gone {
			fmt.Fprintf(stdout, "unlinked %s from %s\n", l.Number, l.JID)
		}
		return nil
	})
}

func linksFlags(filter *storage.LinkFilter) func(*flag.FlagSet) {
	return func(fs *flag.FlagSet) {
		fs.StringVar(&filter.JID, "jid", "", "only links whose JID contains this")
		fs.StringVar(&filter.Number, "number", "", "only links whose number contains this")
	}
}

func cmdLinks(args []string, stdout io.Writer) error {
	var filter storage.LinkFilter
	cfg, _, err := parseFlagsWith("links", args, 0, "[-jid SUBSTRING] [-number SUBSTRING]", linksFlags(&filter))
	if err != nil {
		return err
	}
	return withStore(cfg, func(ctx context.Context, st storage.Store) error {
		links, err := st.Links(ctx, filter)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "JID\tNUMBER\tSINCE")
		for _, l := range links {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", l.JID, l.Number, l.Created.UTC().Format("2006-01-02 15:04:05Z"))
		}
		return tw.Flush()
	})
}

func printVersion(w io.Writer) {
	fmt.Fprintf(w, "mmsprofile %s\n", version)
	if bi, ok := debug.ReadBuildInfo(); ok {
		fmt.Fprintf(w, "go %s\n", bi.GoVersion)
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision", "vcs.time", "vcs.modified", "GOOS", "GOARCH":
				fmt.Fprintf(w, "%s %s\n", s.Key, s.Value)
			}
		}
	}
}

func auditFlags(limit *int) func(*flag.FlagSet) {
	return func(fs *flag.FlagSet) {
		fs.IntVar(limit, "n", 50, "how many entries")
	}
}

func cmdAudit(args []string, stdout io.Writer) error {
	limit := 50
	cfg, _, err := parseFlagsWith("audit", args, 0, "[-n COUNT]", auditFlags(&limit))
	if err != nil {
		return err
	}
	return withStore(cfg, func(ctx context.Context, st storage.Store) error {
		entries, err := st.Audit(ctx, limit)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "WHEN\tACTOR\tACTION\tJID\tNUMBER\tDETAIL")
		for _, e := range entries {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.At.UTC().Format("2006-01-02 15:04:05Z"), e.Actor, e.Action, e.JID, e.Number, e.Detail)
		}
		return tw.Flush()
	})
}

func cmdMigrate(args []string, stdout io.Writer) error {
	cfg, _, err := parseFlags("migrate", args, 0, "")
	if err != nil {
		return err
	}
	// Opening migrates: both backends apply what is missing, each step in
	// a transaction, and refuse a schema newer than this program.
	return withStore(cfg, func(ctx context.Context, st storage.Store) error {
		v, err := st.SchemaVersion(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "database schema is at version %d\n", v)
		return nil
	})
}

// sysexits(3) codes an MTA understands.
const (
	exUsage    = 64
	exTempFail = 75
	exConfig   = 78
)

func ingestEmailFlags(env *email.Envelope, to, clientIP *string) func(*flag.FlagSet) {
	return func(fs *flag.FlagSet) {
		fs.StringVar(&env.From, "from", "", "envelope sender (Postfix: ${sender})")
		fs.StringVar(to, "to", "", "envelope recipients, comma-separated (Postfix: ${recipient})")
		fs.StringVar(clientIP, "client-ip", "", "the connecting client (Postfix: ${client_address})")
		fs.StringVar(&env.Helo, "helo", "", "the client's HELO name (Postfix: ${client_helo})")
	}
}

func cmdIngestEmail(args []string, stdin io.Reader, stderr io.Writer) int {
	var env email.Envelope
	var to, clientIP string
	cfg, _, err := parseFlagsWith("ingest-email", args, 0, "[-from ADDR] [-to ADDR[,ADDR]] [-client-ip IP] [-helo NAME]", ingestEmailFlags(&env, &to, &clientIP))
	var ue usageError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "mmsprofile ingest-email: %v\n", err)
		return exUsage
	case err != nil:
		fmt.Fprintf(stderr, "mmsprofile ingest-email: %v\n", err)
		return exConfig
	}
	if to != "" {
		env.To = strings.Split(to, ",")
	}
	env.RemoteIP = app.ParseClientIP(clientIP)
	log := newLogger(cfg.Log, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code, err := app.IngestEmail(ctx, cfg, stdin, env, log)
	if err != nil {
		// The MTA shows this line in its bounce or its log.
		fmt.Fprintf(stderr, "mmsprofile ingest-email: %v\n", err)
		if code == 0 {
			code = exTempFail
		}
	}
	return code
}

func cmdDoctor(args []string, stdout io.Writer) (bool, error) {
	cfg, _, err := parseFlags("doctor", args, 0, "")
	if err != nil {
		return false, err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return doctor.Run(ctx, cfg, stdout, doctor.Options{
		OpenStore: func(ctx context.Context) (storage.Store, error) { return app.OpenStore(ctx, cfg.Storage) },
	}), nil
}
