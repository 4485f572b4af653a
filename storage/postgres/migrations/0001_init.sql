CREATE TABLE links (
	number  text PRIMARY KEY,          -- E.164; one account per number
	jid     text NOT NULL,             -- bare JID
	created timestamptz NOT NULL
);
CREATE INDEX links_jid ON links (jid);

-- One pending link per account and per number: a new request replaces the
-- old one, so an old code stops working.
CREATE TABLE pending_links (
	id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	jid       text NOT NULL UNIQUE,
	number    text NOT NULL UNIQUE,
	code_hash bytea NOT NULL,
	created   timestamptz NOT NULL,
	expires   timestamptz NOT NULL,
	failures  integer NOT NULL DEFAULT 0
);

-- A row only once the owner changed something; absent means the defaults.
CREATE TABLE prefs (
	jid          text PRIMARY KEY,
	avatar       boolean NOT NULL,
	status       boolean NOT NULL,
	nick         boolean NOT NULL,
	vcard        boolean NOT NULL,
	contacts     boolean NOT NULL,
	notify       boolean NOT NULL,
	discoverable boolean NOT NULL
);

-- Pictures are content-addressed: id is the SHA-1 hex of data, so the same
-- picture sent twice or shared by two accounts is kept once.
CREATE TABLE avatars (
	id     text PRIMARY KEY,
	type   text NOT NULL,
	width  integer NOT NULL,
	height integer NOT NULL,
	data   bytea NOT NULL
);
-- PNG and JPEG do not compress further: store them out of line as they are.
ALTER TABLE avatars ALTER COLUMN data SET STORAGE EXTERNAL;

-- One row per accepted delivery; UNIQUE (source, key) is what makes a
-- redelivery from the MMSC or the MTA change nothing, also when two nodes
-- take it at once (INSERT … ON CONFLICT DO NOTHING). The avatar reference
-- is checked at commit so the duplicate test can come first.
CREATE TABLE updates (
	id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	source    text NOT NULL,
	key       text NOT NULL,
	jid       text NOT NULL,
	number    text NOT NULL,
	avatar_id text REFERENCES avatars (id) DEFERRABLE INITIALLY DEFERRED,
	status    text NOT NULL,
	nick      text NOT NULL,
	received  timestamptz NOT NULL,
	committed timestamptz NOT NULL,
	UNIQUE (source, key)
);
CREATE INDEX updates_jid ON updates (jid, id);
CREATE INDEX updates_received ON updates (received);
CREATE INDEX updates_avatar ON updates (avatar_id);

-- The account's current profile: the newest value of each field any
-- update carried (the previous ones are in updates).
CREATE TABLE profiles (
	jid       text PRIMARY KEY,
	avatar_id text REFERENCES avatars (id),
	status    text NOT NULL,
	nick      text NOT NULL,
	updated   timestamptz NOT NULL
);
CREATE INDEX profiles_avatar ON profiles (avatar_id);

-- Items stay after they are finished (state done, failed or replaced) so
-- an update's fate can be shown; Prune drops them. Identity ids are never
-- reused: a publisher holding a stale id must not finish somebody else's
-- item.
CREATE TABLE outbox (
	id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	update_id    bigint REFERENCES updates (id),
	jid          text NOT NULL,
	kind         text NOT NULL,
	payload      bytea,
	avatar_id    text REFERENCES avatars (id),
	state        text NOT NULL DEFAULT 'pending'
	             CHECK (state IN ('pending', 'done', 'failed', 'replaced')),
	replaced_by  bigint,               -- the coalescing item, for state 'replaced'
	attempts     integer NOT NULL DEFAULT 0,
	next_attempt timestamptz NOT NULL,
	last_error   text NOT NULL DEFAULT '',
	created      timestamptz NOT NULL,
	finished     timestamptz           -- when it left state 'pending'
);
-- DueOutbox and coalescing read only items still pending.
CREATE INDEX outbox_due ON outbox (next_attempt, id) WHERE state = 'pending';
CREATE INDEX outbox_coalesce ON outbox (jid, kind) WHERE state = 'pending';
CREATE INDEX outbox_update ON outbox (update_id);
CREATE INDEX outbox_finished ON outbox (state, finished);
CREATE INDEX outbox_avatar ON outbox (avatar_id);

CREATE TABLE inbound (
	id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	source   text NOT NULL,
	key      text NOT NULL,
	sender   text NOT NULL,
	jid      text NOT NULL,
	outcome  text NOT NULL,
	reason   text NOT NULL,
	received timestamptz NOT NULL
);
CREATE INDEX inbound_received ON inbound (received);

-- Token buckets kept as GCRA (storage.GCRA): tat is the theoretical
-- arrival time in Unix nanoseconds; the bucket is full when tat <= now.
CREATE TABLE rate_buckets (
	key text PRIMARY KEY,
	tat bigint NOT NULL
);

CREATE TABLE audit (
	id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at     timestamptz NOT NULL,
	actor  text NOT NULL,
	action text NOT NULL,
	jid    text NOT NULL,
	number text NOT NULL,
	detail text NOT NULL
);
