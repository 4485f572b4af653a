package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"mmsprofile/storage"
)

// AddLink binds number to jid; see storage.Store.
func (s *Store) AddLink(ctx context.Context, jid, number string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// Read then insert inside one IMMEDIATE transaction, so no other
		// writer can link the number in between.
		var have string
		err := tx.QueryRowContext(ctx, `SELECT jid FROM links WHERE number = ?`, number).Scan(&have)
		switch {
		case err == nil && have == jid:
			return nil
		case err == nil:
			return storage.ErrConflict
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO links (number, jid, created) VALUES (?, ?, ?)`,
			number, jid, formatTime(time.Now()))
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: link %s to %s: %w", number, jid, err)
	}
	return nil
}

// RemoveLinks removes the links whose JID or number is key.
func (s *Store) RemoveLinks(ctx context.Context, key string) (int, error) {
	res, err := s.write.ExecContext(ctx, `DELETE FROM links WHERE jid = ? OR number = ?`, key, key)
	if err != nil {
		return 0, fmt.Errorf("sqlite: remove links of %s: %w", key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlite: remove links of %s: %w", key, err)
	}
	return int(n), nil
}

// Links lists all links by JID, then number.
func (s *Store) Links(ctx context.Context) ([]storage.Link, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT jid, number, created FROM links ORDER BY jid, number`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list links: %w", err)
	}
	defer rows.Close()
	var links []storage.Link
	for rows.Next() {
		l, err := scanLink(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list links: %w", err)
		}
		links = append(links, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list links: %w", err)
	}
	return links, nil
}

// LinkByNumber returns the link of number, or storage.ErrNotFound.
func (s *Store) LinkByNumber(ctx context.Context, number string) (storage.Link, error) {
	l, err := scanLink(s.read.QueryRowContext(ctx,
		`SELECT jid, number, created FROM links WHERE number = ?`, number))
	if errors.Is(err, sql.ErrNoRows) {
		err = storage.ErrNotFound
	}
	if err != nil {
		return storage.Link{}, fmt.Errorf("sqlite: link of %s: %w", number, err)
	}
	return l, nil
}

type scanner interface{ Scan(dest ...any) error }

func scanLink(row scanner) (storage.Link, error) {
	var (
		l       storage.Link
		created string
	)
	if err := row.Scan(&l.JID, &l.Number, &created); err != nil {
		return storage.Link{}, err
	}
	var err error
	l.Created, err = parseTime(created)
	return l, err
}
