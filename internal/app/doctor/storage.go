package doctor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"mmsprofile/config"
	"mmsprofile/storage"
)

func checkStorage(ctx context.Context, cfg config.Config, r *report, opts Options) {
	if opts.OpenStore == nil {
		r.info("database not checked (no way to open it was given)", "")
		return
	}
	if cfg.Storage.Driver == "sqlite" && !sqliteReady(cfg.Storage.DSN, r) {
		return
	}
	octx, cancel := context.WithTimeout(ctx, cfg.Storage.ConnectTimeout+opts.Timeout)
	defer cancel()
	st, err := opts.OpenStore(octx)
	if err != nil {
		storageFailed(cfg, err, r)
		return
	}
	defer st.Close()
	if err := st.Ping(octx); err != nil {
		storageFailed(cfg, err, r)
		return
	}
	v, err := st.SchemaVersion(octx)
	if err != nil {
		r.fail(fmt.Sprintf("the database answers but its schema version cannot be read: %v", err),
			"run: mmsprofile migrate -config FILE")
		return
	}
	r.ok("%s database reachable, schema at version %d (up to date)", cfg.Storage.Driver, v)
	if stats, err := st.OutboxStats(octx); err == nil {
		switch {
		case stats.Failed > 0:
			r.warn(fmt.Sprintf("%d outbox items were given up on (and %d pending)", stats.Failed, stats.Pending),
				"their reasons are in serve's log (\"publish failed\"); most often a missing privilege or a deleted account.")
		case stats.Pending > 0:
			r.info(fmt.Sprintf("%d outbox items wait to be published", stats.Pending), "")
		}
	}
}

// sqliteReady checks the file's directory before opening: opening creates
// the file (and its -wal and -shm) owned by whoever runs doctor, and a
// root-owned database is one the service user cannot write.
func sqliteReady(dsn string, r *report) bool {
	path := strings.TrimPrefix(dsn, "file:")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	if path == ":memory:" || path == "" {
		return true
	}
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); err != nil {
		r.fail(fmt.Sprintf("the directory of the SQLite database %s does not exist", dir),
			"the packaged systemd unit creates /var/lib/mmsprofile (StateDirectory=mmsprofile); otherwise:\n"+
				"  install -d -o mmsprofile -g mmsprofile -m 0750 "+dir)
		return false
	}
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		r.info(fmt.Sprintf("the SQLite database %s does not exist yet: serve (or mmsprofile migrate) creates it", path),
			"")
		return false
	}
	if err != nil {
		r.fail(fmt.Sprintf("cannot read the SQLite database %s: %v", path, err), "run doctor as the service user: sudo -u mmsprofile mmsprofile doctor -config FILE")
		return false
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 && st.Uid != 0 {
		r.warn(fmt.Sprintf("not opening %s as root: it belongs to uid %d, and files SQLite creates now would belong to root", path, st.Uid),
			"run doctor as the service user: sudo -u mmsprofile mmsprofile doctor -config FILE")
		return false
	}
	return true
}

func storageFailed(cfg config.Config, err error, r *report) {
	var pg *pgconn.PgError
	fix := ""
	switch {
	case errors.Is(err, storage.ErrSchemaTooNew):
		r.fail("the database was migrated by a newer mmsprofile than this one", "install the newer mmsprofile again; never run an older one against this database.")
		return
	case errors.As(err, &pg) && (pg.Code == "28P01" || pg.Code == "28000"):
		fix = "the user or password in storage.dsn is wrong, or pg_hba.conf does not let this user in from here."
	case errors.As(err, &pg) && pg.Code == "3D000":
		fix = "create the database: sudo -u postgres createdb -O mmsprofile mmsprofile"
	case errors.As(err, &pg) && pg.Code == "42501":
		fix = "the user may not create the tables: GRANT CREATE ON SCHEMA public TO mmsprofile (or make it the database owner)."
	case errors.Is(err, syscall.ECONNREFUSED):
		fix = "nothing listens at the host and port of storage.dsn: is PostgreSQL running (systemctl status postgresql)?"
	case errors.Is(err, context.DeadlineExceeded):
		fix = "the database did not answer in time: check the host in storage.dsn, the network and firewalls."
	case errors.Is(err, syscall.EACCES), errors.Is(err, os.ErrPermission):
		fix = "the service user cannot write there: chown -R mmsprofile:mmsprofile " + filepath.Dir(cfg.Storage.DSN)
	case cfg.Storage.Driver == "postgres":
		fix = "check storage.dsn (host, port, database, user, password) and that PostgreSQL runs."
	}
	r.fail(fmt.Sprintf("cannot use the %s database: %v", cfg.Storage.Driver, err), fix)
}
