package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"mmsprofile/storage"
)

// Allow takes one token from bucket key; see storage.Store and
// storage.GCRA. The row is locked (FOR UPDATE) from read to write, so
// takers on any node never spend the same token.
func (s *Store) Allow(ctx context.Context, key string, r storage.Rate, now time.Time) (bool, time.Duration, error) {
	if err := r.Valid(); err != nil {
		return false, 0, fmt.Errorf("postgres: allow %s: %w", key, err)
	}
	var (
		ok    bool
		after time.Duration
	)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		ok, after, err = take(ctx, tx, key, r, now)
		return err
	})
	if err != nil {
		return false, 0, fmt.Errorf("postgres: allow %s: %w", key, err)
	}
	return ok, after, nil
}

// Check answers what Allow would, from a plain read that locks nothing.
func (s *Store) Check(ctx context.Context, key string, r storage.Rate, now time.Time) (bool, time.Duration, error) {
	if err := r.Valid(); err != nil {
		return false, 0, fmt.Errorf("postgres: check %s: %w", key, err)
	}
	var tat int64
	err := s.pool.QueryRow(ctx, `SELECT tat FROM rate_buckets WHERE key = $1`, key).Scan(&tat)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return false, 0, fmt.Errorf("postgres: check %s: %w", key, err)
	}
	ok, _, after := storage.GCRA(tat, now, r)
	return ok, after, nil
}

// take takes one token from bucket key in tx, holding the bucket's row
// lock until tx ends. Refused, it changes nothing.
func take(ctx context.Context, tx pgx.Tx, key string, r storage.Rate, now time.Time) (bool, time.Duration, error) {
	b := &pgx.Batch{}
	queueBucketRead(b, key)
	br := tx.SendBatch(ctx, b)
	tat, err := readBucket(br)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, 0, err
	}
	ok, next, after := storage.GCRA(tat, now, r)
	if !ok {
		return false, after, nil
	}
	_, err = tx.Exec(ctx, bucketWrite, key, next)
	return err == nil, 0, err
}

// queueBucketRead reads bucket key's tat and locks its row until the
// transaction ends; readBucket takes the answer. tat 0 is a full bucket,
// created first so that there is a row to lock even for the first
// takers of a key.
func queueBucketRead(b *pgx.Batch, key string) {
	b.Queue(`INSERT INTO rate_buckets (key, tat) VALUES ($1, 0) ON CONFLICT (key) DO NOTHING`, key)
	b.Queue(`SELECT tat FROM rate_buckets WHERE key = $1 FOR UPDATE`, key)
}

func readBucket(br pgx.BatchResults) (int64, error) {
	if _, err := br.Exec(); err != nil {
		return 0, err
	}
	var tat int64
	err := br.QueryRow().Scan(&tat)
	return tat, err
}

// bucketWrite spends a token: $1 the key, $2 the new tat.
const bucketWrite = `UPDATE rate_buckets SET tat = $2 WHERE key = $1`
