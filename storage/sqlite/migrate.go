package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"mmsprofile/storage"
)

//go:embed migrations/*.sql
var embedded embed.FS

func migrationFS() fs.FS {
	sub, err := fs.Sub(embedded, "migrations")
	if err != nil {
		panic(err) // the directory is embedded at build time
	}
	return sub
}

// Migrate brings the schema to the latest version. Each migration runs in a
// transaction of its own together with its schema_migrations row, so a
// failed one leaves the database at the version before it. It is safe to
// run from several processes at once: the version is read again inside the
// (IMMEDIATE) transaction.
func (s *Store) Migrate(ctx context.Context) error {
	return s.migrate(ctx, migrationFS())
}

func (s *Store) migrate(ctx context.Context, fsys fs.FS) error {
	ms, err := storage.LoadMigrations(fsys)
	if err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	_, err = s.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY,
		name    TEXT NOT NULL,
		applied TEXT NOT NULL
	) STRICT`)
	if err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	// Most opens find nothing to do; they should not queue for the write
	// lock behind a busy server just to learn that.
	v, err := schemaVersion(ctx, s.write)
	if err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	if v > len(ms) {
		return tooNew(v, len(ms))
	}
	if v == len(ms) {
		return nil
	}
	for _, m := range ms {
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			v, err := schemaVersion(ctx, tx)
			if err != nil {
				return err
			}
			// Checked on every run so an old binary refuses a newer database
			// instead of writing to a schema it does not know.
			if v > len(ms) {
				return tooNew(v, len(ms))
			}
			if v >= m.Version {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied) VALUES (?, ?, ?)`,
				m.Version, m.Name, formatTime(time.Now()))
			return err
		})
		if errors.Is(err, storage.ErrSchemaTooNew) {
			return err
		}
		if err != nil {
			return fmt.Errorf("sqlite: migrate to %d (%s): %w", m.Version, m.Name, err)
		}
	}
	return nil
}

// tooNew refuses a database migrated by a newer program: writing to a
// schema this one does not know could corrupt what the newer one relies on.
func tooNew(have, know int) error {
	return fmt.Errorf("sqlite: database is at schema version %d but this program knows only up to %d; run a newer mmsprofile: %w",
		have, know, storage.ErrSchemaTooNew)
}

// SchemaVersion returns the version of the last migration applied, 0 for a
// database never migrated.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	v, err := schemaVersion(ctx, s.read)
	if err != nil {
		return 0, fmt.Errorf("sqlite: schema version: %w", err)
	}
	return v, nil
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func schemaVersion(ctx context.Context, q queryer) (int, error) {
	var v int
	err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}
