package sqlite

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"mmsprofile/storage"
	"mmsprofile/storage/storetest"
)

func openT(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestStoreMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storage.Store { return openT(t, ":memory:") })
}

// The file-backed store has separate read and write pools, the path
// production takes, so it runs the suite too.
func TestStoreFile(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storage.Store {
		return openT(t, filepath.Join(t.TempDir(), "state.db"))
	})
}

func latest(t testing.TB) int {
	t.Helper()
	ms, err := storage.LoadMigrations(migrationFS())
	if err != nil {
		t.Fatal(err)
	}
	return len(ms)
}

// realPlus returns the embedded migrations plus extra files.
func realPlus(t *testing.T, extra map[string]string) fstest.MapFS {
	t.Helper()
	m := fstest.MapFS{}
	err := fs.WalkDir(migrationFS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrationFS(), p)
		m[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, sql := range extra {
		m[name] = &fstest.MapFile{Data: []byte(sql)}
	}
	return m
}

func pragma(t *testing.T, s *Store, name string) string {
	t.Helper()
	var v string
	if err := s.write.QueryRowContext(t.Context(), "PRAGMA "+name).Scan(&v); err != nil {
		t.Fatalf("PRAGMA %s: %v", name, err)
	}
	return v
}

func TestOpenFresh(t *testing.T) {
	s := openT(t, filepath.Join(t.TempDir(), "state.db"))
	v, err := s.SchemaVersion(t.Context())
	if err != nil || v != latest(t) || v < 1 {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, latest(t))
	}
	for name, want := range map[string]string{
		"journal_mode": "wal",
		"foreign_keys": "1",
		"synchronous":  "2", // FULL
		"busy_timeout": fmt.Sprint(busyTimeout.Milliseconds()),
	} {
		if got := pragma(t, s, name); got != want {
			t.Errorf("PRAGMA %s = %s, want %s", name, got, want)
		}
	}
	// Readers must not be able to write.
	if _, err := s.read.ExecContext(t.Context(), `DELETE FROM links`); err == nil {
		t.Error("the read pool accepted a write")
	}
	for _, table := range []string{"links", "pending_links", "prefs", "updates", "avatars", "profiles", "outbox", "inbound", "rate_buckets", "audit"} {
		var n int
		if err := s.read.QueryRowContext(t.Context(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
			t.Errorf("table %s: %v", table, err)
		}
	}
}

func TestReopenIsNoop(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddLink(t.Context(), "alice@example.org", "+12025550001", "cli"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openT(t, path)
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate again: %v", err)
	}
	var rows int
	if err := s.read.QueryRowContext(t.Context(), `SELECT count(*) FROM schema_migrations`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != latest(t) {
		t.Fatalf("schema_migrations has %d rows, want %d", rows, latest(t))
	}
	if _, err := s.LinkByNumber(t.Context(), "+12025550001"); err != nil {
		t.Fatalf("link lost on reopen: %v", err)
	}
}

func TestMigrateFromOlderVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	old, err := open(t.Context(), path, realPlus(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := old.AddLink(t.Context(), "alice@example.org", "+12025550001", "cli"); err != nil {
		t.Fatal(err)
	}
	old.Close()

	next := latest(t) + 1
	s, err := open(t.Context(), path, realPlus(t, map[string]string{
		fmt.Sprintf("%04d_nick.sql", next): `ALTER TABLE links ADD COLUMN nick TEXT NOT NULL DEFAULT '';
			CREATE INDEX links_nick ON links (nick);`,
	}))
	if err != nil {
		t.Fatalf("open with a newer migration: %v", err)
	}
	defer s.Close()
	if v, err := s.SchemaVersion(t.Context()); err != nil || v != next {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, next)
	}
	var nick string
	err = s.read.QueryRowContext(t.Context(), `SELECT nick FROM links WHERE number = '+12025550001'`).Scan(&nick)
	if err != nil {
		t.Fatalf("old row after migration: %v", err)
	}
}

// Preferences saved before the roster column existed read back with it
// off: adding to rosters is never turned on by an upgrade.
func TestPrefsBeforeRosterColumn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	before := realPlus(t, nil)
	delete(before, "0003_prefs_roster.sql")
	delete(before, "0004_outbox_account.sql")
	old, err := open(t.Context(), path, before)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := old.SchemaVersion(t.Context()); v != 2 {
		old.Close()
		t.Fatalf("schema before the roster column: version %d, want 2", v)
	}
	_, err = old.write.ExecContext(t.Context(), `INSERT INTO prefs (jid, avatar, status, nick, vcard, contacts, notify, discoverable)
		VALUES ('alice@example.org', 1, 1, 1, 1, 1, 1, 1)`)
	old.Close()
	if err != nil {
		t.Fatal(err)
	}
	s := openT(t, path)
	p, err := s.Prefs(t.Context(), "alice@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if want := (storage.Prefs{Avatar: true, Status: true, Nick: true, VCard: true, Contacts: true, Notify: true, Discoverable: true}); p != want {
		t.Fatalf("Prefs after the upgrade = %+v, want %+v", p, want)
	}
}

func TestFailedMigrationRollsBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	next := latest(t) + 1
	_, err := open(t.Context(), path, realPlus(t, map[string]string{
		fmt.Sprintf("%04d_broken.sql", next): `CREATE TABLE half (x INTEGER); SELECT nope FROM missing;`,
	}))
	if err == nil || !strings.Contains(err.Error(), "broken") {
		t.Fatalf("open with a broken migration = %v, want an error naming it", err)
	}

	s := openT(t, path)
	if v, _ := s.SchemaVersion(t.Context()); v != latest(t) {
		t.Fatalf("SchemaVersion = %d, want %d", v, latest(t))
	}
	var n int
	err = s.read.QueryRowContext(t.Context(), `SELECT count(*) FROM sqlite_schema WHERE name = 'half'`).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatal("the broken migration left a table behind")
	}
}

func TestNewerDatabaseRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := open(t.Context(), path, realPlus(t, map[string]string{
		fmt.Sprintf("%04d_future.sql", latest(t)+1): `CREATE TABLE future (x INTEGER);`,
	}))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err := Open(t.Context(), path); !errors.Is(err, storage.ErrSchemaTooNew) || !strings.Contains(err.Error(), "newer") {
		if s != nil {
			s.Close()
		}
		t.Fatalf("Open of a newer database = %v, want a refusal", err)
	}
}

func TestMigrationNames(t *testing.T) {
	for _, tc := range []struct {
		files []string
		ok    bool
	}{
		{[]string{"0001_a.sql", "0002_b.sql"}, true},
		{[]string{"0001_a.sql", "0003_c.sql"}, false}, // gap
		{[]string{"0002_b.sql"}, false},               // does not start at 1
		{[]string{"init.sql"}, false},
		{[]string{"0001_a.sql", "0001_b.sql"}, false},
	} {
		m := fstest.MapFS{}
		for _, f := range tc.files {
			m[f] = &fstest.MapFile{Data: []byte("SELECT 1;")}
		}
		_, err := storage.LoadMigrations(m)
		if (err == nil) != tc.ok {
			t.Errorf("storage.LoadMigrations(%v) = %v, want ok %v", tc.files, err, tc.ok)
		}
	}
}

// Two Stores on one file stand for two processes (serve and the CLI):
// busy_timeout and BEGIN IMMEDIATE must make them wait, not fail.
func TestTwoStoresOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	stores := []*Store{openT(t, path), openT(t, path)}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i, s := range stores {
		for w := range 2 {
			wg.Go(func() {
				for n := range 20 {
					key := fmt.Sprintf("s%d-w%d-%d", i, w, n)
					u := storage.Update{Source: "mm7", Key: key, JID: key + "@example.org",
						Number: "+12025550001", Avatar: storetest.MakeAvatar(key, 256), Received: time.Now()}
					if _, err := s.CommitUpdate(t.Context(), u); err != nil {
						errs <- err
						return
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	items, err := stores[0].DueOutbox(t.Context(), time.Now(), storage.Due(1000))
	if err != nil || len(items) != 80 {
		t.Fatalf("DueOutbox = %d items, %v; want 80", len(items), err)
	}
}

func BenchmarkCommitUpdate(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) storage.Store {
		return openT(b, filepath.Join(b.TempDir(), "state.db"))
	})
}
