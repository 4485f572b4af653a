package faulttest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"mmsprofile/internal/testkit/xmppclient"
)

// seen is one avatar event a contact received, and when.
type seen struct {
	xmppclient.AvatarEvent
	At time.Time
}

// contact records every avatar event of a contact's successive client
// sessions (Prosody restarts end them), in arrival order.
type contact struct {
	mu      sync.Mutex
	events  []seen
	changed chan struct{}
}

func newContact() *contact { return &contact{changed: make(chan struct{})} }

// attach reads c's avatar events until its session ends.
func (w *contact) attach(c *xmppclient.Client) {
	go func() {
		for ev := range c.AvatarEvents() {
			w.mu.Lock()
			w.events = append(w.events, seen{AvatarEvent: ev, At: time.Now()})
			close(w.changed)
			w.changed = make(chan struct{})
			w.mu.Unlock()
		}
	}()
}

// Events returns what was seen so far.
func (w *contact) Events() []seen {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]seen(nil), w.events...)
}

// WaitFor waits until ok holds for the events seen so far.
func (w *contact) WaitFor(ctx context.Context, what string, ok func([]seen) bool) error {
	for {
		w.mu.Lock()
		done := ok(w.events)
		ch := w.changed
		w.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w (events so far: %s)", what, ctx.Err(), describe(w.Events()))
		case <-ch:
		}
	}
}

// WaitIDs waits until every id in ids was seen.
func (w *contact) WaitIDs(ctx context.Context, ids ...string) error {
	return w.WaitFor(ctx, fmt.Sprintf("avatar items %v", short(ids)), func(evs []seen) bool {
		for _, id := range ids {
			found := false
			for _, ev := range evs {
				if ev.ItemID == id {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
		return true
	})
}

func describe(evs []seen) string {
	s := "["
	for i, ev := range evs {
		if i > 0 {
			s += " "
		}
		s += ev.From.Localpart() + ":" + shortID(ev.ItemID)
	}
	return s + "]"
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

func short(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = shortID(id)
	}
	return out
}
