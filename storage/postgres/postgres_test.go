package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"mmsprofile/internal/testkit/pgtest"
	"mmsprofile/storage"
	"mmsprofile/storage/storetest"
)

// fast keeps the lease check short enough for the takeover tests.
var fast = Options{LeaseCheck: 200 * time.Millisecond}

func openT(t testing.TB, dsn string, opts Options) *Store {
	t.Helper()
	s, err := Open(t.Context(), dsn, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStore(t *testing.T) {
	srv := pgtest.StartT(t)
	storetest.Run(t, func(t *testing.T) storage.Store {
		return openT(t, srv.NewDatabaseT(t), Options{})
	})
}

func TestMigrations(t *testing.T) {
	srv := pgtest.StartT(t)
	dsn := srv.NewDatabaseT(t)

	// Nodes starting together: the advisory lock makes them take turns.
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			s, err := Open(t.Context(), dsn, Options{})
			if err == nil {
				s.Close()
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent Open: %v", err)
		}
	}
	s := openT(t, dsn, Options{})
	ms, err := storage.LoadMigrations(migrationFS())
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s.SchemaVersion(t.Context()); err != nil || v != len(ms) {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, len(ms))
	}

	// A broken migration leaves the database where it was.
	files := fstest.MapFS{}
	for _, m := range ms {
		files[m.Name+".sql"] = &fstest.MapFile{Data: []byte(m.SQL)}
	}
	next := len(ms) + 1
	broken := fstest.MapFS{}
	for k, v := range files {
		broken[k] = v
	}
	broken[fmt.Sprintf("%04d_broken.sql", next)] = &fstest.MapFile{Data: []byte(`CREATE TABLE half (x int); SELECT nope FROM missing;`)}
	if err := s.migrate(t.Context(), broken); err == nil || !strings.Contains(err.Error(), "broken") {
		t.Fatalf("broken migration = %v, want an error naming it", err)
	}
	var n int
	if err := s.pool.QueryRow(t.Context(), `SELECT count(*) FROM pg_tables WHERE tablename = 'half'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("the broken migration left a table (%d, %v)", n, err)
	}

	// A newer program's migration, then this program: refused.
	files[fmt.Sprintf("%04d_future.sql", next)] = &fstest.MapFile{Data: []byte(`CREATE TABLE future (x int);`)}
	if err := s.migrate(t.Context(), files); err != nil {
		t.Fatalf("migrate to %d: %v", next, err)
	}
	_, err = Open(t.Context(), dsn, Options{})
	if !errors.Is(err, storage.ErrSchemaTooNew) || !strings.Contains(err.Error(), "newer mmsprofile") {
		t.Fatalf("Open of a newer database = %v, want ErrSchemaTooNew", err)
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(t.Context(), "postgres://u:secret@[::1", Options{}); err == nil || strings.Contains(err.Error(), "secret") {
		t.Fatalf("Open(bad DSN) = %v, want an error without the password", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := Open(ctx, "postgres://u@127.0.0.1:1/x?sslmode=disable", Options{ConnectTimeout: time.Second}); err == nil {
		t.Fatal("Open of a closed port succeeded")
	}
}

// Two nodes take the same MMS at the same moment: one update.
func TestDuplicateAcrossNodes(t *testing.T) {
	srv := pgtest.StartT(t)
	dsn := srv.NewDatabaseT(t)
	a, b := openT(t, dsn, Options{}), openT(t, dsn, Options{})
	storetest.CommitDuplicateAcross(t, []storage.Store{a, b}, 16)
}

// The same account updated from two nodes at once: its commits are
// ordered, and only the newest picture stays pending.
func TestCoalesceAcrossNodes(t *testing.T) {
	srv := pgtest.StartT(t)
	dsn := srv.NewDatabaseT(t)
	stores := []*Store{openT(t, dsn, Options{}), openT(t, dsn, Options{})}
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() {
			for n := range 30 {
				key := fmt.Sprintf("n%d-%d", i, n)
				u := storage.Update{Source: "mm7", Key: key, JID: "alice@example.org", Number: "+12025550001",
					Avatar: storetest.MakeAvatar(key, 256)}
				if _, err := s.CommitUpdate(t.Context(), u); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	items, err := stores[0].DueOutbox(t.Context(), time.Now(), storage.Due(100))
	if err != nil || len(items) != 1 {
		t.Fatalf("DueOutbox = %d items, %v; want the newest picture only", len(items), err)
	}
	cur, err := stores[0].CurrentAvatar(t.Context(), "alice@example.org")
	if err != nil || cur.ID != items[0].Avatar.ID {
		t.Fatalf("pending picture %s is not the current one %s (%v)", items[0].Avatar.ID, cur.ID, err)
	}
}

// lead starts Lead in the background and returns a channel that yields
// once it succeeds.
type leadResult struct {
	lost    <-chan struct{}
	release func()
	at      time.Time
	err     error
}

func leadAsync(ctx context.Context, s *Store) <-chan leadResult {
	ch := make(chan leadResult, 1)
	go func() {
		lost, release, err := s.Lead(ctx)
		ch <- leadResult{lost, release, time.Now(), err}
	}()
	return ch
}

func mustLead(t *testing.T, s *Store) leadResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	r := <-leadAsync(ctx, s)
	if r.err != nil {
		t.Fatalf("Lead: %v", r.err)
	}
	t.Cleanup(r.release)
	return r
}

func waitFor[T any](t *testing.T, what string, ch <-chan T, limit time.Duration) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(limit):
		t.Fatalf("%s: nothing after %v", what, limit)
		panic("unreachable")
	}
}

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// leaderPID returns the backend pid holding the leader lock.
func leaderPID(t *testing.T, s *Store) int {
	t.Helper()
	var pid int
	err := s.pool.QueryRow(t.Context(), `SELECT pid FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND classid = ($1::bigint >> 32)::oid AND objid = ($1::bigint & 4294967295)::oid AND objsubid = 1`,
		s.opts.LeaderKey).Scan(&pid)
	if err != nil {
		t.Fatalf("leader pid: %v", err)
	}
	return pid
}

func TestLeadExclusive(t *testing.T) {
	srv := pgtest.StartT(t)
	dsn := srv.NewDatabaseT(t)
	a, b := openT(t, dsn, fast), openT(t, dsn, fast)
	first := mustLead(t, a)

	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	if _, _, err := b.Lead(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second Lead while the first holds = %v, want a timeout", err)
	}
	// Release hands over, and closes lost.
	waiting := leadAsync(t.Context(), b)
	time.Sleep(100 * time.Millisecond)
	first.release()
	if !closed(first.lost) {
		t.Fatal("lost still open after release")
	}
	second := waitFor(t, "Lead after release", waiting, 5*time.Second)
	if second.err != nil {
		t.Fatal(second.err)
	}
	second.release()
	second.release() // idempotent
}

// The leader's connection is killed (the node is cut off, or an operator
// ended it): it hears of it, and the waiting node takes over.
func TestTakeoverTerminated(t *testing.T) {
	srv := pgtest.StartT(t)
	dsn := srv.NewDatabaseT(t)
	a, b, admin := openT(t, dsn, fast), openT(t, dsn, fast), openT(t, dsn, fast)
	leader := mustLead(t, a)
	waiting := leadAsync(t.Context(), b)
	time.Sleep(200 * time.Millisecond)

	pid := leaderPID(t, admin)
	killed := time.Now()
	if _, err := admin.pool.Exec(t.Context(), `SELECT pg_terminate_backend($1)`, pid); err != nil {
		t.Fatal(err)
	}
	next := waitFor(t, "takeover", waiting, 10*time.Second)
	if next.err != nil {
		t.Fatal(next.err)
	}
	t.Cleanup(next.release)
	waitFor(t, "old leader's lost", leader.lost, 5*time.Second)
	noticed := time.Now()
	t.Logf("takeover %v after the kill; the old leader knew after %v",
		next.at.Sub(killed).Round(time.Millisecond), noticed.Sub(killed).Round(time.Millisecond))
	if closed(next.lost) {
		t.Fatal("new leader already lost")
	}
}

// The leader's Store is closed (the process shuts down or crashes).
func TestTakeoverClosed(t *testing.T) {
	srv := pgtest.StartT(t)
	dsn := srv.NewDatabaseT(t)
	a, err := Open(t.Context(), dsn, fast)
	if err != nil {
		t.Fatal(err)
	}
	b := openT(t, dsn, fast)
	lost, _, err := a.Lead(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	waiting := leadAsync(t.Context(), b)
	time.Sleep(200 * time.Millisecond)
	closedAt := time.Now()
	a.Close()
	if !closed(lost) {
		t.Fatal("lost still open after Close")
	}
	next := waitFor(t, "takeover", waiting, 10*time.Second)
	if next.err != nil {
		t.Fatal(next.err)
	}
	next.release()
	t.Logf("takeover %v after Close", next.at.Sub(closedAt).Round(time.Millisecond))
	if _, _, err := a.Lead(t.Context()); err == nil {
		t.Fatal("Lead on a closed Store succeeded")
	}
}

func TestWake(t *testing.T) {
	srv := pgtest.StartT(t)
	dsn := srv.NewDatabaseT(t)
	a, b := openT(t, dsn, Options{}), openT(t, dsn, Options{})
	ctx, cancel := context.WithCancel(t.Context())
	wake := b.Wake(ctx)
	waitFor(t, "first signal (listening)", wake, 5*time.Second)

	// A commit on another node wakes us, an Enqueue too.
	start := time.Now()
	if _, err := a.CommitUpdate(t.Context(), storage.Update{Source: "mm7", Key: "1", JID: "alice@example.org",
		Status: "hi", Entries: []storage.Entry{{JID: "alice@example.org", Kind: storage.KindProfile}}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "wake after CommitUpdate", wake, 5*time.Second)
	t.Logf("woken %v after the commit began", time.Since(start).Round(time.Microsecond))
	if err := a.Enqueue(t.Context(), storage.Entry{Kind: storage.KindReply}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "wake after Enqueue", wake, 5*time.Second)

	// A rolled-back (duplicate) commit notifies nobody.
	if _, err := a.CommitUpdate(t.Context(), storage.Update{Source: "mm7", Key: "1", JID: "alice@example.org",
		Entries: []storage.Entry{{JID: "alice@example.org", Kind: storage.KindProfile}}}); !errors.Is(err, storage.ErrDuplicate) {
		t.Fatal(err)
	}
	select {
	case <-wake:
		t.Fatal("woken by a duplicate")
	case <-time.After(300 * time.Millisecond):
	}
	cancel()
	for range wake { // closed once ctx ends
	}
}

// A commit on this node wakes this node's subscribers before CommitUpdate
// returns: the publisher beside it does not wait for the NOTIFY to come
// back from the server.
func TestWakeSameNodeInProcess(t *testing.T) {
	srv := pgtest.StartT(t)
	s := openT(t, srv.NewDatabaseT(t), Options{})
	ctx, cancel := context.WithCancel(t.Context())
	wake := s.Wake(ctx)
	waitFor(t, "first signal (listening)", wake, 5*time.Second)
	pending := func(what string) {
		t.Helper()
		select {
		case <-wake:
		default:
			t.Fatalf("no wake pending when %s returned", what)
		}
	}
	if _, err := s.CommitUpdate(t.Context(), storage.Update{Source: "mm7", Key: "1", JID: "alice@example.org",
		Status: "hi", Entries: []storage.Entry{{JID: "alice@example.org", Kind: storage.KindProfile}}}); err != nil {
		t.Fatal(err)
	}
	pending("CommitUpdate")
	// The commit's NOTIFY comes back too; let it, so it is not taken
	// for the Enqueue's.
	time.Sleep(300 * time.Millisecond)
	for len(wake) > 0 {
		<-wake
	}
	if err := s.Enqueue(t.Context(), storage.Entry{Kind: storage.KindReply}); err != nil {
		t.Fatal(err)
	}
	pending("Enqueue")
	cancel()
	for range wake { // closed once ctx ends
	}
	// A subscriber gone is not sent to: no panic on its closed channel.
	if err := s.Enqueue(t.Context(), storage.Entry{Kind: storage.KindReply}); err != nil {
		t.Fatal(err)
	}
}

// PostgreSQL goes away under load and comes back. Every CommitUpdate
// either succeeds, and then its update is there afterwards, or returns an
// error; the Store recovers without being reopened, and so do Wake and
// Lead.
func TestRestartUnderLoad(t *testing.T) {
	srv := pgtest.StartT(t)
	if srv.Port() == 0 {
		t.Skip("external server: cannot restart it")
	}
	dsn := srv.NewDatabaseT(t)
	s := openT(t, dsn, Options{ConnectTimeout: time.Second, LeaseCheck: 200 * time.Millisecond})
	lost, release, err := s.Lead(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	wakeCtx, cancelWake := context.WithCancel(t.Context())
	defer cancelWake()
	wake := s.Wake(wakeCtx)
	waitFor(t, "listening", wake, 5*time.Second)

	var (
		stop      atomic.Bool
		wg        sync.WaitGroup
		mu        sync.Mutex
		committed = map[string]int64{}
		failures  int
		seq       atomic.Int64
	)
	for range 4 {
		wg.Go(func() {
			for !stop.Load() {
				key := fmt.Sprint(seq.Add(1))
				u := storage.Update{Source: "mm7", Key: key, JID: "user" + key + "@example.org",
					Number: "+12025550001", Avatar: storetest.MakeAvatar(key, 2048), Status: "s"}
				ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
				id, err := s.CommitUpdate(ctx, u)
				cancel()
				mu.Lock()
				if err == nil {
					committed[key] = id
				} else {
					failures++
				}
				mu.Unlock()
				if err != nil {
					time.Sleep(20 * time.Millisecond)
				}
			}
		})
	}
	time.Sleep(500 * time.Millisecond)
	if err := srv.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "lost leadership with the database", lost, 5*time.Second)
	time.Sleep(time.Second)
	if err := s.Ping(t.Context()); err == nil {
		t.Fatal("Ping succeeded during the outage")
	}
	if err := srv.Restart(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Recovered by itself: commits succeed again.
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, err := s.CommitUpdate(t.Context(), storage.Update{Source: "probe", Key: fmt.Sprint(time.Now().UnixNano()), JID: "probe@example.org"})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no commit succeeded 15 s after the restart: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	stop.Store(true)
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d commits succeeded, %d failed during the outage", len(committed), failures)
	if failures == 0 {
		t.Error("no commit failed while the database was down")
	}
	// Never a false success: everything reported committed is there.
	for key, id := range committed {
		var got int64
		err := s.pool.QueryRow(t.Context(), `SELECT id FROM updates WHERE source = 'mm7' AND key = $1`, key).Scan(&got)
		if err != nil || got != id {
			t.Fatalf("update %s reported committed as %d, database has %d (%v)", key, id, got, err)
		}
	}
	// Wake reconnected (it signals once on reconnect) and Lead works again.
	waitFor(t, "wake after reconnect", wake, 10*time.Second)
	r := mustLead(t, s)
	r.release()
}

func TestCommitUnknownOutcomeIsError(t *testing.T) {
	// A commit whose connection dies mid-transaction must report an
	// error. Simulated by terminating every other backend while a commit
	// waits on an account lock.
	srv := pgtest.StartT(t)
	dsn := srv.NewDatabaseT(t)
	s, admin := openT(t, dsn, Options{}), openT(t, dsn, Options{})
	tx, err := admin.pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(t.Context())
	if _, err := tx.Exec(t.Context(), `SELECT pg_advisory_xact_lock($1, hashtext('alice@example.org'))`, accountLock); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.CommitUpdate(t.Context(), storage.Update{Source: "mm7", Key: "x", JID: "alice@example.org", Status: "s"})
		done <- err
	}()
	time.Sleep(300 * time.Millisecond)
	if _, err := tx.Exec(t.Context(), `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'`); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(t, "commit", done, 10*time.Second); err == nil {
		t.Fatal("CommitUpdate on a killed connection reported success")
	}
	tx.Rollback(t.Context())
	if _, err := s.CommitUpdate(t.Context(), storage.Update{Source: "mm7", Key: "x", JID: "alice@example.org", Status: "s"}); err != nil {
		t.Fatalf("retry after the failure: %v", err)
	}
}

func BenchmarkCommitUpdate(b *testing.B) {
	srv := pgtest.StartT(b)
	storetest.Bench(b, func(b *testing.B) storage.Store {
		return openT(b, srv.NewDatabaseT(b), Options{})
	})
}
