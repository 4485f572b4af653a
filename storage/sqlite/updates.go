package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"mmsprofile/storage"
)

// CommitUpdate stores u, the account's profile and u's entries in one
// transaction; see storage.Store.
func (s *Store) CommitUpdate(ctx context.Context, u storage.Update) (int64, error) {
	entries, err := storage.UpdateEntries(u)
	if err != nil {
		return 0, fmt.Errorf("sqlite: commit update %s/%s: %w", u.Source, u.Key, err)
	}
	if u.Limit != nil {
		if err := u.Limit.Rate.Valid(); err != nil {
			return 0, fmt.Errorf("sqlite: commit update %s/%s: limit %s: %w", u.Source, u.Key, u.Limit.Key, err)
		}
	}
	now := time.Now()
	received := u.Received
	if received.IsZero() {
		received = now
	}

	var id int64
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		// Looked up first, inside the IMMEDIATE transaction: nobody can
		// commit the same delivery between this check and the insert.
		err := tx.QueryRowContext(ctx, `SELECT id FROM updates WHERE source = ? AND key = ?`,
			u.Source, u.Key).Scan(&id)
		if err == nil {
			return storage.ErrDuplicate
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if l := u.Limit; l != nil {
			ok, retry, err := take(ctx, tx, l.Key, l.Rate, l.At)
			if err != nil {
				return err
			}
			if !ok {
				return &storage.LimitError{Key: l.Key, Retry: retry}
			}
		}

		var avatarID sql.NullString
		if a := u.Avatar; a != nil {
			avatarID = sql.NullString{String: a.ID, Valid: true}
			_, err := tx.ExecContext(ctx, `INSERT INTO avatars (id, type, width, height, data)
				VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
				a.ID, a.Type, a.Width, a.Height, a.Data)
			if err != nil {
				return err
			}
			if err := putRenditions(ctx, tx, a); err != nil {
				return err
			}
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO updates
			(source, key, jid, number, avatar_id, status, nick, received, committed)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			u.Source, u.Key, u.JID, u.Number, avatarID, u.Status, u.Nick,
			formatTime(received), formatTime(now)).Scan(&id)
		if err != nil {
			return err
		}
		// A field the MMS did not carry keeps its previous value.
		_, err = tx.ExecContext(ctx, `INSERT INTO profiles (jid, avatar_id, status, nick, updated)
			VALUES (?1, ?2, ?3, ?4, ?5)
			ON CONFLICT (jid) DO UPDATE SET
				avatar_id = coalesce(?2, avatar_id),
				status = CASE WHEN ?3 = '' THEN status ELSE ?3 END,
				nick = CASE WHEN ?4 = '' THEN nick ELSE ?4 END,
				updated = ?5`,
			u.JID, avatarID, u.Status, u.Nick, formatTime(now))
		if err != nil {
			return err
		}
		if u.Inbound != nil {
			if err := logInbound(ctx, tx, *u.Inbound); err != nil {
				return err
			}
		}
		return insertEntries(ctx, tx, id, avatarID, entries, now)
	})
	if err != nil {
		// A duplicate still reports the id of the first delivery.
		if !errors.Is(err, storage.ErrDuplicate) {
			id = 0
		}
		return id, fmt.Errorf("sqlite: commit update %s/%s: %w", u.Source, u.Key, err)
	}
	s.wakers.Wake()
	return id, nil
}

// Enqueue commits entries that belong to no update. A KindAvatar entry
// carries the account's current avatar.
func (s *Store) Enqueue(ctx context.Context, entries ...storage.Entry) error {
	if len(entries) == 0 {
		return nil
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		now := time.Now()
		for _, e := range entries {
			var avatarID sql.NullString
			if e.Kind == storage.KindAvatar {
				err := tx.QueryRowContext(ctx, `SELECT avatar_id FROM profiles WHERE jid = ?`, e.JID).Scan(&avatarID)
				if err != nil || !avatarID.Valid {
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
		return fmt.Errorf("sqlite: enqueue %d entries: %w", len(entries), err)
	}
	s.wakers.Wake()
	return nil
}

// insertEntries adds entries to the outbox. A coalescing entry marks the
// items of its JID and kind still pending as replaced by itself, so they
// are never published and their updates take its fate.
func insertEntries(ctx context.Context, tx *sql.Tx, updateID int64, avatarID sql.NullString, entries []storage.Entry, now time.Time) error {
	upd := sql.NullInt64{Int64: updateID, Valid: updateID != 0}
	for _, e := range entries {
		av := sql.NullString{}
		if e.Kind == storage.KindAvatar {
			av = avatarID
		}
		var id int64
		err := tx.QueryRowContext(ctx, `INSERT INTO outbox
			(update_id, jid, kind, payload, avatar_id, next_attempt, created)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			upd, e.JID, e.Kind, e.Payload, av, formatTime(now), formatTime(now)).Scan(&id)
		if err != nil {
			return err
		}
		if !e.Coalesce {
			continue
		}
		_, err = tx.ExecContext(ctx, `UPDATE outbox SET state = 'replaced', replaced_by = ?, finished = ?
			WHERE jid = ? AND kind = ? AND state = 'pending' AND id <> ?`,
			id, formatTime(now), e.JID, e.Kind, id)
		if err != nil {
			return err
		}
	}
	return nil
}

// CurrentAvatar returns the last avatar committed for jid, or
// storage.ErrNotFound.
func (s *Store) CurrentAvatar(ctx context.Context, jid string) (storage.Avatar, error) {
	var (
		a          storage.Avatar
		renditions sql.NullString
	)
	err := s.read.QueryRowContext(ctx, `SELECT a.id, a.type, a.width, a.height, a.data, `+renditionsColumn+`
		FROM profiles p JOIN avatars a ON a.id = p.avatar_id WHERE p.jid = ?`, jid).
		Scan(&a.ID, &a.Type, &a.Width, &a.Height, &a.Data, &renditions)
	if err == nil {
		a.Renditions, err = decodeRenditions(renditions)
	}
	if err != nil {
		return storage.Avatar{}, fmt.Errorf("sqlite: current avatar of %s: %w", jid, notFound(err))
	}
	return a, nil
}

// Profile returns jid's current profile, or storage.ErrNotFound.
func (s *Store) Current(ctx context.Context, jid string) (storage.Current, error) {
	var (
		p        = storage.Current{JID: jid}
		avatarID sql.NullString
		updated  string
	)
	err := s.read.QueryRowContext(ctx, `SELECT avatar_id, status, nick, updated FROM profiles WHERE jid = ?`, jid).
		Scan(&avatarID, &p.Status, &p.Nick, &updated)
	if err == nil {
		p.AvatarID = avatarID.String
		p.Updated, err = parseTime(updated)
	}
	if err != nil {
		return storage.Current{}, fmt.Errorf("sqlite: profile of %s: %w", jid, notFound(err))
	}
	return p, nil
}

// RecentUpdates returns jid's newest updates first, each with the fate of
// its outbox items; failed if any failed, else pending if any is, else published.
func (s *Store) RecentUpdates(ctx context.Context, jid string, limit int) ([]storage.UpdateRecord, error) {
	// One read transaction, so the updates and their items agree.
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("sqlite: recent updates of %s: %w", jid, err)
	}
	defer rollback(tx)
	rows, err := tx.QueryContext(ctx, `SELECT id, source, number, coalesce(avatar_id, ''), status, nick, received
		FROM updates WHERE jid = ? ORDER BY id DESC LIMIT ?`, jid, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: recent updates of %s: %w", jid, err)
	}
	recs, err := collect(rows, func(r scanner) (storage.UpdateRecord, error) {
		var (
			u        storage.UpdateRecord
			received string
		)
		err := r.Scan(&u.ID, &u.Source, &u.Number, &u.AvatarID, &u.Status, &u.Nick, &received)
		if err != nil {
			return u, err
		}
		u.Received, err = parseTime(received)
		return u, err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: recent updates of %s: %w", jid, err)
	}
	if len(recs) == 0 {
		return recs, nil
	}
	// Each item, followed through the items that replaced it: a coalesced
	// avatar shares the fate of the newer one that was published instead.
	rows, err = tx.QueryContext(ctx, `WITH RECURSIVE chain (update_id, state, last_error, replaced_by, depth) AS (
			SELECT update_id, state, last_error, replaced_by, 0 FROM outbox
			WHERE update_id IN (SELECT id FROM updates WHERE jid = ? AND id >= ?)
			UNION ALL
			SELECT c.update_id, o.state, o.last_error, o.replaced_by, c.depth + 1
			FROM chain c JOIN outbox o ON o.id = c.replaced_by
			WHERE c.state = 'replaced' AND c.depth < 1000
		)
		SELECT update_id, state, last_error FROM chain WHERE state <> 'replaced'`,
		jid, recs[len(recs)-1].ID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: recent updates of %s: %w", jid, err)
	}
	type itemState struct {
		update        int64
		state, reason string
	}
	states, err := collect(rows, func(r scanner) (itemState, error) {
		var st itemState
		return st, r.Scan(&st.update, &st.state, &st.reason)
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: recent updates of %s: %w", jid, err)
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
	return recs, nil
}

// LogInbound records one received message and its outcome.
func (s *Store) LogInbound(ctx context.Context, in storage.Inbound) error {
	if err := logInbound(ctx, s.write, in); err != nil {
		return fmt.Errorf("sqlite: log inbound %s/%s: %w", in.Source, in.Key, err)
	}
	return nil
}

// execer is what both the writer pool and a write transaction can run.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func logInbound(ctx context.Context, db execer, in storage.Inbound) error {
	if in.Received.IsZero() {
		in.Received = time.Now()
	}
	_, err := db.ExecContext(ctx, `INSERT INTO inbound (source, key, sender, jid, outcome, reason, received)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		in.Source, in.Key, in.Sender, in.JID, in.Outcome, in.Reason, formatTime(in.Received))
	return err
}
