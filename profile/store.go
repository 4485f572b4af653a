package profile

import "mmsprofile/storage"

// Store is what the rules keep in the database: the links and the codes
// that make them, each account's preferences, the updates an MMS commits
// (with their replies and messages), the inbound log and the rate limits.
// It leaves out what only the publisher or an operator does (draining the
// outbox, pruning, schema checks), so the rules cannot reach it.
type Store interface {
	storage.Links
	storage.PendingLinks
	storage.Preferences
	storage.Updates
	storage.InboundLog
	storage.Limiter
}
