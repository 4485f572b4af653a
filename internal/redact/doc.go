// Package redact keeps personal data and secrets out of logs: the one masking
// of phone numbers and senders, and a slog ReplaceAttr that also drops secrets and blobs.
package redact
