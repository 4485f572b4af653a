package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"mmsprofile/storage"
)

// AddLink binds number to jid and audits it; see storage.Store.
func (s *Store) AddLink(ctx context.Context, jid, number, actor string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		return addLink(ctx, tx, jid, number, actor, "link", time.Now())
	})
	if err != nil {
		return fmt.Errorf("sqlite: link %s to %s: %w", number, jid, err)
	}
	return nil
}

// addLink reads then inserts inside one IMMEDIATE transaction, so no other
// writer can link the number in between. An existing identical link is
// left alone and not audited again.
func addLink(ctx context.Context, tx *sql.Tx, jid, number, actor, action string, now time.Time) error {
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
		number, jid, formatTime(now))
	if err != nil {
		return err
	}
	return audit(ctx, tx, now, actor, action, jid, number, "")
}

func audit(ctx context.Context, tx *sql.Tx, now time.Time, actor, action, jid, number, detail string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO audit (at, actor, action, jid, number, detail)
		VALUES (?, ?, ?, ?, ?, ?)`, formatTime(now), actor, action, jid, number, detail)
	return err
}

// RemoveLinks removes the links whose JID or number is key, auditing each.
func (s *Store) RemoveLinks(ctx context.Context, key, actor string) ([]storage.Link, error) {
	var gone []storage.Link
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `DELETE FROM links WHERE jid = ? OR number = ?
			RETURNING jid, number, created`, key, key)
		if err != nil {
			return err
		}
		gone, err = collect(rows, scanLink)
		if err != nil {
			return err
		}
		now := time.Now()
		for _, l := range gone {
			if err := audit(ctx, tx, now, actor, "unlink", l.JID, l.Number, ""); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: remove links of %s: %w", key, err)
	}
	sortLinks(gone) // RETURNING gives no order
	return gone, nil
}

// Links lists the links matching f by JID, then number.
func (s *Store) Links(ctx context.Context, f storage.LinkFilter) ([]storage.Link, error) {
	// instr, not LIKE: the operator's text is a plain substring, and a '%'
	// or '_' in it must not act as a wildcard.
	rows, err := s.read.QueryContext(ctx, `SELECT jid, number, created FROM links
		WHERE instr(jid, ?) > 0 AND instr(number, ?) > 0
		ORDER BY jid, number`, f.JID, f.Number)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list links: %w", err)
	}
	links, err := collect(rows, scanLink)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list links: %w", err)
	}
	return links, nil
}

// LinkByNumber returns the link of number, or storage.ErrNotFound.
func (s *Store) LinkByNumber(ctx context.Context, number string) (storage.Link, error) {
	l, err := scanLink(s.read.QueryRowContext(ctx,
		`SELECT jid, number, created FROM links WHERE number = ?`, number))
	if err != nil {
		return storage.Link{}, fmt.Errorf("sqlite: link of %s: %w", number, notFound(err))
	}
	return l, nil
}

// PutPendingLink stores p, replacing any pending link of its JID or number.
func (s *Store) PutPendingLink(ctx context.Context, p storage.PendingLink) (int64, error) {
	if p.Created.IsZero() {
		p.Created = time.Now()
	}
	var id int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM pending_links WHERE jid = ? OR number = ?`, p.JID, p.Number)
		if err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `INSERT INTO pending_links (jid, number, code_hash, created, expires, failures)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
			p.JID, p.Number, nonNil(p.CodeHash), formatTime(p.Created), formatTime(p.Expires), p.Failures).Scan(&id)
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: pending link %s to %s: %w", p.Number, p.JID, err)
	}
	return id, nil
}

const pendingColumns = `id, jid, number, code_hash, created, expires, failures`

// PendingLink returns the pending link of jid, or storage.ErrNotFound.
func (s *Store) PendingLink(ctx context.Context, jid string) (storage.PendingLink, error) {
	p, err := scanPending(s.read.QueryRowContext(ctx,
		`SELECT `+pendingColumns+` FROM pending_links WHERE jid = ?`, jid))
	if err != nil {
		return storage.PendingLink{}, fmt.Errorf("sqlite: pending link of %s: %w", jid, notFound(err))
	}
	return p, nil
}

// PendingLinkByNumber returns the pending link for number, or
// storage.ErrNotFound.
func (s *Store) PendingLinkByNumber(ctx context.Context, number string) (storage.PendingLink, error) {
	p, err := scanPending(s.read.QueryRowContext(ctx,
		`SELECT `+pendingColumns+` FROM pending_links WHERE number = ?`, number))
	if err != nil {
		return storage.PendingLink{}, fmt.Errorf("sqlite: pending link for %s: %w", number, notFound(err))
	}
	return p, nil
}

// PendingLinkFailed counts a wrong code against pending link id.
func (s *Store) PendingLinkFailed(ctx context.Context, id int64) (int, error) {
	var n int
	err := s.write.QueryRowContext(ctx, `UPDATE pending_links SET failures = failures + 1
		WHERE id = ? RETURNING failures`, id).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sqlite: pending link %d failed: %w", id, notFound(err))
	}
	return n, nil
}

// ConfirmPendingLink turns pending link id into a link; see storage.Store.
func (s *Store) ConfirmPendingLink(ctx context.Context, id int64, actor string) (storage.Link, error) {
	var l storage.Link
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		p, err := scanPending(tx.QueryRowContext(ctx,
			`SELECT `+pendingColumns+` FROM pending_links WHERE id = ?`, id))
		if err != nil {
			return notFound(err)
		}
		now := time.Now()
		// On conflict the transaction rolls back and the pending link
		// stays, so the account sees why its request went nowhere.
		if err := addLink(ctx, tx, p.JID, p.Number, actor, "link-confirmed", now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM pending_links WHERE id = ?`, id); err != nil {
			return err
		}
		l, err = scanLink(tx.QueryRowContext(ctx, `SELECT jid, number, created FROM links WHERE number = ?`, p.Number))
		return err
	})
	if err != nil {
		return storage.Link{}, fmt.Errorf("sqlite: confirm pending link %d: %w", id, err)
	}
	return l, nil
}

// DeletePendingLink drops the pending link of jid, if any.
func (s *Store) DeletePendingLink(ctx context.Context, jid string) error {
	if _, err := s.write.ExecContext(ctx, `DELETE FROM pending_links WHERE jid = ?`, jid); err != nil {
		return fmt.Errorf("sqlite: delete pending link of %s: %w", jid, err)
	}
	return nil
}

// Prefs returns jid's preferences, storage.DefaultPrefs if never set.
func (s *Store) Prefs(ctx context.Context, jid string) (storage.Prefs, error) {
	var p storage.Prefs
	err := s.read.QueryRowContext(ctx, `SELECT avatar, status, nick, vcard, contacts, notify, discoverable, roster
		FROM prefs WHERE jid = ?`, jid).
		Scan(&p.Avatar, &p.Status, &p.Nick, &p.VCard, &p.Contacts, &p.Notify, &p.Discoverable, &p.Roster)
	if errors.Is(err, sql.ErrNoRows) {
		return storage.DefaultPrefs(), nil
	}
	if err != nil {
		return storage.Prefs{}, fmt.Errorf("sqlite: prefs of %s: %w", jid, err)
	}
	return p, nil
}

// SetPrefs stores jid's preferences.
func (s *Store) SetPrefs(ctx context.Context, jid string, p storage.Prefs) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO prefs
		(jid, avatar, status, nick, vcard, contacts, notify, discoverable, roster) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (jid) DO UPDATE SET avatar = excluded.avatar, status = excluded.status,
			nick = excluded.nick, vcard = excluded.vcard, contacts = excluded.contacts,
			notify = excluded.notify, discoverable = excluded.discoverable, roster = excluded.roster`,
		jid, p.Avatar, p.Status, p.Nick, p.VCard, p.Contacts, p.Notify, p.Discoverable, p.Roster)
	if err != nil {
		return fmt.Errorf("sqlite: set prefs of %s: %w", jid, err)
	}
	return nil
}

// Audit returns the newest audit entries first.
func (s *Store) Audit(ctx context.Context, limit int) ([]storage.AuditEntry, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, at, actor, action, jid, number, detail
		FROM audit ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: audit: %w", err)
	}
	entries, err := collect(rows, func(r scanner) (storage.AuditEntry, error) {
		var (
			e  storage.AuditEntry
			at string
		)
		if err := r.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.JID, &e.Number, &e.Detail); err != nil {
			return e, err
		}
		var err error
		e.At, err = parseTime(at)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: audit: %w", err)
	}
	return entries, nil
}

type scanner interface{ Scan(dest ...any) error }

// collect scans every row with scan and closes rows.
func collect[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// notFound maps a missing row to storage.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return storage.ErrNotFound
	}
	return err
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

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

func scanPending(row scanner) (storage.PendingLink, error) {
	var (
		p                storage.PendingLink
		created, expires string
	)
	err := row.Scan(&p.ID, &p.JID, &p.Number, &p.CodeHash, &created, &expires, &p.Failures)
	if err != nil {
		return storage.PendingLink{}, err
	}
	if p.Created, err = parseTime(created); err != nil {
		return storage.PendingLink{}, err
	}
	p.Expires, err = parseTime(expires)
	return p, err
}

func sortLinks(ls []storage.Link) {
	slices.SortFunc(ls, func(a, b storage.Link) int {
		return cmp.Or(strings.Compare(a.JID, b.JID), strings.Compare(a.Number, b.Number))
	})
}
