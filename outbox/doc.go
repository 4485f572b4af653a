// Package outbox defines the payloads of outbox entries: what the rules
// commit and the publisher later carries out (profile fields, chat
// messages to accounts, replies to phones).
package outbox
