package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"mmsprofile/storage"
)

const itemColumns = `o.id, coalesce(o.update_id, 0), o.jid, o.kind, o.payload, o.attempts, o.last_error,
	o.created, o.next_attempt, o.state, o.finished, a.id, a.type, a.width, a.height, a.data, u.received,
	` + renditionsColumn

func scanItem(r pgx.Row) (storage.OutboxItem, error) {
	var (
		it              storage.OutboxItem
		state           string
		finished        *time.Time
		aID, aType      *string
		aWidth, aHeight *int
		aData           []byte
		received        *time.Time
		renditions      *string
	)
	err := r.Scan(&it.ID, &it.UpdateID, &it.JID, &it.Kind, &it.Payload, &it.Attempts, &it.LastError,
		&it.Created, &it.NextAttempt, &state, &finished, &aID, &aType, &aWidth, &aHeight, &aData, &received, &renditions)
	if err != nil {
		return it, err
	}
	if received != nil {
		it.Received = *received
	}
	// Only a failure's time is part of the item; done and replaced items
	// are never handed out.
	if state == "failed" && finished != nil {
		it.FailedAt = *finished
	}
	if aID != nil {
		it.Avatar = &storage.Avatar{ID: *aID, Type: *aType, Width: *aWidth, Height: *aHeight, Data: aData}
		if it.Avatar.Renditions, err = decodeRenditions(renditions); err != nil {
			return it, err
		}
	}
	return it, nil
}

// DueOutbox returns up to limit pending items whose next attempt is at or
// before now, oldest first so one account's updates go out in order.
func (s *Store) DueOutbox(ctx context.Context, now time.Time, limit int) ([]storage.OutboxItem, error) {
	items, err := collect(ctx, s.pool, scanItem, `SELECT `+itemColumns+`
		FROM outbox o LEFT JOIN avatars a ON a.id = o.avatar_id LEFT JOIN updates u ON u.id = o.update_id
		WHERE o.state = 'pending' AND o.next_attempt <= $1
		ORDER BY o.id
		LIMIT $2`, now, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: due outbox: %w", err)
	}
	return items, nil
}

// FailedOutbox lists the items given up on, newest first.
func (s *Store) FailedOutbox(ctx context.Context, limit int) ([]storage.OutboxItem, error) {
	items, err := collect(ctx, s.pool, scanItem, `SELECT `+itemColumns+`
		FROM outbox o LEFT JOIN avatars a ON a.id = o.avatar_id LEFT JOIN updates u ON u.id = o.update_id
		WHERE o.state = 'failed'
		ORDER BY o.finished DESC, o.id DESC
		LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: failed outbox: %w", err)
	}
	return items, nil
}

// OutboxStats counts pending and failed items.
func (s *Store) OutboxStats(ctx context.Context) (storage.OutboxStats, error) {
	var (
		st     storage.OutboxStats
		oldest *time.Time
	)
	err := s.pool.QueryRow(ctx, `SELECT
			count(*) FILTER (WHERE state = 'pending'),
			count(*) FILTER (WHERE state = 'failed'),
			min(created) FILTER (WHERE state = 'pending')
		FROM outbox WHERE state IN ('pending', 'failed')`).Scan(&st.Pending, &st.Failed, &oldest)
	if err != nil {
		return storage.OutboxStats{}, fmt.Errorf("postgres: outbox stats: %w", err)
	}
	if oldest != nil {
		st.Oldest = *oldest
	}
	return st, nil
}

// OutboxDone marks pending item id published. It stays, finished, until
// Prune, so RecentUpdates can tell what became of its update.
func (s *Store) OutboxDone(ctx context.Context, id int64) error {
	err := s.execOne(ctx, `UPDATE outbox SET state = 'done', finished = $1
		WHERE id = $2 AND state = 'pending'`, time.Now(), id)
	if err != nil {
		return fmt.Errorf("postgres: outbox %d done: %w", id, err)
	}
	return nil
}

// OutboxRetry counts a failed attempt on pending item id and sets when to
// try again.
func (s *Store) OutboxRetry(ctx context.Context, id int64, next time.Time, reason string) error {
	err := s.execOne(ctx, `UPDATE outbox SET attempts = attempts + 1, next_attempt = $1, last_error = $2
		WHERE id = $3 AND state = 'pending'`, next, reason, id)
	if err != nil {
		return fmt.Errorf("postgres: outbox %d retry: %w", id, err)
	}
	return nil
}

// OutboxFail gives up on pending item id; the row stays with its reason
// for an operator to see.
func (s *Store) OutboxFail(ctx context.Context, id int64, reason string) error {
	err := s.execOne(ctx, `UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = $1, finished = $2
		WHERE id = $3 AND state = 'pending'`, reason, time.Now(), id)
	if err != nil {
		return fmt.Errorf("postgres: outbox %d fail: %w", id, err)
	}
	return nil
}
