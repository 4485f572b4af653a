package storage

import (
	"context"
	"errors"
	"time"
)

// Errors shared by every backend; test with errors.Is.
var (
	ErrNotFound  = errors.New("not found")
	ErrConflict  = errors.New("already linked")
	ErrDuplicate = errors.New("duplicate delivery")
)

// Link binds a phone number (E.164) to a bare JID.
type Link struct {
	JID     string
	Number  string
	Created time.Time
}

// Avatar is a picture already brought to the avatar standard.
type Avatar struct {
	ID     string // SHA-1 hex of Data
	Type   string // media type, e.g. image/png
	Width  int
	Height int
	Data   []byte
}

// Update is what one accepted MMS changes on one account.
type Update struct {
	// Source and Key identify the delivery (e.g. "mm7", relay+message id);
	// committing the same pair twice changes nothing.
	Source string
	Key    string
	JID    string
	Number string
	Avatar *Avatar
	// Status is the status line, empty when the MMS carried none.
	Status   string
	Received time.Time
}

// Outbox kinds: what the publisher has to write for an update.
const (
	KindAvatar = "avatar"
)

// OutboxItem is one pending write to a user's account.
type OutboxItem struct {
	ID       int64
	UpdateID int64
	JID      string
	Kind     string
	Avatar   *Avatar
	Attempts int
	Created  time.Time
}

// Store is what the profile rules and the publisher need from a database.
// Every method is safe for concurrent use.
type Store interface {
	// AddLink binds number to jid. ErrConflict if the number is bound to
	// another JID.
	AddLink(ctx context.Context, jid, number string) error
	// RemoveLinks removes every link whose JID or number equals key and
	// returns how many went.
	RemoveLinks(ctx context.Context, key string) (int, error)
	// Links lists all links, ordered by JID then number.
	Links(ctx context.Context) ([]Link, error)
	// LinkByNumber returns the link of number, or ErrNotFound.
	LinkByNumber(ctx context.Context, number string) (Link, error)

	// CommitUpdate stores u and its outbox rows in one transaction and
	// returns the update's id. A delivery already committed returns its
	// first id and ErrDuplicate. A new avatar replaces any avatar item of
	// the same JID still pending: only the newest is published.
	CommitUpdate(ctx context.Context, u Update) (int64, error)
	// CurrentAvatar returns the last avatar committed for jid.
	CurrentAvatar(ctx context.Context, jid string) (Avatar, error)

	// DueOutbox returns up to limit items whose next attempt is due at now.
	DueOutbox(ctx context.Context, now time.Time, limit int) ([]OutboxItem, error)
	// OutboxDone removes a published item.
	OutboxDone(ctx context.Context, id int64) error
	// OutboxRetry records a failed attempt and when to try again.
	OutboxRetry(ctx context.Context, id int64, next time.Time, reason string) error
	// OutboxFail gives up on an item for good, keeping the reason.
	OutboxFail(ctx context.Context, id int64, reason string) error

	Close() error
}
