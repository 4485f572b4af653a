package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"mmsprofile/storage"
)

// DueOutbox returns up to limit pending items whose next attempt is at or
// before now, oldest first so one account's updates go out in order.
func (s *Store) DueOutbox(ctx context.Context, now time.Time, limit int) ([]storage.OutboxItem, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT o.id, o.update_id, o.jid, o.kind, o.attempts, o.created,
			a.id, a.type, a.width, a.height, a.data
		FROM outbox o
		JOIN updates u ON u.id = o.update_id
		LEFT JOIN avatars a ON a.id = u.avatar_id
		WHERE o.failed_at IS NULL AND o.next_attempt <= ?
		ORDER BY o.id
		LIMIT ?`, formatTime(now), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: due outbox: %w", err)
	}
	defer rows.Close()
	var items []storage.OutboxItem
	for rows.Next() {
		var (
			it              storage.OutboxItem
			created         string
			aID, aType      sql.NullString
			aWidth, aHeight sql.NullInt64
			aData           []byte
		)
		err := rows.Scan(&it.ID, &it.UpdateID, &it.JID, &it.Kind, &it.Attempts, &created,
			&aID, &aType, &aWidth, &aHeight, &aData)
		if err != nil {
			return nil, fmt.Errorf("sqlite: due outbox: %w", err)
		}
		if it.Created, err = parseTime(created); err != nil {
			return nil, fmt.Errorf("sqlite: due outbox: %w", err)
		}
		if aID.Valid {
			it.Avatar = &storage.Avatar{
				ID: aID.String, Type: aType.String,
				Width: int(aWidth.Int64), Height: int(aHeight.Int64),
				Data: aData,
			}
		}
		items = append(items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: due outbox: %w", err)
	}
	return items, nil
}

// OutboxDone removes item id, pending or failed.
func (s *Store) OutboxDone(ctx context.Context, id int64) error {
	if err := s.execOne(ctx, `DELETE FROM outbox WHERE id = ?`, id); err != nil {
		return fmt.Errorf("sqlite: outbox %d done: %w", id, err)
	}
	return nil
}

// OutboxRetry counts a failed attempt on pending item id and sets when to
// try again.
func (s *Store) OutboxRetry(ctx context.Context, id int64, next time.Time, reason string) error {
	err := s.execOne(ctx, `UPDATE outbox SET attempts = attempts + 1, next_attempt = ?, last_error = ?
		WHERE id = ? AND failed_at IS NULL`, formatTime(next), reason, id)
	if err != nil {
		return fmt.Errorf("sqlite: outbox %d retry: %w", id, err)
	}
	return nil
}

// OutboxFail gives up on pending item id; the row stays with its reason
// for an operator to see.
func (s *Store) OutboxFail(ctx context.Context, id int64, reason string) error {
	err := s.execOne(ctx, `UPDATE outbox SET attempts = attempts + 1, last_error = ?, failed_at = ?
		WHERE id = ? AND failed_at IS NULL`, reason, formatTime(time.Now()), id)
	if err != nil {
		return fmt.Errorf("sqlite: outbox %d fail: %w", id, err)
	}
	return nil
}

// OutboxError returns the last error recorded on item id and whether it was
// given up on (storetest.Inspector).
func (s *Store) OutboxError(ctx context.Context, id int64) (reason string, failed bool, err error) {
	var failedAt sql.NullString
	err = s.read.QueryRowContext(ctx, `SELECT last_error, failed_at FROM outbox WHERE id = ?`, id).
		Scan(&reason, &failedAt)
	if errors.Is(err, sql.ErrNoRows) {
		err = storage.ErrNotFound
	}
	if err != nil {
		return "", false, fmt.Errorf("sqlite: outbox %d error: %w", id, err)
	}
	return reason, failedAt.Valid, nil
}

// execOne runs a write that must touch exactly one row; none is
// storage.ErrNotFound.
func (s *Store) execOne(ctx context.Context, query string, args ...any) error {
	res, err := s.write.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return storage.ErrNotFound
	}
	return nil
}
