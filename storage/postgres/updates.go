package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"mmsprofile/storage"
)

// CommitUpdate stores u, the account's profile and u's entries in one
// transaction; see storage.Store.
func (s *Store) CommitUpdate(ctx context.Context, u storage.Update) (int64, error) {
	entries, err := storage.UpdateEntries(u)
	if err != nil {
		return 0, fmt.Errorf("postgres: commit update %s/%s: %w", u.Source, u.Key, err)
	}
	if u.Limit != nil {
		if err := u.Limit.Rate.Valid(); err != nil {
			return 0, fmt.Errorf("postgres: commit update %s/%s: limit %s: %w", u.Source, u.Key, u.Limit.Key, err)
		}
	}
	now := time.Now()
	received := u.Received
	if received.IsZero() {
		received = now
	}
	var avatarID *string
	if u.Avatar != nil {
		avatarID = &u.Avatar.ID
	}

	var id int64
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		// Two round trips, not one per statement: what decides whether
		// the delivery goes on, then everything it writes.
		//
		// The UNIQUE (source, key) index decides between concurrent
		// deliveries, on this node or another: the second waits for the
		// first to commit and then inserts nothing. So this comes first,
		// and a duplicate's transaction is rolled back with nothing
		// written. Then the account locks, then the bucket, so that
		// commits lock in one order: the delivery's key, its accounts,
		// its bucket.
		first := &pgx.Batch{}
		first.Queue(`INSERT INTO updates
			(source, key, jid, number, avatar_id, status, nick, received, committed)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (source, key) DO NOTHING RETURNING id`,
			u.Source, u.Key, u.JID, u.Number, avatarID, u.Status, u.Nick, received, now)
		locks := queueAccountLocks(first, u.JID, entries)
		if u.Limit != nil {
			queueBucketRead(first, u.Limit.Key)
		}
		br := tx.SendBatch(ctx, first)
		err := br.QueryRow().Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			err = storage.ErrDuplicate
		}
		if err == nil && locks {
			_, err = br.Exec()
		}
		var tat int64
		if err == nil && u.Limit != nil {
			tat, err = readBucket(br)
		}
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}

		rest := &pgx.Batch{}
		if l := u.Limit; l != nil {
			ok, next, retry := storage.GCRA(tat, l.At, l.Rate)
			if !ok {
				return &storage.LimitError{Key: l.Key, Retry: retry}
			}
			rest.Queue(bucketWrite, l.Key, next)
		}
		if u.Inbound != nil {
			queueInbound(rest, *u.Inbound)
		}
		if a := u.Avatar; a != nil {
			rest.Queue(`INSERT INTO avatars (id, type, width, height, data)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING`,
				a.ID, a.Type, a.Width, a.Height, a.Data)
			queueRenditions(rest, a)
		}
		// A field the MMS did not carry keeps its previous value.
		rest.Queue(`INSERT INTO profiles (jid, avatar_id, status, nick, updated)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (jid) DO UPDATE SET
				avatar_id = coalesce(excluded.avatar_id, profiles.avatar_id),
				status = CASE WHEN excluded.status = '' THEN profiles.status ELSE excluded.status END,
				nick = CASE WHEN excluded.nick = '' THEN profiles.nick ELSE excluded.nick END,
				updated = excluded.updated`,
			u.JID, avatarID, u.Status, u.Nick, now)
		queueEntries(rest, id, avatarID, entries, now)
		return sendAll(ctx, tx, rest)
	})
	if errors.Is(err, storage.ErrDuplicate) {
		// Read after the rollback: the winner has committed by now (we
		// waited for it on the unique index).
		if qerr := s.pool.QueryRow(ctx, `SELECT id FROM updates WHERE source = $1 AND key = $2`,
			u.Source, u.Key).Scan(&id); qerr != nil {
			return 0, fmt.Errorf("postgres: commit update %s/%s: duplicate, reading its id: %w", u.Source, u.Key, qerr)
		}
		return id, fmt.Errorf("postgres: commit update %s/%s: %w", u.Source, u.Key, err)
	}
	if err != nil {
		return 0, fmt.Errorf("postgres: commit update %s/%s: %w", u.Source, u.Key, err)
	}
	if len(entries) > 0 {
		s.wakers.Wake()
	}
	return id, nil
}

// lockAccounts takes a transaction advisory lock per account the commit
// changes (the update's and every coalescing entry's), in one order so two
// commits cannot deadlock. One account's commits then run one after the
// other: the later one sees the earlier one's pending items to replace,
// and gets the higher outbox ids, so DueOutbox order is commit order.
func lockAccounts(ctx context.Context, tx pgx.Tx, jid string, entries []storage.Entry) error {
	b := &pgx.Batch{}
	if !queueAccountLocks(b, jid, entries) {
		return nil
	}
	return sendAll(ctx, tx, b)
}

// queueAccountLocks queues lockAccounts' statement, and reports whether
// there was anything to lock.
func queueAccountLocks(b *pgx.Batch, jid string, entries []storage.Entry) bool {
	var jids []string
	if jid != "" {
		jids = append(jids, jid)
	}
	for _, e := range entries {
		if e.Coalesce {
			jids = append(jids, e.JID)
		}
	}
	slices.Sort(jids)
	jids = slices.Compact(jids)
	if len(jids) == 0 {
		return false
	}
	// Hash collisions only make two accounts wait for each other.
	b.Queue(`SELECT pg_advisory_xact_lock($1, hashtext(j))
		FROM unnest($2::text[]) WITH ORDINALITY AS t(j, n) ORDER BY n`, accountLock, jids)
	return true
}

// Enqueue commits entries that belong to no update. A KindAvatar entry
// carries the account's current avatar.
func (s *Store) Enqueue(ctx context.Context, entries ...storage.Entry) error {
	if len(entries) == 0 {
		return nil
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := lockAccounts(ctx, tx, "", entries); err != nil {
			return err
		}
		now := time.Now()
		for _, e := range entries {
			var avatarID *string
			if e.Kind == storage.KindAvatar {
				err := tx.QueryRow(ctx, `SELECT avatar_id FROM profiles WHERE jid = $1`, e.JID).Scan(&avatarID)
				if err != nil && !errors.Is(err, pgx.ErrNoRows) {
					return err
				}
				if avatarID == nil {
					return fmt.Errorf("avatar entry for %s: no current avatar: %w", e.JID, storage.ErrNotFound)
				}
			}
			if err := insertEntries(ctx, tx, 0, avatarID, []storage.Entry{e}, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: enqueue %d entries: %w", len(entries), err)
	}
	s.wakers.Wake()
	return nil
}

// insertEntries adds entries to the outbox and notifies listeners at
// commit. A coalescing entry marks the items of its JID and kind still
// pending as replaced by itself, so they are never published and their
// updates take its fate.
func insertEntries(ctx context.Context, tx pgx.Tx, updateID int64, avatarID *string, entries []storage.Entry, now time.Time) error {
	b := &pgx.Batch{}
	queueEntries(b, updateID, avatarID, entries, now)
	return sendAll(ctx, tx, b)
}

// queueEntries queues insertEntries' statements. A coalescing entry is
// one statement: the items it replaces are those pending before it (the
// UPDATE does not see the row its own INSERT adds), so an entry coalesces
// with the earlier entries of the same batch, which are statements of
// their own.
func queueEntries(b *pgx.Batch, updateID int64, avatarID *string, entries []storage.Entry, now time.Time) {
	var upd *int64
	if updateID != 0 {
		upd = &updateID
	}
	const insert = `INSERT INTO outbox
		(update_id, jid, kind, payload, avatar_id, next_attempt, created)
		VALUES ($1, $2, $3, $4, $5, $6, $6)`
	for _, e := range entries {
		var av *string
		if e.Kind == storage.KindAvatar {
			av = avatarID
		}
		if !e.Coalesce {
			b.Queue(insert, upd, e.JID, e.Kind, e.Payload, av, now)
			continue
		}
		b.Queue(`WITH item AS (`+insert+` RETURNING id)
			UPDATE outbox SET state = 'replaced', replaced_by = item.id, finished = $6
			FROM item
			WHERE outbox.jid = $2 AND outbox.kind = $3 AND outbox.state = 'pending' AND outbox.id <> item.id`,
			upd, e.JID, e.Kind, e.Payload, av, now)
	}
	if len(entries) > 0 {
		// Delivered at commit, and only then; several in one
		// transaction are folded into one.
		b.Queue(`SELECT pg_notify($1, '')`, notifyChannel)
	}
}

// batcher is what both the pool and a transaction can send a batch to.
type batcher interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// sendAll runs b's statements in one round trip and returns the first
// error; the server skips the rest after it.
func sendAll(ctx context.Context, db batcher, b *pgx.Batch) error {
	br := db.SendBatch(ctx, b)
	var err error
	for range b.Len() {
		if _, err = br.Exec(); err != nil {
			break
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return err
}

// CurrentAvatar returns the last avatar committed for jid, or
// storage.ErrNotFound.
func (s *Store) CurrentAvatar(ctx context.Context, jid string) (storage.Avatar, error) {
	var (
		a          storage.Avatar
		renditions *string
	)
	err := s.pool.QueryRow(ctx, `SELECT a.id, a.type, a.width, a.height, a.data, `+renditionsColumn+`
		FROM profiles p JOIN avatars a ON a.id = p.avatar_id WHERE p.jid = $1`, jid).
		Scan(&a.ID, &a.Type, &a.Width, &a.Height, &a.Data, &renditions)
	if err == nil {
		a.Renditions, err = decodeRenditions(renditions)
	}
	if err != nil {
		return storage.Avatar{}, fmt.Errorf("postgres: current avatar of %s: %w", jid, notFound(err))
	}
	return a, nil
}

// Profile returns jid's current profile, or storage.ErrNotFound.
func (s *Store) Current(ctx context.Context, jid string) (storage.Current, error) {
	p := storage.Current{JID: jid}
	var avatarID *string
	err := s.pool.QueryRow(ctx, `SELECT avatar_id, status, nick, updated FROM profiles WHERE jid = $1`, jid).
		Scan(&avatarID, &p.Status, &p.Nick, &p.Updated)
	if err != nil {
		return storage.Current{}, fmt.Errorf("postgres: profile of %s: %w", jid, notFound(err))
	}
	if avatarID != nil {
		p.AvatarID = *avatarID
	}
	return p, nil
}

// RecentUpdates returns jid's newest updates first, each with the fate of
// its outbox items: failed if any failed, else pending if any is, else
// published.
func (s *Store) RecentUpdates(ctx context.Context, jid string, limit int) ([]storage.UpdateRecord, error) {
	var recs []storage.UpdateRecord
	// One snapshot, so the updates and their items agree.
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		recs, err = collect(ctx, tx, func(r pgx.Row) (storage.UpdateRecord, error) {
			var u storage.UpdateRecord
			return u, r.Scan(&u.ID, &u.Source, &u.Number, &u.AvatarID, &u.Status, &u.Nick, &u.Received)
		}, `SELECT id, source, number, coalesce(avatar_id, ''), status, nick, received
			FROM updates WHERE jid = $1 ORDER BY id DESC LIMIT $2`, jid, limit)
		if err != nil || len(recs) == 0 {
			return err
		}
		// Each item, followed through the items that replaced it: a
		// coalesced avatar shares the fate of the newer one published
		// instead.
		type itemState struct {
			update        int64
			state, reason string
		}
		states, err := collect(ctx, tx, func(r pgx.Row) (itemState, error) {
			var st itemState
			return st, r.Scan(&st.update, &st.state, &st.reason)
		}, `WITH RECURSIVE chain (update_id, state, last_error, replaced_by, depth) AS (
				SELECT update_id, state, last_error, replaced_by, 0 FROM outbox
				WHERE update_id IN (SELECT id FROM updates WHERE jid = $1 AND id >= $2)
				UNION ALL
				SELECT c.update_id, o.state, o.last_error, o.replaced_by, c.depth + 1
				FROM chain c JOIN outbox o ON o.id = c.replaced_by
				WHERE c.state = 'replaced' AND c.depth < 1000
			)
			SELECT update_id, state, last_error FROM chain WHERE state <> 'replaced'`,
			jid, recs[len(recs)-1].ID)
		if err != nil {
			return err
		}
		byUpdate := map[int64]*storage.UpdateRecord{}
		for i := range recs {
			recs[i].State = storage.StatePublished
			byUpdate[recs[i].ID] = &recs[i]
		}
		for _, st := range states {
			r := byUpdate[st.update]
			switch {
			case r == nil || r.State == storage.StateFailed:
			case st.state == "failed":
				// A failure outweighs everything: the owner must hear of it.
				r.State, r.Reason = storage.StateFailed, st.reason
			case st.state == "pending":
				r.State = storage.StatePending
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: recent updates of %s: %w", jid, err)
	}
	return recs, nil
}

// LogInbound records one received message and its outcome.
func (s *Store) LogInbound(ctx context.Context, in storage.Inbound) error {
	if err := logInbound(ctx, s.pool, in); err != nil {
		return fmt.Errorf("postgres: log inbound %s/%s: %w", in.Source, in.Key, err)
	}
	return nil
}

func logInbound(ctx context.Context, db batcher, in storage.Inbound) error {
	b := &pgx.Batch{}
	queueInbound(b, in)
	return sendAll(ctx, db, b)
}

func queueInbound(b *pgx.Batch, in storage.Inbound) {
	if in.Received.IsZero() {
		in.Received = time.Now()
	}
	b.Queue(`INSERT INTO inbound (source, key, sender, jid, outcome, reason, received)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		in.Source, in.Key, in.Sender, in.JID, in.Outcome, in.Reason, in.Received)
}
