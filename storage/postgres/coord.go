package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"mmsprofile/internal/backoff"
	"mmsprofile/storage"
)

// lease is leadership held: a session advisory lock on a connection of its
// own, watched so that losing it is noticed.
type lease struct {
	conn *pgx.Conn
	lost chan struct{}
	stop chan struct{}
	done chan struct{} // closed when the watcher has closed conn
	once sync.Once
}

// release stops the watcher, which closes the connection and with it the
// lock.
func (l *lease) release() {
	l.once.Do(func() { close(l.stop) })
	<-l.done
}

// Lead blocks until this process holds the leader lock (Options.LeaderKey)
// or ctx ends; see storage.Coordinator. The lock is a session-level
// pg_advisory_lock on a dedicated connection, not a pooled one: the pool
// would hand the session to other work and recycle it. While waiting, the
// server queues us behind the holder, so when the leader's session ends
// (crash, Close, connection killed) the next waiter gets the lock at once.
// The leader pings its connection every Options.LeaseCheck and closes lost
// when a ping fails: from then on another node may lead.
func (s *Store) Lead(ctx context.Context) (<-chan struct{}, func(), error) {
	for failed := 0; ; failed++ {
		l, err := s.tryLead(ctx)
		if err == nil {
			return l.lost, l.release, nil
		}
		if ctx.Err() != nil {
			return nil, nil, fmt.Errorf("postgres: lead: %w", ctx.Err())
		}
		if errors.Is(err, errClosed) {
			return nil, nil, fmt.Errorf("postgres: lead: %w", err)
		}
		// The database is away: wait and queue again.
		select {
		case <-time.After(backoff.Delay(retryMin, retryMax, failed)):
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("postgres: lead: %w", ctx.Err())
		}
	}
}

var errClosed = errors.New("store closed")

// retryMin and retryMax bound the wait before the leader lock or the
// LISTEN session is tried again while the database is away.
const (
	retryMin = 100 * time.Millisecond
	retryMax = 5 * time.Second
)

func (s *Store) tryLead(ctx context.Context) (*lease, error) {
	cfg := s.connConfig.Copy()
	// The server side too should notice a leader that vanished without
	// closing its connection (power loss, partition) instead of holding
	// its lock for hours: keepalives every second, given up after 5.
	cfg.RuntimeParams["tcp_keepalives_idle"] = "1"
	cfg.RuntimeParams["tcp_keepalives_interval"] = "1"
	cfg.RuntimeParams["tcp_keepalives_count"] = "5"
	cfg.RuntimeParams["tcp_user_timeout"] = "5000"
	cfg.RuntimeParams["application_name"] = "mmsprofile leader"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	// Blocks in the server until the lock is ours. A cancelled ctx makes
	// pgx cancel the query; the connection is closed either way.
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, s.opts.LeaderKey); err != nil {
		conn.Close(context.Background())
		return nil, err
	}
	l := &lease{conn: conn, lost: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		conn.Close(context.Background())
		return nil, errClosed
	}
	s.leases[l] = struct{}{}
	s.mu.Unlock()
	go s.watch(l)
	return l, nil
}

// watch pings the lease connection until it fails or the lease is
// released, then closes lost and the connection.
func (s *Store) watch(l *lease) {
	defer func() {
		close(l.lost)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		l.conn.Close(ctx) // ends the session, so the lock is free now
		cancel()
		s.mu.Lock()
		delete(s.leases, l)
		s.mu.Unlock()
		close(l.done)
	}()
	t := time.NewTicker(s.opts.LeaseCheck)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		// A ping slower than the check interval counts as lost: better
		// to stop publishing than to publish beside a new leader.
		ctx, cancel := context.WithTimeout(context.Background(), s.opts.LeaseCheck)
		err := l.conn.Ping(ctx)
		cancel()
		if err != nil {
			return
		}
	}
}

// Wake listens for outbox commits of every node on a dedicated connection
// (LISTEN needs a session of its own); see storage.Coordinator. After a
// reconnect it signals once, for what was committed while it was away.
// Commits made through this Store signal at once, in process, without
// waiting for their NOTIFY to come back from the server.
func (s *Store) Wake(ctx context.Context) <-chan struct{} {
	ch := s.wakers.Add()
	signal := func() { storage.Signal(ch) }
	go func() {
		// After the loop: listen, the only other sender, has returned.
		defer s.wakers.Remove(ch)
		for failed := 0; ctx.Err() == nil; failed++ {
			if s.listen(ctx, signal) {
				failed = 0 // it had worked: retry soon
			}
			select {
			case <-time.After(backoff.Delay(retryMin, retryMax, failed)):
			case <-ctx.Done():
			}
		}
	}()
	return ch
}

// listen runs one LISTEN session until it fails or ctx ends, and reports
// whether it got as far as listening.
func (s *Store) listen(ctx context.Context, signal func()) bool {
	conn, err := pgx.ConnectConfig(ctx, s.connConfig.Copy())
	if err != nil {
		return false
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return false
	}
	signal()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return true
		}
		signal()
	}
}
