package storage

import (
	"cmp"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Errors shared by every backend; test with errors.Is.
var (
	ErrNotFound  = errors.New("not found")
	ErrConflict  = errors.New("already linked")
	ErrDuplicate = errors.New("duplicate delivery")
	// ErrLimited: an Update's Limit found its bucket empty, so nothing
	// was committed. The error is a *LimitError, which says how long
	// until a token is back.
	ErrLimited = errors.New("rate limited")
	// ErrSchemaTooNew: the database was migrated by a newer mmsprofile.
	ErrSchemaTooNew = errors.New("database schema is newer than this program")
)

// Link binds a phone number (E.164) to a bare JID. A number belongs to one
// account at a time; an account may have several numbers.
type Link struct {
	JID     string
	Number  string
	Created time.Time
}

// LinkFilter selects links; empty fields match everything. Values match
// as substrings, so an operator can search for "@example.org" or "+1202".
type LinkFilter struct {
	JID    string
	Number string
}

// PendingLink is a link an account asked for and the phone has not yet
// confirmed by sending the code.
type PendingLink struct {
	ID       int64
	JID      string
	Number   string
	CodeHash []byte // never the code itself
	Created  time.Time
	Expires  time.Time
	Failures int // wrong codes so far
}

// Prefs are what an account lets an MMS change, and how it wants to hear of
// it. The zero value is not the default: use DefaultPrefs.
type Prefs struct {
	Avatar   bool
	Status   bool
	Nick     bool
	VCard    bool // personal fields from the sender's own .vcf
	Contacts bool // address-book entries become suggestions
	// Notify: a chat message to the account on each update or refusal.
	Notify bool
	// Discoverable: others' address books may find this account by its
	// number. Off unless the owner turns it on.
	Discoverable bool
	// Roster: the contacts found from an address book are added to the
	// account's roster directly, where its server grants the component
	// roster set permission (XEP-0356), instead of being suggested. Off
	// unless the owner turns it on: nothing else writes to a roster.
	Roster bool
}

// DefaultPrefs is what an account gets until its owner changes something.
func DefaultPrefs() Prefs {
	return Prefs{Avatar: true, Status: true, Nick: true, VCard: true, Contacts: true, Notify: true}
}

// Avatar is a picture already brought to the avatar standard.
type Avatar struct {
	ID     string // SHA-1 hex of Data
	Type   string // media type, e.g. image/png
	Width  int
	Height int
	Data   []byte
	// Renditions are larger copies of the picture, served over HTTP by
	// their id and listed after it in the XEP-0084 metadata. They are
	// committed with the avatar (an avatar committed again takes the set
	// of its latest commit) and read back with it without their Data:
	// Store.Rendition reads one whole.
	Renditions []Rendition
}

// Rendition is a larger copy of an avatar. Like pictures, renditions are
// content-addressed and go only when no avatar kept has them.
type Rendition struct {
	ID     string // SHA-1 hex of Data
	Type   string // media type, e.g. image/jpeg
	Width  int
	Height int
	// Bytes is the size of Data, also where Data is not read.
	Bytes int
	Data  []byte
}

// Outbox kinds: what the publisher has to do for an item.
const (
	// KindAvatar publishes Update.Avatar (XEP-0084, and the vCard photo).
	KindAvatar = "avatar"
	// KindProfile publishes profile fields (status, nickname, vCard):
	// Payload is the kind's JSON, defined by the publisher.
	KindProfile = "profile"
	// KindMessage is a chat message from the component to an account.
	KindMessage = "message"
	// KindReply is a reply to a phone through the transport the MMS came
	// in on.
	KindReply = "reply"
)

// Entry is one thing to publish, committed with its update (or alone).
type Entry struct {
	JID  string // the account it concerns ("" for replies to unknown phones)
	Kind string
	// Payload is opaque to storage; KindAvatar items carry the update's
	// Avatar instead.
	Payload []byte
	// Coalesce: a newer entry with the same JID and Kind replaces any
	// still pending (only the newest avatar is worth publishing: an older
	// one retried later would put the old picture back).
	Coalesce bool
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
	Status string
	// Nick is the nickname, empty when the MMS carried none.
	Nick     string
	Received time.Time
	// Entries are committed in the same transaction. When Avatar is set
	// and no KindAvatar entry is given, one is added (coalescing).
	Entries []Entry
	// Inbound, when set, is the delivery's row in the inbound log,
	// written in the same transaction: the update and its record are
	// committed together or not at all. A duplicate writes neither.
	Inbound *Inbound
	// Limit, when set, is a token taken in the same transaction from the
	// bucket it names (as Limiter.Allow would). When the bucket is empty
	// nothing is committed and CommitUpdate returns a *LimitError. A
	// duplicate takes no token: it is answered ErrDuplicate first.
	Limit *Take
}

// Take is one token to take from a bucket: Key's, at Rate, at At.
type Take struct {
	Key  string
	Rate Rate
	At   time.Time
}

// LimitError is CommitUpdate's refusal of an Update whose Limit found its
// bucket empty; errors.Is(err, ErrLimited) holds for it.
type LimitError struct {
	Key string
	// Retry is how long until the bucket has a token again.
	Retry time.Duration
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%s: bucket %s is empty for %v", ErrLimited, e.Key, e.Retry)
}

// Is makes errors.Is(err, ErrLimited) true.
func (e *LimitError) Is(target error) bool { return target == ErrLimited }

// UpdateRecord is a committed update as the account owner sees it.
type UpdateRecord struct {
	ID       int64
	Source   string
	Number   string
	AvatarID string
	Status   string
	Nick     string
	Received time.Time
	// State of its outbox items: "pending", "published" or "failed".
	State  string
	Reason string // why it failed, if it did
}

// Current is what the account's last committed MMS left: its avatar,
// status and nickname, whether or not published yet.
type Current struct {
	JID      string
	AvatarID string
	Status   string
	Nick     string
	Updated  time.Time
}

// Inbound is one MMS or mail as received, whatever became of it.
type Inbound struct {
	Source   string
	Key      string
	Sender   string
	JID      string // the linked account, if any
	Outcome  string // "accepted", "duplicate", "refused", "command", "failed"
	Reason   string
	Received time.Time
}

// OutboxItem is one pending (or failed) write.
type OutboxItem struct {
	ID          int64
	UpdateID    int64 // 0 when enqueued outside an update
	JID         string
	Kind        string
	Payload     []byte
	Avatar      *Avatar // for KindAvatar
	Attempts    int
	LastError   string
	Created     time.Time
	NextAttempt time.Time
	FailedAt    time.Time // zero while pending
	// Received is when the MMS behind the item arrived (zero for items
	// enqueued outside an update), for end-to-end latency.
	Received time.Time
}

// OutboxStats summarises the pending items, for metrics.
type OutboxStats struct {
	Pending int
	Failed  int
	Oldest  time.Time // creation of the oldest pending item; zero if none
}

// Rate is a token bucket: Burst tokens, one more every Per.
type Rate struct {
	Per   time.Duration
	Burst int
}

// Valid says why r can limit nothing, or nil: a token every Per, up to
// Burst at once, needs both positive.
func (r Rate) Valid() error {
	if r.Per <= 0 || r.Burst < 1 {
		return fmt.Errorf("invalid rate %v per token, burst %d", r.Per, r.Burst)
	}
	return nil
}

// AuditEntry records a change of links.
type AuditEntry struct {
	ID     int64
	At     time.Time
	Actor  string // "cli", "xmpp:alice@example.org", "phone:+1202…"
	Action string // "link", "unlink", "link-requested", "link-confirmed", …
	JID    string
	Number string
	Detail string
}

// The Store's methods come in groups, one per job the rest of the service
// asks of the database; each consumer takes the groups it uses (see
// docs/architecture.md), so what a package can reach of the database is
// read from its signatures. Every method is safe for concurrent use and
// takes a context first.

// Links is the binding of phone numbers to accounts, and its audit trail.
type Links interface {
	// AddLink binds number to jid and audits it. ErrConflict if the
	// number is bound to another JID; the same pair again is a no-op.
	AddLink(ctx context.Context, jid, number, actor string) error
	// RemoveLinks removes every link whose JID or number equals key,
	// audits each, and returns what went.
	RemoveLinks(ctx context.Context, key, actor string) ([]Link, error)
	// Links lists links matching f, ordered by JID then number.
	Links(ctx context.Context, f LinkFilter) ([]Link, error)
	// LinkByNumber returns the link of number, or ErrNotFound.
	LinkByNumber(ctx context.Context, number string) (Link, error)
	// Audit returns the newest audit entries first.
	Audit(ctx context.Context, limit int) ([]AuditEntry, error)
}

// PendingLinks are the links an account asked for, waiting for the phone
// to prove itself with the code.
type PendingLinks interface {
	// PutPendingLink stores p (ID is assigned), replacing any pending link
	// of the same JID or number: a new request cancels the old code.
	PutPendingLink(ctx context.Context, p PendingLink) (int64, error)
	// PendingLink returns the pending link of an account, or ErrNotFound.
	PendingLink(ctx context.Context, jid string) (PendingLink, error)
	// PendingLinkByNumber returns the pending link for number, or
	// ErrNotFound.
	PendingLinkByNumber(ctx context.Context, number string) (PendingLink, error)
	// PendingLinkFailed counts a wrong code and returns the new count.
	PendingLinkFailed(ctx context.Context, id int64) (int, error)
	// ConfirmPendingLink turns pending link id into a link in one
	// transaction and audits it. ErrConflict if the number was linked to
	// another account meanwhile; ErrNotFound if it is gone.
	ConfirmPendingLink(ctx context.Context, id int64, actor string) (Link, error)
	// DeletePendingLink drops the pending link of jid, if any.
	DeletePendingLink(ctx context.Context, jid string) error
}

// Preferences are what each account lets an MMS change.
type Preferences interface {
	// Prefs returns jid's preferences, DefaultPrefs if never set.
	Prefs(ctx context.Context, jid string) (Prefs, error)
	// SetPrefs stores jid's preferences.
	SetPrefs(ctx context.Context, jid string, p Prefs) error
}

// Updates are the accepted changes to accounts: committed with what is to
// be published of them, and read back.
type Updates interface {
	// CommitUpdate stores u, the account's profile, u's entries, its
	// inbound record and its rate-limit token in one transaction and
	// returns the update's id. A delivery already committed returns its
	// first id and ErrDuplicate, and changes nothing. When u.Limit's
	// bucket is empty it returns a *LimitError (ErrLimited), and changes
	// nothing.
	CommitUpdate(ctx context.Context, u Update) (int64, error)
	// Enqueue commits entries that belong to no update (chat messages,
	// replies to phones).
	Enqueue(ctx context.Context, entries ...Entry) error
	// CurrentAvatar returns the last avatar committed for jid.
	CurrentAvatar(ctx context.Context, jid string) (Avatar, error)
	// Rendition returns the rendition id with its Data, or ErrNotFound.
	Rendition(ctx context.Context, id string) (Rendition, error)
	// Current returns what jid's last committed MMS left, or ErrNotFound.
	Current(ctx context.Context, jid string) (Current, error)
	// RecentUpdates returns jid's newest updates first.
	RecentUpdates(ctx context.Context, jid string, limit int) ([]UpdateRecord, error)
}

// InboundLog is the record of every message received, whatever became of
// it.
type InboundLog interface {
	// LogInbound records one received message and its outcome.
	LogInbound(ctx context.Context, in Inbound) error
}

// Outbox is the publishing queue as its drainer sees it: what is due, and
// what became of each attempt.
type Outbox interface {
	// DueOutbox returns pending items due at now, account by account: the
	// accounts of the oldest due items, in the order of their oldest, each
	// with its due items oldest first, within lim. An account's items
	// stop at its oldest one waiting for a retry, so that they go out in
	// order. Items without an account (replies to phones) count as one
	// account, and do not wait for each other.
	DueOutbox(ctx context.Context, now time.Time, lim DueLimits) ([]OutboxItem, error)
	// OutboxDone removes published items, in one transaction.
	// ErrNotFound if one of them is gone (a newer entry replaced it); the
	// others are removed all the same.
	OutboxDone(ctx context.Context, ids ...int64) error
	// OutboxRetry records a failed attempt and when to try again.
	OutboxRetry(ctx context.Context, id int64, next time.Time, reason string) error
	// OutboxFail gives up on an item for good, keeping it and its reason.
	OutboxFail(ctx context.Context, id int64, reason string) error
}

// DueLimits bound what one DueOutbox call returns.
type DueLimits struct {
	// Items is the most items in all.
	Items int
	// Accounts is how many of the oldest due items name the accounts
	// served, so at most that many accounts, and at most that many
	// avatars: an account has one pending at most.
	Accounts int
	// PerAccount is the most items of one account.
	PerAccount int
}

// Due is up to n items, whatever their accounts.
func Due(n int) DueLimits { return DueLimits{Items: n, Accounts: n, PerAccount: n} }

// Limiter is the rate limiting shared by every process on the database.
type Limiter interface {
	// Allow takes one token from the bucket key at now. When the bucket is
	// empty it returns false and how long until a token is back. Buckets
	// survive restarts.
	Allow(ctx context.Context, key string, r Rate, now time.Time) (bool, time.Duration, error)
	// Check answers what Allow would at now, and takes nothing: a read,
	// for refusing early what a later Allow (or an Update's Limit) would
	// refuse. It decides nothing under concurrency; the take does.
	Check(ctx context.Context, key string, r Rate, now time.Time) (bool, time.Duration, error)
}

// Maintenance is what operating the database needs: its health, its
// schema, the outbox's backlog and the pruning of old rows.
type Maintenance interface {
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// SchemaVersion returns the migration the database is at.
	SchemaVersion(ctx context.Context) (int, error)
	// OutboxStats counts pending and failed items.
	OutboxStats(ctx context.Context) (OutboxStats, error)
	// FailedOutbox lists items given up on, newest first.
	FailedOutbox(ctx context.Context, limit int) ([]OutboxItem, error)
	// Prune drops inbound rows and updates older than before, outbox items
	// finished (published, replaced or failed) before it, expired pending
	// links, rate buckets full again, and pictures (with their renditions)
	// nothing refers to any more. Updates with items left keep theirs. It
	// returns how many rows went.
	Prune(ctx context.Context, before time.Time) (int, error)
}

// Store is a whole database, as a backend implements it and as the one
// who opened it holds it: every group above, and Close.
type Store interface {
	Links
	PendingLinks
	Preferences
	Updates
	InboundLog
	Outbox
	Limiter
	Maintenance
	Close() error
}

// Coordinator lets several serve processes share one database: every one
// accepts MMS, exactly one leads (holds the component connection and drains
// the outbox), and the leader is woken as soon as work is committed.
// storage/postgres implements it with an advisory lock and LISTEN/NOTIFY;
// storage/sqlite, which one process owns, trivially.
type Coordinator interface {
	// Lead blocks until this process is the leader or ctx ends. lost is
	// closed when leadership ends: the database connection that holds it
	// went away (the leader must stop publishing at once; another process
	// may already lead) or release was called. release is idempotent.
	Lead(ctx context.Context) (lost <-chan struct{}, release func(), err error)
	// Wake returns a channel that receives soon after outbox entries are
	// committed by any process on the database; signals are coalesced and
	// may be missed (e.g. while reconnecting), so the publisher still polls
	// as a fallback. The channel is closed when ctx ends.
	Wake(ctx context.Context) <-chan struct{}
}

// UpdateRecord states.
const (
	StatePending   = "pending"
	StatePublished = "published"
	StateFailed    = "failed"
)

// UpdateEntries checks u and returns the entries a backend commits with
// it: u.Entries, plus a coalescing KindAvatar entry for u.JID when u has an
// Avatar and no KindAvatar entry of its own. Backends share it so both
// apply the same rules.
func UpdateEntries(u Update) ([]Entry, error) {
	hasAvatarEntry := false
	for _, e := range u.Entries {
		if e.Kind == KindAvatar {
			hasAvatarEntry = true
		}
	}
	if u.Avatar == nil {
		if hasAvatarEntry {
			return nil, errors.New("avatar entry in an update without an avatar")
		}
		return u.Entries, nil
	}
	// Pictures are stored by content; a wrong id would make a later,
	// different picture with that id silently resolve to this one.
	sum := sha1.Sum(u.Avatar.Data)
	if want := hex.EncodeToString(sum[:]); u.Avatar.ID != want {
		return nil, fmt.Errorf("avatar id %q is not the SHA-1 of its data (%s)", u.Avatar.ID, want)
	}
	for i, r := range u.Avatar.Renditions {
		sum := sha1.Sum(r.Data)
		switch want := hex.EncodeToString(sum[:]); {
		case r.ID != want:
			return nil, fmt.Errorf("rendition id %q is not the SHA-1 of its data (%s)", r.ID, want)
		case r.Type == "" || r.Width <= 0 || r.Height <= 0:
			return nil, fmt.Errorf("rendition %s: type %q, %dx%d: want a media type and a size", r.ID, r.Type, r.Width, r.Height)
		case slices.ContainsFunc(u.Avatar.Renditions[:i], func(o Rendition) bool { return o.ID == r.ID }):
			return nil, fmt.Errorf("rendition %s is listed twice", r.ID)
		}
	}
	if hasAvatarEntry {
		return u.Entries, nil
	}
	return append(slices.Clip(u.Entries), Entry{JID: u.JID, Kind: KindAvatar, Coalesce: true}), nil
}

// SortRenditions orders renditions as backends return them: smallest
// first, then by id.
func SortRenditions(rs []Rendition) {
	slices.SortFunc(rs, func(a, b Rendition) int {
		return cmp.Or(cmp.Compare(a.Width*a.Height, b.Width*b.Height), strings.Compare(a.ID, b.ID))
	})
}

// GCRA is the token bucket of Allow, shared by the backends so they agree
// to the nanosecond. A bucket is kept as one number, its theoretical
// arrival time tat (Unix nanoseconds; 0 for a new, full bucket): a take at
// now is allowed when max(tat, now) + r.Per - now <= r.Burst * r.Per, and
// then the bucket's tat becomes next. When refused, retry is how long until
// a take would be allowed. r must have Per > 0 and Burst >= 1.
func GCRA(tat int64, now time.Time, r Rate) (ok bool, next int64, retry time.Duration) {
	n := now.UnixNano()
	per := int64(r.Per)
	limit := per * int64(r.Burst)
	if limit/per != int64(r.Burst) { // overflow: no bucket is that deep
		limit = math.MaxInt64 / 2
	}
	next = max(tat, n) + per
	if over := next - n - limit; over > 0 {
		return false, tat, time.Duration(over)
	}
	return true, next, 0
}
