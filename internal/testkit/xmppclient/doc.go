// Package xmppclient is a small real XMPP client that plays a contact's app
// (like Conversations or Gajim) in integration tests and the demo.
package xmppclient
