package shed

import (
	"context"
	"sync"

	"mmsprofile/metrics"
	"mmsprofile/mmsbridge"
)

// Limiter lets at most a fixed number of units of work run at once. It
// never queues: an MMSC or MTA that hears "retry later" keeps the message
// on its own disk, which is cheaper and safer than our memory.
type Limiter struct {
	slots chan struct{}
	m     *metrics.Metrics
}

// New returns a Limiter for n units at once (at least 1), counted in m
// (which may be nil).
func New(n int, m *metrics.Metrics) *Limiter {
	return &Limiter{slots: make(chan struct{}, max(1, n)), m: m}
}

// Max is the bound.
func (l *Limiter) Max() int { return cap(l.slots) }

// InFlight is how many units hold a slot now.
func (l *Limiter) InFlight() int { return len(l.slots) }

// TryAcquire takes a slot if one is free. When ok, the caller must call
// release once the work is done; release may be called more than once.
// When not ok, the caller refuses the work; the refusal is not counted
// here because only the caller knows which transport it refused.
func (l *Limiter) TryAcquire() (release func(), ok bool) {
	select {
	case l.slots <- struct{}{}:
	default:
		return func() {}, false
	}
	l.m.InFlight(1)
	var once sync.Once
	return func() {
		once.Do(func() {
			<-l.slots
			l.m.InFlight(-1)
		})
	}, true
}

// Receiver refuses an MMS with mmsbridge.ReasonBusy when no slot is free,
// which the MM7 handler answers with 4006 and the mail listener with 451
// (ingest-email: EX_TEMPFAIL), so the sender retries later.
func (l *Limiter) Receiver(next mmsbridge.Receiver) mmsbridge.Receiver {
	return mmsbridge.ReceiverFunc(func(ctx context.Context, msg *mmsbridge.Message) error {
		release, ok := l.TryAcquire()
		if !ok {
			l.m.Shed(string(msg.Transport))
			return &busy{Refusal: mmsbridge.Refuse(mmsbridge.ReasonBusy,
				"busy: %d messages in progress; try again later", l.Max())}
		}
		defer release()
		return next.Receive(ctx, msg)
	})
}

// busy is a Refusal that also matches metrics.ErrShed, so the metrics
// Receiver wrapper does not count it a second time.
type busy struct{ *mmsbridge.Refusal }

func (b *busy) Unwrap() []error { return []error{b.Refusal, metrics.ErrShed} }

func (b *busy) Error() string { return b.Text }
