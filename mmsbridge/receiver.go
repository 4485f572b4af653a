package mmsbridge

import (
	"context"
	"errors"
	"fmt"
)

// Receiver takes a parsed MMS. It returns nil only once the message is
// durably committed (or was already committed before: a duplicate), so the
// transport may then acknowledge it. A *Refusal says why the MMS is refused
// for good; any other error is temporary and the sender should retry.
type Receiver interface {
	Receive(ctx context.Context, msg *Message) error
}

// ReceiverFunc lets a function serve as a Receiver.
type ReceiverFunc func(ctx context.Context, msg *Message) error

// Receive calls f.
func (f ReceiverFunc) Receive(ctx context.Context, msg *Message) error { return f(ctx, msg) }

// Reason classifies a refusal so each transport can turn it into its own
// status (an MM7 status code, an SMTP reply).
type Reason int

// Why an MMS is refused.
const (
	// ReasonContent: the content parses but cannot be used (an image too
	// large, empty or undecodable, nothing usable in the message).
	ReasonContent Reason = iota + 1
	// ReasonUnknownSender: no account is linked to the sender.
	ReasonUnknownSender
	// ReasonBadSender: the sender address is missing or not a number.
	ReasonBadSender
	// ReasonDenied: the sender is known but not allowed now (rate limit,
	// policy).
	ReasonDenied
	// ReasonBusy: the service cannot take it now; the sender should retry.
	ReasonBusy
)

// Refusal is a permanent "no" with a reason the sender can read.
type Refusal struct {
	Reason Reason
	Text   string
}

func (r *Refusal) Error() string { return r.Text }

// Refuse builds a Refusal with a formatted text.
func Refuse(reason Reason, format string, args ...any) *Refusal {
	return &Refusal{Reason: reason, Text: fmt.Sprintf(format, args...)}
}

// AsRefusal returns the Refusal inside err, if any.
func AsRefusal(err error) (*Refusal, bool) {
	var r *Refusal
	ok := errors.As(err, &r)
	return r, ok
}
