// Package pep builds the PubSub-over-PEP payloads a profile update writes:
// XEP-0084 avatar, XEP-0172 nick, XEP-0292 vCard4 and XEP-0107 mood.
package pep
