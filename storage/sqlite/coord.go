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
	ch := make(chan struct{}, 1)
	s.mu.Lock()
	s.wakers[ch] = struct{}{}
	s.mu.Unlock()
	context.AfterFunc(ctx, func() {
		s.mu.Lock()
		delete(s.wakers, ch)
		s.mu.Unlock()
		close(ch) // no send can follow: wake holds mu and found it gone
	})
	return ch
}

// wake tells every subscriber, without waiting for any: a buffered
// signal already pending says the same.
func (s *Store) wake() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ch := range s.wakers {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}
