package avatar

import "context"

// A Limiter caps how many pictures are decoded at once, so that a burst of
// 12 MP photos waits its turn instead of taking the memory of all of them
// together (a decoded 12 MP JPEG alone is 18 MB in Go). Only the decode and
// resize (and the encoding of renditions, from the large result) hold a
// slot: the PNG budget and the hook work on the small result.
type Limiter struct {
	slots chan struct{}
}

// NewLimiter returns a Limiter letting n pictures (at least 1) be decoded
// at once. Give the same Limiter to every Standard that shares the memory.
func NewLimiter(n int) *Limiter {
	return &Limiter{slots: make(chan struct{}, max(1, n))}
}

// acquire waits for a slot or for ctx; a nil Limiter never waits.
func (l *Limiter) acquire(ctx context.Context) error {
	if l == nil {
		return nil
	}
	select {
	case l.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *Limiter) release() {
	if l != nil {
		<-l.slots
	}
}
