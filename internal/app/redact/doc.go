// Package redact keeps personal data and secrets out of logs: a slog
// ReplaceAttr that masks phone numbers and drops secrets and binary blobs.
package redact
