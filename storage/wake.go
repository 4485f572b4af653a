package storage

import "sync"

// Wakers are the in-process subscribers of a Store's Wake, which both
// backends signal after a commit of outbox entries, so this node's
// publisher wakes without a round trip to anyone. The zero value is ready.
type Wakers struct {
	mu   sync.Mutex
	subs map[chan struct{}]struct{}
}

// Add subscribes a new channel with room for one signal.
func (w *Wakers) Add() chan struct{} {
	ch := make(chan struct{}, 1)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.subs == nil {
		w.subs = map[chan struct{}]struct{}{}
	}
	w.subs[ch] = struct{}{}
	return ch
}

// Remove unsubscribes ch and closes it. No Wake can send on it after:
// Wake holds the lock and no longer finds it.
func (w *Wakers) Remove(ch chan struct{}) {
	w.mu.Lock()
	delete(w.subs, ch)
	w.mu.Unlock()
	close(ch)
}

// Wake signals every subscriber without waiting for any.
func (w *Wakers) Wake() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for ch := range w.subs {
		Signal(ch)
	}
}

// Signal puts one signal on ch without waiting: one already pending says
// the same.
func Signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
