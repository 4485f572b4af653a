-- Times are TEXT in UTC, fixed width with nanoseconds
-- (2006-01-02T15:04:05.000000000Z), so they sort and compare as strings and
-- SQLite's date functions still read them.

CREATE TABLE links (
	number  TEXT PRIMARY KEY,          -- E.164; one account per number
	jid     TEXT NOT NULL,             -- bare JID
	created TEXT NOT NULL
) STRICT;
CREATE INDEX links_jid ON links (jid);

-- One pending link per account and per number: a new request replaces the
-- old one, so an old code stops working.
CREATE TABLE pending_links (
	id        INTEGER PRIMARY KEY AUTOINCREMENT,
	jid       TEXT NOT NULL UNIQUE,
	number    TEXT NOT NULL UNIQUE,
	code_hash BLOB NOT NULL,
	created   TEXT NOT NULL,
	expires   TEXT NOT NULL,
	failures  INTEGER NOT NULL DEFAULT 0
) STRICT;

-- A row only once the owner changed something; absent means the defaults.
CREATE TABLE prefs (
	jid          TEXT PRIMARY KEY,
	avatar       INTEGER NOT NULL,
	status       INTEGER NOT NULL,
	nick         INTEGER NOT NULL,
	vcard        INTEGER NOT NULL,
	contacts     INTEGER NOT NULL,
	notify       INTEGER NOT NULL,
	discoverable INTEGER NOT NULL
) STRICT;

-- Pictures are content-addressed: id is the SHA-1 hex of data, so the same
-- picture sent twice or shared by two accounts is kept once.
CREATE TABLE avatars (
	id     TEXT PRIMARY KEY,
	type   TEXT NOT NULL,
	width  INTEGER NOT NULL,
	height INTEGER NOT NULL,
	data   BLOB NOT NULL
) STRICT;

-- One row per accepted delivery; UNIQUE (source, key) is what makes a
-- redelivery from the MMSC or the MTA change nothing.
CREATE TABLE updates (
	id        INTEGER PRIMARY KEY AUTOINCREMENT,
	source    TEXT NOT NULL,
	key       TEXT NOT NULL,
	jid       TEXT NOT NULL,
	number    TEXT NOT NULL,
	avatar_id TEXT REFERENCES avatars (id),
	status    TEXT NOT NULL,
	nick      TEXT NOT NULL,
	received  TEXT NOT NULL,
	committed TEXT NOT NULL,
	UNIQUE (source, key)
) STRICT;
CREATE INDEX updates_jid ON updates (jid, id);
CREATE INDEX updates_received ON updates (received);

-- The account's current profile: the newest value of each field any
-- update carried (the previous ones are in updates).
CREATE TABLE profiles (
	jid       TEXT PRIMARY KEY,
	avatar_id TEXT REFERENCES avatars (id),
	status    TEXT NOT NULL,
	nick      TEXT NOT NULL,
	updated   TEXT NOT NULL
) STRICT;

-- Items stay after they are finished (state done, failed or replaced) so
-- an update's fate can be shown; Prune drops them. AUTOINCREMENT so an id
-- is never reused: a publisher holding a stale id must not finish somebody
-- else's item.
CREATE TABLE outbox (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	update_id    INTEGER REFERENCES updates (id),
	jid          TEXT NOT NULL,
	kind         TEXT NOT NULL,
	payload      BLOB,
	avatar_id    TEXT REFERENCES avatars (id),
	state        TEXT NOT NULL DEFAULT 'pending'
	             CHECK (state IN ('pending', 'done', 'failed', 'replaced')),
	replaced_by  INTEGER,              -- the coalescing item, for state 'replaced'
	attempts     INTEGER NOT NULL DEFAULT 0,
	next_attempt TEXT NOT NULL,
	last_error   TEXT NOT NULL DEFAULT '',
	created      TEXT NOT NULL,
	finished     TEXT                  -- when it left state 'pending'
) STRICT;
-- DueOutbox and coalescing read only items still pending.
CREATE INDEX outbox_due ON outbox (next_attempt, id) WHERE state = 'pending';
CREATE INDEX outbox_coalesce ON outbox (jid, kind) WHERE state = 'pending';
CREATE INDEX outbox_update ON outbox (update_id);
CREATE INDEX outbox_finished ON outbox (state, finished);
CREATE INDEX outbox_avatar ON outbox (avatar_id);

CREATE TABLE inbound (
	id       INTEGER PRIMARY KEY AUTOINCREMENT,
	source   TEXT NOT NULL,
	key      TEXT NOT NULL,
	sender   TEXT NOT NULL,
	jid      TEXT NOT NULL,
	outcome  TEXT NOT NULL,
	reason   TEXT NOT NULL,
	received TEXT NOT NULL
) STRICT;
CREATE INDEX inbound_received ON inbound (received);

-- Token buckets kept as GCRA: tat is the theoretical arrival time in Unix
-- nanoseconds; the bucket is full when tat <= now. One integer per key,
-- exact, and updated in one statement.
CREATE TABLE rate_buckets (
	key TEXT PRIMARY KEY,
	tat INTEGER NOT NULL
) STRICT;

CREATE TABLE audit (
	id     INTEGER PRIMARY KEY AUTOINCREMENT,
	at     TEXT NOT NULL,
	actor  TEXT NOT NULL,
	action TEXT NOT NULL,
	jid    TEXT NOT NULL,
	number TEXT NOT NULL,
	detail TEXT NOT NULL
) STRICT;
