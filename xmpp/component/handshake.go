package component

import (
	"errors"

	"mellium.im/xmpp/stream"
)

// Failure reasons given to Component.OnHandshakeFailure. They follow the
// stream errors an XEP-0114 server answers a handshake with, so that an
// operator can tell a wrong secret from a second instance already holding
// the name.
const (
	HandshakeNotAuthorized = "not_authorized" // the server refused the secret
	HandshakeConflict      = "conflict"       // another session holds the component's name
	HandshakeHostUnknown   = "host_unknown"   // the server has no component by that name
	HandshakeStreamError   = "stream_error"   // any other stream error
	HandshakeOther         = "other"          // no answer: timeout, closed connection, bad XML
)

// handshakeReason names why a handshake failed, from a fixed set: the
// server's own text never becomes a label.
func handshakeReason(err error) string {
	var se stream.Error
	if !errors.As(err, &se) {
		return HandshakeOther
	}
	switch se.Err {
	case "not-authorized":
		return HandshakeNotAuthorized
	case "conflict":
		return HandshakeConflict
	case "host-unknown", "improper-addressing", "host-gone":
		return HandshakeHostUnknown
	}
	return HandshakeStreamError
}

func (c *Component) handshakeFailed(err error) {
	if c.OnHandshakeFailure != nil {
		c.OnHandshakeFailure(handshakeReason(err))
	}
}
