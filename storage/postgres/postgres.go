package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"mmsprofile/storage"
)

// Options tune the pool and the multi-node machinery; the zero value
// gives the defaults noted on each field.
type Options struct {
	// MaxConns bounds the pool (default 10); MinConns are kept open
	// (default 0).
	MaxConns int32
	MinConns int32
	// ConnectTimeout bounds each connection attempt (default 5 s), so an
	// outage fails calls quickly instead of hanging the transports.
	ConnectTimeout time.Duration
	// MaxConnLifetime (default 1 h) and MaxConnIdleTime (default 30 min)
	// recycle pooled connections.
	MaxConnLifetime time.Duration
	MaxConnIdleTime time.Duration
	// HealthCheckPeriod is how often idle connections are checked
	// (default 30 s).
	HealthCheckPeriod time.Duration
	// StatementTimeout, when set, is PostgreSQL's statement_timeout for
	// pooled connections.
	StatementTimeout time.Duration
	// LeaderKey is the advisory lock key Lead takes (default
	// DefaultLeaderKey); processes sharing a database and a key elect one
	// leader.
	LeaderKey int64
	// LeaseCheck is how often a leader checks its lock connection
	// (default 1 s): the longest it may go on publishing after losing it.
	LeaseCheck time.Duration
}

// DefaultLeaderKey is the advisory lock that elects the publishing node.
const DefaultLeaderKey int64 = 0x6d6d7370726f6631 // "mmsprof1"

// migrateKey serialises migrations across nodes starting together.
const migrateKey int64 = 0x6d6d7370726f6d67 // "mmsprofmg"

// notifyChannel is NOTIFYed in every transaction that adds outbox items.
const notifyChannel = "mmsprofile_outbox"

// accountLock is the first key of the two-key advisory locks that order
// one account's commits (the two-key space never meets the one-key one of
// DefaultLeaderKey).
const accountLock = 0x6d6d73

func (o Options) withDefaults() Options {
	if o.MaxConns <= 0 {
		o.MaxConns = 10
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 5 * time.Second
	}
	if o.MaxConnLifetime <= 0 {
		o.MaxConnLifetime = time.Hour
	}
	if o.MaxConnIdleTime <= 0 {
		o.MaxConnIdleTime = 30 * time.Minute
	}
	if o.HealthCheckPeriod <= 0 {
		o.HealthCheckPeriod = 30 * time.Second
	}
	if o.LeaderKey == 0 {
		o.LeaderKey = DefaultLeaderKey
	}
	if o.LeaseCheck <= 0 {
		o.LeaseCheck = time.Second
	}
	return o
}

// Store is a storage.Store on a PostgreSQL database. Statements go through
// pgx's per-connection statement cache (prepared on first use). Several
// Stores, in one process or many, may share a database.
type Store struct {
	pool *pgxpool.Pool
	opts Options

	// connConfig is for the dedicated connections of Lead and Wake, which
	// must not come from (or be returned to) the pool.
	connConfig *pgx.ConnConfig

	mu     sync.Mutex
	leases map[*lease]struct{} // released by Close
	wakers storage.Wakers      // Wake's subscribers in this process
	closed bool
}

var (
	_ storage.Store       = (*Store)(nil)
	_ storage.Coordinator = (*Store)(nil)
)

// Open connects to dsn (a postgres:// URL or key=value string) and migrates
// the database to the latest schema. A database migrated by a newer
// program is refused with storage.ErrSchemaTooNew.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	opts = opts.withDefaults()
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// The error text may quote the DSN and its password: keep it out.
		return nil, errors.New("postgres: open: invalid DSN")
	}
	cfg.MaxConns = opts.MaxConns
	cfg.MinConns = opts.MinConns
	cfg.MaxConnLifetime = opts.MaxConnLifetime
	cfg.MaxConnIdleTime = opts.MaxConnIdleTime
	cfg.HealthCheckPeriod = opts.HealthCheckPeriod
	cfg.ConnConfig.ConnectTimeout = opts.ConnectTimeout
	if cfg.ConnConfig.RuntimeParams == nil {
		cfg.ConnConfig.RuntimeParams = map[string]string{}
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "mmsprofile"
	dedicated := cfg.ConnConfig.Copy()
	if opts.StatementTimeout > 0 {
		cfg.ConnConfig.RuntimeParams["statement_timeout"] = strconv.FormatInt(opts.StatementTimeout.Milliseconds(), 10)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	s := &Store{pool: pool, opts: opts, connConfig: dedicated, leases: map[*lease]struct{}{}}
	if err := s.Migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Close releases any leadership held and closes the pool.
func (s *Store) Close() error {
	s.mu.Lock()
	s.closed = true
	leases := make([]*lease, 0, len(s.leases))
	for l := range s.leases {
		leases = append(leases, l)
	}
	s.mu.Unlock()
	for _, l := range leases {
		l.release()
	}
	s.pool.Close()
	return nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// inTx runs fn in a READ COMMITTED transaction and commits it unless fn
// fails. A deadlock or serialization failure is retried from the start, a
// few times: nothing of the failed attempt was committed. Any other error,
// including one from Commit (the outcome may be unknown), is returned: the
// caller must not report success.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	for attempt := 0; ; attempt++ {
		err := s.tryTx(ctx, fn)
		if err == nil || attempt == 4 || !retryable(err) {
			return err
		}
	}
}

func (s *Store) tryTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		// Rollback on a broken connection fails too; fn's error says why.
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	return tx.Commit(ctx)
}

func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40001" || pgErr.Code == "40P01")
}

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

// notFound maps a missing row to storage.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return storage.ErrNotFound
	}
	return err
}

// execOne runs a write that must touch exactly one row; none is
// storage.ErrNotFound.
func (s *Store) execOne(ctx context.Context, query string, args ...any) error {
	tag, err := s.pool.Exec(ctx, query, args...)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return storage.ErrNotFound
	}
	return nil
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// collect runs a query on q and scans every row with scan.
func collect[T any](ctx context.Context, q querier, scan func(pgx.Row) (T, error), sql string, args ...any) ([]T, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
