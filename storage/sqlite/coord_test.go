package sqlite

import (
	"context"
	"errors"
	"testing"
	"time"

	"mmsprofile/storage"
)

func TestLead(t *testing.T) {
	s := openT(t, ":memory:")
	lost, release, err := s.Lead(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// Exclusive within the Store: a second leader waits.
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if _, _, err := s.Lead(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second Lead = %v, want a timeout", err)
	}
	release()
	release() // idempotent
	select {
	case <-lost:
	default:
		t.Fatal("lost still open after release")
	}
	_, release, err = s.Lead(t.Context())
	if err != nil {
		t.Fatalf("Lead after release: %v", err)
	}
	release()
}

func TestWake(t *testing.T) {
	s := openT(t, ":memory:")
	ctx, cancel := context.WithCancel(t.Context())
	a, b := s.Wake(ctx), s.Wake(ctx)
	if _, err := s.CommitUpdate(t.Context(), storage.Update{Source: "mm7", Key: "1", JID: "alice@example.org",
		Entries: []storage.Entry{{JID: "alice@example.org", Kind: storage.KindProfile}}}); err != nil {
		t.Fatal(err)
	}
	for _, ch := range []<-chan struct{}{a, b} {
		select {
		case <-ch:
		case <-time.After(5 * time.Second):
			t.Fatal("not woken by CommitUpdate")
		}
	}
	if err := s.Enqueue(t.Context(), storage.Entry{Kind: storage.KindReply}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-a:
	case <-time.After(5 * time.Second):
		t.Fatal("not woken by Enqueue")
	}
	cancel()
	for range a { // closed once ctx ends
	}
}
