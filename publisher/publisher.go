package publisher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"mellium.im/xmpp/jid"

	"mmsprofile/component"
	"mmsprofile/pep"
	"mmsprofile/storage"
)

// Writer sends IQs on a user's behalf; *component.Component is one.
type Writer interface {
	PrivilegedIQ(ctx context.Context, owner jid.JID, typ string, payload []byte) ([]byte, error)
}

// Outbox is the part of storage.Store the publisher needs.
type Outbox interface {
	DueOutbox(ctx context.Context, now time.Time, limit int) ([]storage.OutboxItem, error)
	OutboxDone(ctx context.Context, id int64) error
	OutboxRetry(ctx context.Context, id int64, next time.Time, reason string) error
	OutboxFail(ctx context.Context, id int64, reason string) error
}

// Config bounds retries.
type Config struct {
	RetryMin    time.Duration
	RetryMax    time.Duration
	MaxAttempts int
	Poll        time.Duration
	Batch       int
}

// Result is reported after each attempt, for metrics and tests.
type Result struct {
	Item    storage.OutboxItem
	Err     error
	Final   bool // done or given up; false means it will be retried
	Elapsed time.Duration
}

// Publisher drains the outbox into the server.
type Publisher struct {
	out  Outbox
	w    Writer
	cfg  Config
	log  *slog.Logger
	wake chan struct{}
	// OnResult, if set before Run, is called after every attempt.
	OnResult func(Result)
	now      func() time.Time
}

// New builds a publisher.
func New(out Outbox, w Writer, cfg Config, log *slog.Logger) *Publisher {
	if cfg.Batch <= 0 {
		cfg.Batch = 32
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 5 * time.Second
	}
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = 2 * time.Second
	}
	if cfg.RetryMax < cfg.RetryMin {
		cfg.RetryMax = cfg.RetryMin
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 50
	}
	return &Publisher{out: out, w: w, cfg: cfg, log: log, wake: make(chan struct{}, 1), now: time.Now}
}

// Wake makes Run look at the outbox now. It never blocks.
func (p *Publisher) Wake() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Run drains the outbox until ctx ends.
func (p *Publisher) Run(ctx context.Context) error {
	t := time.NewTicker(p.cfg.Poll)
	defer t.Stop()
	for {
		more, err := p.Drain(ctx)
		if err != nil && ctx.Err() == nil {
			p.log.Error("outbox drain failed", "err", err)
		}
		if more {
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-p.wake:
		case <-t.C:
		}
	}
}

// Drain makes one pass over the due items. more is true when a full batch
// was handled and more may be waiting.
func (p *Publisher) Drain(ctx context.Context) (more bool, err error) {
	items, err := p.out.DueOutbox(ctx, p.now(), p.cfg.Batch)
	if err != nil {
		return false, fmt.Errorf("publisher: read outbox: %w", err)
	}
	latest := map[string]int64{}
	for _, it := range items {
		latest[it.JID+"\x00"+it.Kind] = it.ID
	}
	for _, it := range items {
		// An older avatar still waiting when a newer one arrived would only
		// flash by on the user's contacts: publish the newest only.
		if latest[it.JID+"\x00"+it.Kind] != it.ID {
			if err := p.out.OutboxDone(ctx, it.ID); err != nil {
				return false, fmt.Errorf("publisher: drop superseded item %d: %w", it.ID, err)
			}
			continue
		}
		start := p.now()
		err := p.publish(ctx, it)
		if errors.Is(err, component.ErrNotConnected) || ctx.Err() != nil {
			// Nothing was tried; the item stays due for the next session.
			return false, nil
		}
		final, err := p.record(ctx, it, err)
		if p.OnResult != nil {
			p.OnResult(Result{Item: it, Err: err, Final: final, Elapsed: p.now().Sub(start)})
		}
	}
	return len(items) == p.cfg.Batch, nil
}

func (p *Publisher) record(ctx context.Context, it storage.OutboxItem, pubErr error) (bool, error) {
	if pubErr == nil {
		// ErrNotFound: a newer update replaced the item while it was being
		// published; that one follows.
		if err := p.out.OutboxDone(ctx, it.ID); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return false, fmt.Errorf("publisher: mark %d done: %w", it.ID, err)
		}
		p.log.Info("published", "jid", it.JID, "kind", it.Kind, "item", it.ID, "attempt", it.Attempts+1)
		return true, nil
	}
	attempts := it.Attempts + 1
	if attempts >= p.cfg.MaxAttempts {
		p.log.Error("giving up publishing", "jid", it.JID, "kind", it.Kind, "item", it.ID, "attempts", attempts, "err", pubErr)
		if err := p.out.OutboxFail(ctx, it.ID, pubErr.Error()); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return false, fmt.Errorf("publisher: mark %d failed: %w", it.ID, err)
		}
		return true, pubErr
	}
	next := p.now().Add(retryDelay(p.cfg.RetryMin, p.cfg.RetryMax, attempts))
	p.log.Warn("publish failed; will retry", "jid", it.JID, "kind", it.Kind, "item", it.ID, "attempt", attempts, "next", next, "err", pubErr)
	if err := p.out.OutboxRetry(ctx, it.ID, next, pubErr.Error()); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return false, fmt.Errorf("publisher: schedule retry of %d: %w", it.ID, err)
	}
	return false, pubErr
}

func retryDelay(min, max time.Duration, attempts int) time.Duration {
	d := min
	for i := 1; i < attempts && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	return d
}

func (p *Publisher) publish(ctx context.Context, it storage.OutboxItem) error {
	owner, err := jid.Parse(it.JID)
	if err != nil {
		return fmt.Errorf("publisher: jid %q: %w", it.JID, err)
	}
	switch it.Kind {
	case storage.KindAvatar:
		return p.publishAvatar(ctx, owner, it.Avatar)
	default:
		return fmt.Errorf("publisher: unknown outbox kind %q", it.Kind)
	}
}

// publishAvatar writes XEP-0084 data before metadata: a client that sees
// the metadata event fetches the data at once, so it must already be there.
func (p *Publisher) publishAvatar(ctx context.Context, owner jid.JID, a *storage.Avatar) error {
	if a == nil {
		return errors.New("publisher: avatar item without image")
	}
	if _, err := p.w.PrivilegedIQ(ctx, owner, "set", pep.AvatarData(a.ID, a.Data)); err != nil {
		return fmt.Errorf("publisher: avatar data for %s: %w", owner, err)
	}
	info := pep.AvatarInfo{ID: a.ID, Type: a.Type, Bytes: len(a.Data), Width: a.Width, Height: a.Height}
	if _, err := p.w.PrivilegedIQ(ctx, owner, "set", pep.AvatarMetadata(info)); err != nil {
		return fmt.Errorf("publisher: avatar metadata for %s: %w", owner, err)
	}
	return nil
}
