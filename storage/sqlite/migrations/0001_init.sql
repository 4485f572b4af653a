-- Times are TEXT in UTC, fixed width with nanoseconds
-- (2006-01-02T15:04:05.000000000Z), so they sort and compare as strings and
-- SQLite's date functions still read them.

CREATE TABLE links (
	number  TEXT PRIMARY KEY,          -- E.164
	jid     TEXT NOT NULL,             -- bare JID
	created TEXT NOT NULL
) STRICT;
CREATE INDEX links_jid ON links (jid);

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
	status    TEXT NOT NULL,
	avatar_id TEXT REFERENCES avatars (id),
	received  TEXT NOT NULL,
	committed TEXT NOT NULL,
	UNIQUE (source, key)
) STRICT;

CREATE TABLE current_avatar (
	jid       TEXT PRIMARY KEY,
	avatar_id TEXT NOT NULL REFERENCES avatars (id)
) STRICT;

-- AUTOINCREMENT so an id is never reused after OutboxDone: a publisher
-- holding a stale id must not remove somebody else's item.
CREATE TABLE outbox (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	update_id    INTEGER NOT NULL REFERENCES updates (id),
	jid          TEXT NOT NULL,
	kind         TEXT NOT NULL,
	attempts     INTEGER NOT NULL DEFAULT 0,
	next_attempt TEXT NOT NULL,
	last_error   TEXT NOT NULL DEFAULT '',
	failed_at    TEXT,                 -- set when given up on for good
	created      TEXT NOT NULL
) STRICT;
-- DueOutbox reads only items still pending.
CREATE INDEX outbox_due ON outbox (next_attempt) WHERE failed_at IS NULL;
CREATE INDEX outbox_update ON outbox (update_id);
