package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"mmsprofile/storage"
)

// Allow takes one token from bucket key; see storage.Store and
// storage.GCRA. The row is locked (FOR UPDATE) from read to write, so
// takers on any node never spend the same token.
func (s *Store) Allow(ctx context.Context, key string, r storage.Rate, now time.Time) (bool, time.Duration, error) {
	if r.Per <= 0 || r.Burst < 1 {
		return false, 0, fmt.Errorf("postgres: allow %s: invalid rate %v per token, burst %d", key, r.Per, r.Burst)
	}
	var (
		ok    bool
		after time.Duration
	)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		// tat 0 is a full bucket. Created first so that there is a row
		// to lock even for the first takers of a key.
		_, err := tx.Exec(ctx, `INSERT INTO rate_buckets (key, tat) VALUES ($1, 0) ON CONFLICT (key) DO NOTHING`, key)
		if err != nil {
			return err
		}
		var tat int64
		if err := tx.QueryRow(ctx, `SELECT tat FROM rate_buckets WHERE key = $1 FOR UPDATE`, key).Scan(&tat); err != nil {
			return err
		}
		var next int64
		ok, next, after = storage.GCRA(tat, now, r)
		if !ok {
			return nil
		}
		_, err = tx.Exec(ctx, `UPDATE rate_buckets SET tat = $2 WHERE key = $1`, key, next)
		return err
	})
	if err != nil {
		return false, 0, fmt.Errorf("postgres: allow %s: %w", key, err)
	}
	return ok, after, nil
}
