package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Prune drops what is older than before; see storage.Store. Updates still
// referenced by an outbox item stay (their item is pending, or finished
// after before), and a picture goes only when no update, profile or item
// refers to it: a current avatar or one a pending item needs is never
// lost. A rendition goes when no avatar kept has it. Full rate buckets go
// too: they mean the same as no row.
func (s *Store) Prune(ctx context.Context, before time.Time) (int, error) {
	now := time.Now()
	steps := []struct {
		query string
		args  []any
	}{
		{`DELETE FROM inbound WHERE received < $1`, []any{before}},
		{`DELETE FROM outbox WHERE state <> 'pending' AND finished < $1`, []any{before}},
		{`DELETE FROM updates WHERE received < $1
			AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.update_id = updates.id)`, []any{before}},
		{`DELETE FROM pending_links WHERE expires < $1`, []any{now}},
		// A commit reusing a picture deleted here at the same moment fails
		// its foreign key check and returns an error (the transport says
		// "retry later", and the retry stores the picture again): rare
		// enough not to lock for.
		{`DELETE FROM avatars WHERE
			NOT EXISTS (SELECT 1 FROM profiles p WHERE p.avatar_id = avatars.id)
			AND NOT EXISTS (SELECT 1 FROM updates u WHERE u.avatar_id = avatars.id)
			AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.avatar_id = avatars.id)`, nil},
		// Their avatar_renditions rows went with them (ON DELETE CASCADE).
		// A rendition a commit links at this very moment makes one of the
		// two fail its foreign key check, and be retried, as above.
		{`DELETE FROM renditions WHERE
			NOT EXISTS (SELECT 1 FROM avatar_renditions ar WHERE ar.rendition_id = renditions.id)`, nil},
		{`DELETE FROM rate_buckets WHERE tat < $1`, []any{now.UnixNano()}},
	}
	var total int
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		total = 0
		for _, st := range steps {
			tag, err := tx.Exec(ctx, st.query, st.args...)
			if err != nil {
				return err
			}
			total += int(tag.RowsAffected())
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("postgres: prune before %s: %w", before.Format(time.RFC3339), err)
	}
	return total, nil
}
