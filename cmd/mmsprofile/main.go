package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"mmsprofile/config"
	"mmsprofile/internal/app"
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

// signalContext ends on SIGINT or SIGTERM.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func cmdServe(args []string, stderr io.Writer) error {
	cfg, _, err := parseFlags("serve", args, 0, "")
	if err != nil {
		return err
	}
	log := app.NewLogger(cfg.Log, stderr)
	ctx, stop := signalContext()
	defer stop()
	return app.Serve(ctx, cfg, log, version)
}

func cmdCheckConfig(args []string, stdout io.Writer) error {
	cfg, _, err := parseFlags("check-config", args, 0, "")
	if err != nil {
		return err
	}
	return app.CheckConfig(cfg, stdout)
}

func cmdLink(args []string, stdout io.Writer) error {
	cfg, rest, err := parseFlags("link", args, 2, "JID NUMBER")
	if err != nil {
		return err
	}
	ctx, stop := signalContext()
	defer stop()
	return app.Link(ctx, cfg, rest[0], rest[1], stdout)
}

func cmdUnlink(args []string, stdout io.Writer) error {
	cfg, rest, err := parseFlags("unlink", args, 1, "JID|NUMBER")
	if err != nil {
		return err
	}
	ctx, stop := signalContext()
	defer stop()
	return app.Unlink(ctx, cfg, rest[0], stdout)
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
	ctx, stop := signalContext()
	defer stop()
	return app.Links(ctx, cfg, filter, stdout)
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
	ctx, stop := signalContext()
	defer stop()
	return app.Audit(ctx, cfg, limit, stdout)
}

func cmdMigrate(args []string, stdout io.Writer) error {
	cfg, _, err := parseFlags("migrate", args, 0, "")
	if err != nil {
		return err
	}
	ctx, stop := signalContext()
	defer stop()
	return app.Migrate(ctx, cfg, stdout)
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
	log := app.NewLogger(cfg.Log, stderr)
	ctx, stop := signalContext()
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
	ctx, stop := signalContext()
	defer stop()
	return app.Doctor(ctx, cfg, stdout), nil
}
