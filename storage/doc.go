// Package storage defines the Store that keeps links, accepted updates and
// the publishing outbox, and the errors its backends share. The Store is
// composed of small interfaces, one per job (Links, Updates, Outbox, …),
// so each consumer takes only the part it uses.
//
// Backends live in sub-packages (storage/sqlite); each commits an update and
// its outbox rows in one transaction so nothing acknowledged is ever lost.
package storage
