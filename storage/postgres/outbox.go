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

// DueOutbox returns pending items due at now, account by account, within
// lim (see storage.Outbox).
//
// The accounts come from the oldest lim.Accounts due items only, and each
// account's items from its own index range, so a pass costs the same
// whatever the size of the backlog. An account's items stop at its oldest
// item waiting for a retry (waiting: few rows, through outbox_due), so
// that they go out in order: a newer status published before an older
// one's retry would be overwritten by it. Replies to phones without an
// account have no order among themselves and do not wait for each other.
func (s *Store) DueOutbox(ctx context.Context, now time.Time, lim storage.DueLimits) ([]storage.OutboxItem, error) {
	items, err := collect(ctx, s.pool, scanItem, `WITH oldest AS (
			SELECT id, jid FROM outbox
			WHERE state = 'pending' AND next_attempt <= $1
			ORDER BY id LIMIT $4),
		waiting AS (
			SELECT jid, min(id) AS first FROM outbox
			WHERE state = 'pending' AND next_attempt > $1 GROUP BY jid),
		accounts AS (
			SELECT o.jid, min(o.id) AS first, min(w.first) AS until
			FROM oldest o LEFT JOIN waiting w ON w.jid = o.jid GROUP BY o.jid),
		chosen AS (
			SELECT acc.first, p.id FROM accounts acc CROSS JOIN LATERAL (
				SELECT id FROM outbox
				WHERE jid = acc.jid AND state = 'pending' AND next_attempt <= $1
					AND (acc.until IS NULL OR id < acc.until OR acc.jid = '')
				ORDER BY id LIMIT $3) p
			ORDER BY acc.first, p.id LIMIT $2)
		SELECT `+itemColumns+`
		FROM chosen c JOIN outbox o ON o.id = c.id
		LEFT JOIN avatars a ON a.id = o.avatar_id LEFT JOIN updates u ON u.id = o.update_id
		ORDER BY c.first, c.id`, now, lim.Items, lim.PerAccount, lim.Accounts)
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
	// The oldest pending item is the one with the lowest id: ids follow
	// commit order, and an index walks the pending ones in it.
	err := s.pool.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM outbox WHERE state = 'pending'),
			(SELECT count(*) FROM outbox WHERE state = 'failed'),
			(SELECT created FROM outbox WHERE state = 'pending' ORDER BY id LIMIT 1)`).Scan(&st.Pending, &st.Failed, &oldest)
	if err != nil {
		return storage.OutboxStats{}, fmt.Errorf("postgres: outbox stats: %w", err)
	}
	if oldest != nil {
		st.Oldest = *oldest
	}
	return st, nil
}

// OutboxDone marks the pending items ids published, in one transaction:
// a backlog's merged items are one write, not one commit each. They stay,
// finished, until Prune, so RecentUpdates can tell what became of their
// update.
func (s *Store) OutboxDone(ctx context.Context, ids ...int64) error {
	tag, err := s.pool.Exec(ctx, `UPDATE outbox SET state = 'done', finished = $1
		WHERE id = ANY($2) AND state = 'pending'`, time.Now(), ids)
	if err != nil {
		return fmt.Errorf("postgres: outbox %v done: %w", ids, err)
	}
	if n := tag.RowsAffected(); n < int64(len(ids)) {
		return fmt.Errorf("postgres: outbox %v done: %d of them not pending: %w", ids, int64(len(ids))-n, storage.ErrNotFound)
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
