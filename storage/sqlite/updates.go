package sqlite

import (
	"context"
	"crypto/sha1"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"mmsprofile/storage"
)

// CommitUpdate stores u, the account's current avatar and the outbox rows
// in one transaction; see storage.Store.
func (s *Store) CommitUpdate(ctx context.Context, u storage.Update) (int64, error) {
	if u.Avatar != nil {
		// avatars is keyed by content; a wrong id would make a later,
		// different picture with that id silently resolve to this one.
		sum := sha1.Sum(u.Avatar.Data)
		if want := hex.EncodeToString(sum[:]); u.Avatar.ID != want {
			return 0, fmt.Errorf("sqlite: commit update %s/%s: avatar id %q is not the SHA-1 of its data (%s)",
				u.Source, u.Key, u.Avatar.ID, want)
		}
	}
	now := time.Now()
	received := u.Received
	if received.IsZero() {
		received = now
	}

	var id int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
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

		var avatarID sql.NullString
		if a := u.Avatar; a != nil {
			avatarID = sql.NullString{String: a.ID, Valid: true}
			_, err := tx.ExecContext(ctx, `INSERT INTO avatars (id, type, width, height, data)
				VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
				a.ID, a.Type, a.Width, a.Height, a.Data)
			if err != nil {
				return err
			}
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO updates
			(source, key, jid, number, status, avatar_id, received, committed)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			u.Source, u.Key, u.JID, u.Number, u.Status, avatarID,
			formatTime(received), formatTime(now)).Scan(&id)
		if err != nil {
			return err
		}
		if u.Avatar == nil {
			return nil
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO current_avatar (jid, avatar_id) VALUES (?, ?)
			ON CONFLICT (jid) DO UPDATE SET avatar_id = excluded.avatar_id`, u.JID, u.Avatar.ID)
		if err != nil {
			return err
		}
		// Only the newest picture is worth publishing: an older one still
		// waiting (perhaps for a retry) would later put the old picture back.
		_, err = tx.ExecContext(ctx, `DELETE FROM outbox WHERE jid = ? AND kind = ? AND failed_at IS NULL`,
			u.JID, storage.KindAvatar)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO outbox (update_id, jid, kind, next_attempt, created)
			VALUES (?, ?, ?, ?, ?)`, id, u.JID, storage.KindAvatar, formatTime(now), formatTime(now))
		return err
	})
	if err != nil {
		// A duplicate still reports the id of the first delivery.
		if !errors.Is(err, storage.ErrDuplicate) {
			id = 0
		}
		return id, fmt.Errorf("sqlite: commit update %s/%s: %w", u.Source, u.Key, err)
	}
	return id, nil
}

// CurrentAvatar returns the last avatar committed for jid, or
// storage.ErrNotFound.
func (s *Store) CurrentAvatar(ctx context.Context, jid string) (storage.Avatar, error) {
	var a storage.Avatar
	err := s.read.QueryRowContext(ctx, `SELECT a.id, a.type, a.width, a.height, a.data
		FROM current_avatar c JOIN avatars a ON a.id = c.avatar_id WHERE c.jid = ?`, jid).
		Scan(&a.ID, &a.Type, &a.Width, &a.Height, &a.Data)
	if errors.Is(err, sql.ErrNoRows) {
		err = storage.ErrNotFound
	}
	if err != nil {
		return storage.Avatar{}, fmt.Errorf("sqlite: current avatar of %s: %w", jid, err)
	}
	return a, nil
}
