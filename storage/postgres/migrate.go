package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5"

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

// Migrate brings the schema to the latest version. Each migration runs in
// a transaction of its own with its schema_migrations row, so a failed one
// leaves the database at the version before it. A session advisory lock
// makes nodes starting together take turns; each reads the version again
// once it holds the lock.
func (s *Store) Migrate(ctx context.Context) error {
	return s.migrate(ctx, migrationFS())
}

func (s *Store) migrate(ctx context.Context, fsys fs.FS) error {
	ms, err := storage.LoadMigrations(fsys)
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrateKey); err != nil {
		return fmt.Errorf("postgres: migrate: lock: %w", err)
	}
	defer func() {
		// A connection that lost its session lost the lock with it.
		_, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrateKey)
	}()
	_, err = conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY,
		name    text NOT NULL,
		applied timestamptz NOT NULL
	)`)
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	v, err := schemaVersion(ctx, conn)
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	if v > len(ms) {
		return tooNew(v, len(ms))
	}
	for _, m := range ms[v:] {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			// No arguments: pgx sends it as a simple query, so a file
			// may hold several statements.
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied) VALUES ($1, $2, $3)`,
				m.Version, m.Name, time.Now())
			return err
		})
		if err != nil {
			return fmt.Errorf("postgres: migrate to %d (%s): %w", m.Version, m.Name, err)
		}
	}
	return nil
}

// tooNew refuses a database migrated by a newer program: writing to a
// schema this one does not know could corrupt what the newer one relies on.
func tooNew(have, know int) error {
	return fmt.Errorf("postgres: database is at schema version %d but this program knows only up to %d; run a newer mmsprofile: %w",
		have, know, storage.ErrSchemaTooNew)
}

// SchemaVersion returns the version of the last migration applied, 0 for a
// database never migrated.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	v, err := schemaVersion(ctx, s.pool)
	if err != nil {
		return 0, fmt.Errorf("postgres: schema version: %w", err)
	}
	return v, nil
}

type queryer interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func schemaVersion(ctx context.Context, q queryer) (int, error) {
	var v int
	err := q.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	var pgErr interface{ SQLState() string }
	if errors.As(err, &pgErr) && pgErr.SQLState() == "42P01" { // undefined_table
		return 0, nil
	}
	return v, err
}
