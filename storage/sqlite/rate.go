package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"mmsprofile/storage"
)

// Allow takes one token from bucket key; see storage.Store and
// storage.GCRA. The read and the write share the one writer connection's
// IMMEDIATE transaction, so concurrent takers never spend the same token.
func (s *Store) Allow(ctx context.Context, key string, r storage.Rate, now time.Time) (bool, time.Duration, error) {
	if err := r.Valid(); err != nil {
		return false, 0, fmt.Errorf("sqlite: allow %s: %w", key, err)
	}
	var (
		ok    bool
		after time.Duration
	)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		ok, after, err = take(ctx, tx, key, r, now)
		return err
	})
	if err != nil {
		return false, 0, fmt.Errorf("sqlite: allow %s: %w", key, err)
	}
	return ok, after, nil
}

// Check answers what Allow would, from a read: no write lock, no fsync.
func (s *Store) Check(ctx context.Context, key string, r storage.Rate, now time.Time) (bool, time.Duration, error) {
	if err := r.Valid(); err != nil {
		return false, 0, fmt.Errorf("sqlite: check %s: %w", key, err)
	}
	var tat int64
	err := s.read.QueryRowContext(ctx, `SELECT tat FROM rate_buckets WHERE key = ?`, key).Scan(&tat)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, 0, fmt.Errorf("sqlite: check %s: %w", key, err)
	}
	ok, _, after := storage.GCRA(tat, now, r)
	return ok, after, nil
}

// take takes one token from bucket key in tx, which must be a write
// transaction (IMMEDIATE: no other writer between the read and the write).
// Refused, it writes nothing.
func take(ctx context.Context, tx *sql.Tx, key string, r storage.Rate, now time.Time) (bool, time.Duration, error) {
	var tat int64
	err := tx.QueryRowContext(ctx, `SELECT tat FROM rate_buckets WHERE key = ?`, key).Scan(&tat)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, 0, err // no row: tat 0, a new bucket is full
	}
	ok, next, after := storage.GCRA(tat, now, r)
	if !ok {
		return false, after, nil
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO rate_buckets (key, tat) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET tat = excluded.tat`, key, next)
	return err == nil, 0, err
}
