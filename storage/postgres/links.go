package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"mmsprofile/storage"
)

// AddLink binds number to jid and audits it; see storage.Store.
func (s *Store) AddLink(ctx context.Context, jid, number, actor string) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		return addLink(ctx, tx, jid, number, actor, "link", time.Now())
	})
	if err != nil {
		return fmt.Errorf("postgres: link %s to %s: %w", number, jid, err)
	}
	return nil
}

// addLink inserts unless the number is taken. ON CONFLICT waits for a
// concurrent insert of the same number to finish, so the read after it
// sees who won. An existing identical link is not audited again.
func addLink(ctx context.Context, tx pgx.Tx, jid, number, actor, action string, now time.Time) error {
	tag, err := tx.Exec(ctx, `INSERT INTO links (number, jid, created) VALUES ($1, $2, $3)
		ON CONFLICT (number) DO NOTHING`, number, jid, now)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		var have string
		if err := tx.QueryRow(ctx, `SELECT jid FROM links WHERE number = $1`, number).Scan(&have); err != nil {
			return err
		}
		if have != jid {
			return storage.ErrConflict
		}
		return nil
	}
	return audit(ctx, tx, now, actor, action, jid, number, "")
}

func audit(ctx context.Context, tx pgx.Tx, now time.Time, actor, action, jid, number, detail string) error {
	_, err := tx.Exec(ctx, `INSERT INTO audit (at, actor, action, jid, number, detail)
		VALUES ($1, $2, $3, $4, $5, $6)`, now, actor, action, jid, number, detail)
	return err
}

// RemoveLinks removes the links whose JID or number is key, auditing each.
func (s *Store) RemoveLinks(ctx context.Context, key, actor string) ([]storage.Link, error) {
	var gone []storage.Link
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		gone, err = collect(ctx, tx, scanLink, `DELETE FROM links WHERE jid = $1 OR number = $1
			RETURNING jid, number, created`, key)
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
		return nil, fmt.Errorf("postgres: remove links of %s: %w", key, err)
	}
	slices.SortFunc(gone, func(a, b storage.Link) int { // RETURNING gives no order
		return cmp.Or(strings.Compare(a.JID, b.JID), strings.Compare(a.Number, b.Number))
	})
	return gone, nil
}

// Links lists the links matching f by JID, then number.
func (s *Store) Links(ctx context.Context, f storage.LinkFilter) ([]storage.Link, error) {
	// strpos, not LIKE: the operator's text is a plain substring, and a
	// '%' or '_' in it must not act as a wildcard. COLLATE "C" orders as
	// SQLite does, whatever the database's locale.
	links, err := collect(ctx, s.pool, scanLink, `SELECT jid, number, created FROM links
		WHERE strpos(jid, $1) > 0 AND strpos(number, $2) > 0
		ORDER BY jid COLLATE "C", number COLLATE "C"`, f.JID, f.Number)
	if err != nil {
		return nil, fmt.Errorf("postgres: list links: %w", err)
	}
	return links, nil
}

// LinkByNumber returns the link of number, or storage.ErrNotFound.
func (s *Store) LinkByNumber(ctx context.Context, number string) (storage.Link, error) {
	l, err := scanLink(s.pool.QueryRow(ctx, `SELECT jid, number, created FROM links WHERE number = $1`, number))
	if err != nil {
		return storage.Link{}, fmt.Errorf("postgres: link of %s: %w", number, notFound(err))
	}
	return l, nil
}

// PutPendingLink stores p, replacing any pending link of its JID or number.
func (s *Store) PutPendingLink(ctx context.Context, p storage.PendingLink) (int64, error) {
	if p.Created.IsZero() {
		p.Created = time.Now()
	}
	if p.CodeHash == nil {
		p.CodeHash = []byte{}
	}
	var id int64
	var err error
	// Two requests at once may both find nothing to replace and then
	// collide on a UNIQUE column; the loser tries again and replaces.
	for range 3 {
		err = s.inTx(ctx, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `DELETE FROM pending_links WHERE jid = $1 OR number = $2`, p.JID, p.Number)
			if err != nil {
				return err
			}
			return tx.QueryRow(ctx, `INSERT INTO pending_links (jid, number, code_hash, created, expires, failures)
				VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
				p.JID, p.Number, p.CodeHash, p.Created, p.Expires, p.Failures).Scan(&id)
		})
		if !isUniqueViolation(err) {
			break
		}
	}
	if err != nil {
		return 0, fmt.Errorf("postgres: pending link %s to %s: %w", p.Number, p.JID, err)
	}
	return id, nil
}

const pendingColumns = `id, jid, number, code_hash, created, expires, failures`

// PendingLink returns the pending link of jid, or storage.ErrNotFound.
func (s *Store) PendingLink(ctx context.Context, jid string) (storage.PendingLink, error) {
	p, err := scanPending(s.pool.QueryRow(ctx, `SELECT `+pendingColumns+` FROM pending_links WHERE jid = $1`, jid))
	if err != nil {
		return storage.PendingLink{}, fmt.Errorf("postgres: pending link of %s: %w", jid, notFound(err))
	}
	return p, nil
}

// PendingLinkByNumber returns the pending link for number, or
// storage.ErrNotFound.
func (s *Store) PendingLinkByNumber(ctx context.Context, number string) (storage.PendingLink, error) {
	p, err := scanPending(s.pool.QueryRow(ctx, `SELECT `+pendingColumns+` FROM pending_links WHERE number = $1`, number))
	if err != nil {
		return storage.PendingLink{}, fmt.Errorf("postgres: pending link for %s: %w", number, notFound(err))
	}
	return p, nil
}

// PendingLinkFailed counts a wrong code against pending link id.
func (s *Store) PendingLinkFailed(ctx context.Context, id int64) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `UPDATE pending_links SET failures = failures + 1
		WHERE id = $1 RETURNING failures`, id).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("postgres: pending link %d failed: %w", id, notFound(err))
	}
	return n, nil
}

// ConfirmPendingLink turns pending link id into a link; see storage.Store.
func (s *Store) ConfirmPendingLink(ctx context.Context, id int64, actor string) (storage.Link, error) {
	var l storage.Link
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		// FOR UPDATE: a concurrent confirmation of the same code waits,
		// then finds it gone.
		p, err := scanPending(tx.QueryRow(ctx, `SELECT `+pendingColumns+` FROM pending_links WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return notFound(err)
		}
		// On conflict the transaction rolls back and the pending link
		// stays.
		if err := addLink(ctx, tx, p.JID, p.Number, actor, "link-confirmed", time.Now()); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM pending_links WHERE id = $1`, id); err != nil {
			return err
		}
		l, err = scanLink(tx.QueryRow(ctx, `SELECT jid, number, created FROM links WHERE number = $1`, p.Number))
		return err
	})
	if err != nil {
		return storage.Link{}, fmt.Errorf("postgres: confirm pending link %d: %w", id, err)
	}
	return l, nil
}

// DeletePendingLink drops the pending link of jid, if any.
func (s *Store) DeletePendingLink(ctx context.Context, jid string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM pending_links WHERE jid = $1`, jid); err != nil {
		return fmt.Errorf("postgres: delete pending link of %s: %w", jid, err)
	}
	return nil
}

// Prefs returns jid's preferences, storage.DefaultPrefs if never set.
func (s *Store) Prefs(ctx context.Context, jid string) (storage.Prefs, error) {
	var p storage.Prefs
	err := s.pool.QueryRow(ctx, `SELECT avatar, status, nick, vcard, contacts, notify, discoverable, roster
		FROM prefs WHERE jid = $1`, jid).
		Scan(&p.Avatar, &p.Status, &p.Nick, &p.VCard, &p.Contacts, &p.Notify, &p.Discoverable, &p.Roster)
	if errors.Is(err, pgx.ErrNoRows) {
		return storage.DefaultPrefs(), nil
	}
	if err != nil {
		return storage.Prefs{}, fmt.Errorf("postgres: prefs of %s: %w", jid, err)
	}
	return p, nil
}

// SetPrefs stores jid's preferences.
func (s *Store) SetPrefs(ctx context.Context, jid string, p storage.Prefs) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO prefs
		(jid, avatar, status, nick, vcard, contacts, notify, discoverable, roster) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (jid) DO UPDATE SET avatar = excluded.avatar, status = excluded.status,
			nick = excluded.nick, vcard = excluded.vcard, contacts = excluded.contacts,
			notify = excluded.notify, discoverable = excluded.discoverable, roster = excluded.roster`,
		jid, p.Avatar, p.Status, p.Nick, p.VCard, p.Contacts, p.Notify, p.Discoverable, p.Roster)
	if err != nil {
		return fmt.Errorf("postgres: set prefs of %s: %w", jid, err)
	}
	return nil
}

// Audit returns the newest audit entries first.
func (s *Store) Audit(ctx context.Context, limit int) ([]storage.AuditEntry, error) {
	entries, err := collect(ctx, s.pool, func(r pgx.Row) (storage.AuditEntry, error) {
		var e storage.AuditEntry
		return e, r.Scan(&e.ID, &e.At, &e.Actor, &e.Action, &e.JID, &e.Number, &e.Detail)
	}, `SELECT id, at, actor, action, jid, number, detail
		FROM audit ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: audit: %w", err)
	}
	return entries, nil
}

func scanLink(row pgx.Row) (storage.Link, error) {
	var l storage.Link
	return l, row.Scan(&l.JID, &l.Number, &l.Created)
}

func scanPending(row pgx.Row) (storage.PendingLink, error) {
	var p storage.PendingLink
	return p, row.Scan(&p.ID, &p.JID, &p.Number, &p.CodeHash, &p.Created, &p.Expires, &p.Failures)
}
