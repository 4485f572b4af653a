// Package publisher drains the outbox: it writes each committed update onto
// the user's account and retries until the server confirms it.
package publisher
