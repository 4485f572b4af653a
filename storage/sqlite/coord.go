package sqlite

import (
	"context"
	"fmt"
	"sync"
)

// Lead makes this Store's caller the leader. One process owns a SQLite
// database, so leadership is only exclusive within the Store: a second Lead
// waits for the first to release. lost closes on release or Close.
func (s *Store) Lead(ctx context.Context) (<-chan struct{}, func(), error) {
	select {
	case s.lead <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, fmt.Errorf("sqlite: lead: %w", ctx.Err())
	}
	lost := make(chan struct{})
	var once sync.Once
	release := func() {
		once.Do(func() {
			close(lost)
			<-s.lead
		})
	}
	return lost, release, nil
}

// Wake subscribes to commits of outbox entries made through this Store. A
// second process on the file (the CLI) is not heard: polling covers it.
func (s *Store) Wake(ctx context.Context) <-chan struct{} {
	ch := s.wakers.Add()
	context.AfterFunc(ctx, func() { s.wakers.Remove(ch) })
	return ch
}
