-- DueOutbox takes each due account's items together, oldest first, so
-- that the publisher can write an account's queued changes as one: it
-- walks the pending items in order to find the accounts (outbox_pending),
-- then each account's own (outbox_account).
CREATE INDEX outbox_pending ON outbox (id, next_attempt, jid) WHERE state = 'pending';
CREATE INDEX outbox_account ON outbox (jid, id) WHERE state = 'pending';
