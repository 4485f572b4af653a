package doctor

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"mmsprofile/config"
	"mmsprofile/storage"
)

// Store is what doctor asks of the database: that it answers, its schema
// and its backlog; it changes nothing there.
type Store interface {
	storage.Maintenance
	Close() error
}

// Options are what Run cannot take from the configuration.
type Options struct {
	// OpenStore opens (and migrates) the configured database; nil skips
	// the database checks.
	OpenStore func(ctx context.Context) (Store, error)
	// Timeout bounds each network probe; default 5s.
	Timeout time.Duration
	// PrivilegeWait is how long the hosts have to advertise their
	// privileges after the handshake; default 5s.
	PrivilegeWait time.Duration
}

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.PrivilegeWait <= 0 {
		o.PrivilegeWait = 5 * time.Second
	}
	return o
}

// apiHosts are the hosts whose write path is the HTTP API: all of them
// when doctor could not learn the paths (the API is then checked in case).
func apiHosts(cfg config.Config, paths map[string]writePath) []string {
	if paths == nil {
		return cfg.XMPP.Domains
	}
	var out []string
	for _, d := range cfg.XMPP.Domains {
		if paths[d] == pathAPI {
			out = append(out, d)
		}
	}
	return out
}

// Run checks cfg (already loaded and validated by the caller) against the
// XMPP server, the database, the listen addresses and the reply paths,
// printing each finding and its fix to out. It returns false if anything
// would stop the service from working.
func Run(ctx context.Context, cfg config.Config, out io.Writer, opts Options) (ok bool) {
	opts = opts.withDefaults()
	r := &report{w: out}

	r.section("Configuration")
	r.ok("loaded: component %s, server %s, domains %s, storage %s",
		cfg.XMPP.Component, cfg.XMPP.Server, strings.Join(cfg.XMPP.Domains, ", "), cfg.Storage.Driver)

	r.section("XMPP server")
	paths := checkXMPP(ctx, cfg, r, opts)

	r.section("ejabberd HTTP API")
	checkEjabberdAPI(ctx, cfg, r, opts, apiHosts(cfg, paths))

	r.section("Database")
	checkStorage(ctx, cfg, r, opts)

	r.section("Listen addresses")
	checkListeners(ctx, cfg, r)

	r.section("Public avatar URL")
	checkPublicURL(ctx, cfg, r, opts)

	r.section("Replies to phones")
	checkReplies(ctx, cfg, r, opts)

	fmt.Fprintln(out)
	if r.failed {
		fmt.Fprintln(out, "Some checks FAILED: fix them, then run doctor again.")
		return false
	}
	fmt.Fprintln(out, "All checks passed.")
	return true
}
