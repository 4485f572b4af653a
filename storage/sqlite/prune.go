package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Prune drops what is older than before; see storage.Store. Updates still
// referenced by an outbox item stay (their item is pending, or finished
// after before), and a picture goes only when no update, profile or item
// refers to it: a current avatar or one a pending item needs is never
// lost. A rendition goes when no avatar kept has it. Full rate buckets go
// too: they mean the same as no row.
func (s *Store) Prune(ctx context.Context, before time.Time) (int, error) {
	b, now := formatTime(before), time.Now()
	steps := []struct {
		query string
		args  []any
	}{
		{`DELETE FROM inbound WHERE received < ?`, []any{b}},
		{`DELETE FROM outbox WHERE state <> 'pending' AND finished < ?`, []any{b}},
		{`DELETE FROM updates WHERE received < ?
			AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.update_id = updates.id)`, []any{b}},
		{`DELETE FROM pending_links WHERE expires < ?`, []any{formatTime(now)}},
		{`DELETE FROM avatars WHERE
			NOT EXISTS (SELECT 1 FROM profiles p WHERE p.avatar_id = avatars.id)
			AND NOT EXISTS (SELECT 1 FROM updates u WHERE u.avatar_id = avatars.id)
			AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.avatar_id = avatars.id)`, nil},
		// Their avatar_renditions rows went with them (ON DELETE CASCADE).
		{`DELETE FROM renditions WHERE
			NOT EXISTS (SELECT 1 FROM avatar_renditions ar WHERE ar.rendition_id = renditions.id)`, nil},
		{`DELETE FROM rate_buckets WHERE tat < ?`, []any{now.UnixNano()}},
	}
	var total int
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		total = 0
		for _, st := range steps {
			res, err := tx.ExecContext(ctx, st.query, st.args...)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			total += int(n)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune before %s: %w", b, err)
	}
	return total, nil
}
