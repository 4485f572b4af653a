// Package pep builds the PubSub-over-PEP payloads a profile update writes:
// XEP-0084 avatar data and metadata (later XEP-0172 nick and status).
package pep
