package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"mmsprofile/storage"
)

// Store is a storage.Store on one SQLite database.
//
// Writes go through a pool of exactly one connection, so writers in this
// process queue in Go instead of racing for SQLite's lock and getting
// SQLITE_BUSY; every write transaction also begins IMMEDIATE so that a second
// process (the CLI's link while serve runs) waits on busy_timeout rather than
// failing when it upgrades a read lock. Reads use their own pool: in WAL mode
// they never block the writer nor wait for it.
type Store struct {
	write *sql.DB
	read  *sql.DB

	// lead is a one-slot semaphore: the leader of this process holds it.
	lead chan struct{}

	wakers storage.Wakers // subscribers of Wake
}

var (
	_ storage.Store       = (*Store)(nil)
	_ storage.Coordinator = (*Store)(nil)
)

// busyTimeout is how long a connection waits for another process's lock.
const busyTimeout = 10 * time.Second

// Open opens (creating if needed) the database at path and migrates it to
// the latest schema. path ":memory:" gives a private in-memory database.
func Open(ctx context.Context, path string) (*Store, error) {
	return open(ctx, path, migrationFS())
}

func open(ctx context.Context, path string, migrations fs.FS) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: open: empty path")
	}
	// The driver takes everything after the first '?' as parameters, so a
	// path holding one would be silently cut.
	if strings.Contains(path, "?") {
		return nil, fmt.Errorf("sqlite: open %q: path must not contain '?'", path)
	}

	// synchronous=FULL: the MMSC is acknowledged as soon as CommitUpdate
	// returns, so a commit must survive power loss, not only a crash of this
	// process. With WAL, NORMAL may lose the last commits on power loss; FULL
	// costs one fsync of the WAL per commit, which is cheap next to an MMS.
	params := fmt.Sprintf("?_pragma=busy_timeout(%d)", busyTimeout.Milliseconds()) +
		"&_pragma=foreign_keys(1)" +
		"&_pragma=synchronous(FULL)"
	writeParams := params + "&_txlock=immediate"
	s := &Store{lead: make(chan struct{}, 1)}
	var err error
	if path == ":memory:" {
		// Each connection to ":memory:" is a database of its own, so
		// readers and the writer share the single connection, and it is
		// never closed for being idle (that would drop the database).
		s.write, err = sql.Open("sqlite", path+writeParams)
		if err != nil {
			return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
		}
		s.write.SetMaxOpenConns(1)
		s.write.SetMaxIdleConns(1)
		s.write.SetConnMaxIdleTime(0)
		s.write.SetConnMaxLifetime(0)
		s.read = s.write
	} else {
		s.write, err = sql.Open("sqlite", path+writeParams+"&_pragma=journal_mode(WAL)")
		if err != nil {
			return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
		}
		s.write.SetMaxOpenConns(1)
		// query_only guards the invariant that only the writer pool writes.
		s.read, err = sql.Open("sqlite", path+params+"&_pragma=query_only(1)")
		if err != nil {
			s.write.Close()
			return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
		}
		n := max(4, runtime.GOMAXPROCS(0))
		s.read.SetMaxOpenConns(n)
		s.read.SetMaxIdleConns(n)
	}
	// sql.Open connects lazily; the writer connects first so the file
	// exists and is in WAL mode before any reader opens it.
	if err := s.write.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if err := s.migrate(ctx, migrations); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error {
	err := s.write.Close()
	if s.read != s.write {
		err = errors.Join(err, s.read.Close())
	}
	if err != nil {
		return fmt.Errorf("sqlite: close: %w", err)
	}
	return nil
}

// Ping checks that the database answers, through the writer so it also
// shows the writer is not stuck.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.write.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

// inTx runs fn in a write transaction and commits it unless fn fails.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		return errors.Join(err, rollback(tx))
	}
	return tx.Commit()
}

// rollback ignores ErrTxDone: a canceled context has already rolled back.
func rollback(tx *sql.Tx) error {
	if err := tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		return err
	}
	return nil
}

// timeLayout is fixed width, unlike RFC 3339 with trimmed fractions, so
// stored times order correctly when compared as strings in SQL.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored time %q: %w", s, err)
	}
	return t, nil
}
