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
	if r.Per <= 0 || r.Burst < 1 {
		return false, 0, fmt.Errorf("sqlite: allow %s: invalid rate %v per token, burst %d", key, r.Per, r.Burst)
	}
	var (
		ok    bool
		after time.Duration
	)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var tat int64
		err := tx.QueryRowContext(ctx, `SELECT tat FROM rate_buckets WHERE key = ?`, key).Scan(&tat)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err // no row: tat 0, a new bucket is full
		}
		var next int64
		ok, next, after = storage.GCRA(tat, now, r)
		if !ok {
			return nil
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO rate_buckets (key, tat) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET tat = excluded.tat`, key, next)
		return err
	})
	if err != nil {
		return false, 0, fmt.Errorf("sqlite: allow %s: %w", key, err)
	}
	return ok, after, nil
}
