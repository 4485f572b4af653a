package publisher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/trace"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"mellium.im/xmpp/jid"

	"mmsprofile/internal/backoff"
	"mmsprofile/outbox"
	"mmsprofile/storage"
	"mmsprofile/xmpp/component"
	"mmsprofile/xmpp/ejabberdapi"
	"mmsprofile/xmpp/pep"
)

// Writer sends IQs on a user's behalf and messages from the component;
// *component.Component is one.
type Writer interface {
	PrivilegedIQ(ctx context.Context, owner jid.JID, typ string, payload []byte) ([]byte, error)
	// IQ is an unprivileged IQ from the component itself: how the ejabberd
	// API backend reads a whole vCard, which no API command returns.
	IQ(ctx context.Context, to jid.JID, typ string, payload []byte) ([]byte, error)
	SendMessage(ctx context.Context, to jid.JID, body string, extra ...[]byte) error
	// RosterSet adds contacts to a user's roster (XEP-0356 roster
	// permission), ErrNotGranted where the host does not allow it.
	RosterSet(ctx context.Context, owner jid.JID, items []component.RosterItem) error
	// Connected and WaitPermissions tell which backend a host needs.
	Connected() bool
	WaitPermissions(ctx context.Context, host string) (component.Perms, error)
	// WaitServer tells what software a host runs, once the component has
	// asked: which of the servers that convert vCards makes vCard4 too.
	WaitServer(ctx context.Context, host string) (component.Server, error)
}

var _ Writer = (*component.Component)(nil)

// Replier sends a reply to a phone over one transport.
type Replier interface {
	Reply(ctx context.Context, r outbox.Reply) error
}

// ReplierFunc lets a function serve as a Replier.
type ReplierFunc func(ctx context.Context, r outbox.Reply) error

// Reply calls f.
func (f ReplierFunc) Reply(ctx context.Context, r outbox.Reply) error { return f(ctx, r) }

// Permanent marks an error that retrying cannot fix: the item is given up
// at once, with the reason kept.
type Permanent struct{ Err error }

func (p *Permanent) Error() string { return p.Err.Error() }
func (p *Permanent) Unwrap() error { return p.Err }

// Config bounds retries.
type Config struct {
	RetryMin    time.Duration
	RetryMax    time.Duration
	MaxAttempts int
	// VCardConversion: "auto" asks each host (privileged disco#info),
	// "on"/"off" say whether the server converts vcard-temp ↔ PEP itself.
	VCardConversion string
	// StatusAsMood also publishes the status line as XEP-0107 mood
	// <undefined/> with <text/>, for clients that show a mood but no
	// vCard note. Off by default: a mood is a claim about how someone
	// feels, and the operator should choose to make it.
	StatusAsMood bool
	Poll         time.Duration
	// Batch is how many due items one pass reads (default 1024): up to
	// Batch/16 of one account's, for the accounts of the oldest Batch/4.
	// A backlog's pass then holds many items of each account it serves,
	// which go out as one write where they can (see mergedProfile), while
	// the accounts, so the avatars in memory (an account has one pending
	// at most), stay as many as a pass of 256 always held.
	Batch int
	// Concurrency is how many accounts one pass publishes to at once
	// (default 16); one account's items always go one after the other, in
	// order. Each privileged IQ waits for its answer, so a backlog drains
	// at about Concurrency items per round trip.
	Concurrency int

	// EjabberdAPI is ejabberd's HTTP API (mod_http_api), the backend for
	// hosts that grant no XEP-0356 IQ permission (ejabberd < 24.10). An
	// empty URL turns it off: such hosts then fail with the fix named.
	EjabberdAPI ejabberdapi.Client
	// ConfirmTimeout bounds how long the API backend waits to see its
	// write in the stored vCard (send_stanza answers before it is stored).
	ConfirmTimeout time.Duration
	// PermissionsWait bounds the wait for a host to say what it grants,
	// right after the component (re)connects.
	PermissionsWait time.Duration

	// PublicURL is where clients reach the avatar renditions over HTTP
	// (see RenditionURL); "" lists none in the metadata, whatever is
	// stored.
	PublicURL string
}

// RenditionPath is the path, under Config.PublicURL, of the renditions:
// RenditionPath + id + ".jpg". The HTTP side serves it.
const RenditionPath = "/avatar/"

// RenditionNotFound is the body of the HTTP side's 404 for a rendition it
// does not have.
const RenditionNotFound = "mmsprofile: no such avatar picture"

// RenditionURL is the URL of the rendition id under publicURL, which may
// end in a slash or not.
func RenditionURL(publicURL, id string) string {
	return strings.TrimRight(publicURL, "/") + RenditionPath + id + ".jpg"
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
	out      storage.Outbox
	w        Writer
	repliers map[string]Replier
	cfg      Config
	log      *slog.Logger
	wake     chan struct{}
	conv     conversion
	// bouncing are the hosts that sent privileged IQs back even as the
	// component readdressed them: written through the HTTP API, when
	// there is one, for the rest of the process.
	bouncing   map[string]bool
	bouncingMu sync.Mutex
	// rosterless are the hosts whose roster sets failed although they
	// granted the permission, with what they answered: their users get
	// suggestions for the rest of the process.
	rosterless   map[string]string
	rosterlessMu sync.Mutex
	// OnResult, if set before Run, is called after every attempt, never
	// by two goroutines at once (Drain publishes several accounts at once).
	OnResult func(Result)
	resultMu sync.Mutex
	now      func() time.Time
}

// New builds a publisher. repliers maps a transport ("mm7", "email") to
// its way back to phones; a transport without one fails its replies.
func New(out storage.Outbox, w Writer, repliers map[string]Replier, cfg Config, log *slog.Logger) *Publisher {
	if cfg.Batch <= 0 {
		cfg.Batch = 1024
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 16
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
	if cfg.VCardConversion == "" {
		cfg.VCardConversion = "auto"
	}
	if cfg.ConfirmTimeout <= 0 {
		cfg.ConfirmTimeout = 10 * time.Second
	}
	if cfg.PermissionsWait <= 0 {
		cfg.PermissionsWait = 5 * time.Second
	}
	return &Publisher{out: out, w: w, repliers: repliers, cfg: cfg, conv: conversion{mode: cfg.VCardConversion, seen: map[string]bool{}, vcard4: map[string]bool{}}, bouncing: map[string]bool{}, rosterless: map[string]string{}, log: log, wake: make(chan struct{}, 1), now: time.Now}
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
	return p.RunUntil(ctx, nil)
}

// RunUntil is Run that also returns, without error, once stop is closed —
// but only between passes: an item being published is finished and marked,
// where cancelling ctx could leave one applied by the server yet not
// marked done, to be published again.
func (p *Publisher) RunUntil(ctx context.Context, stop <-chan struct{}) error {
	t := time.NewTicker(p.cfg.Poll)
	defer t.Stop()
	woken := false
	for {
		select {
		case <-stop:
			return nil
		default:
		}
		// A wake is an MMS just committed. Without a session its items
		// cannot go out, and reading the outbox again for each one only
		// loads the database through an outage (a pass reads up to a
		// batch of items). The poll still drains, for the replies to
		// phones, which need no session; the session coming up wakes.
		if !woken || p.w.Connected() {
			more, err := p.Drain(ctx)
			if err != nil && ctx.Err() == nil {
				p.log.Error("outbox drain failed", "err", err)
			}
			if more {
				woken = false
				continue
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-stop:
			return nil
		case <-p.wake:
			woken = true
		case <-t.C:
			woken = false
		}
	}
}

// Drain makes one pass over the due items. more is true when a full batch,
// or an account's full share of one, was handled and more may be waiting.
//
// The batch is split by account: each account's items go out in order,
// one after the other, by one goroutine, and up to Config.Concurrency
// accounts are served at once, so a backlog drains at Concurrency items
// per round trip rather than one. Items without an account (replies to
// phones) form one group of their own, in order. Drain returns only once
// every item it started is finished and marked.
func (p *Publisher) Drain(ctx context.Context) (more bool, err error) {
	reading := trace.StartRegion(ctx, "publisher.due")
	lim := storage.DueLimits{Items: p.cfg.Batch, Accounts: max(1, p.cfg.Batch/4), PerAccount: max(1, p.cfg.Batch/16)}
	items, err := p.out.DueOutbox(ctx, p.now(), lim)
	reading.End()
	if err != nil {
		return false, fmt.Errorf("publisher: read outbox: %w", err)
	}
	// Fewer items than lim.Accounts, none of them an account's full
	// share, is everything due.
	more = len(items) >= lim.Accounts || fullShare(items, lim.PerAccount)
	// Storage already keeps only the newest avatar per account pending;
	// items go out oldest first, so one account's changes keep their order,
	// except that an account's avatar goes before its profile items.
	items = avatarsFirst(items)
	groups := groupByAccount(items, p.cfg.Concurrency)
	var (
		halted atomic.Bool // not connected, no permissions yet, or ctx ended
		// Replies to phones go over MM7 or mail, not the XMPP session:
		// its absence does not hold them back.
		repliesHalted atomic.Bool
		wg            sync.WaitGroup
		sem           = make(chan struct{}, p.cfg.Concurrency)
	)
	for _, g := range groups {
		h := &halted
		if g[0].JID == "" {
			h = &repliesHalted
		}
		if ctx.Err() != nil {
			break
		}
		if h.Load() {
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if !p.drainGroup(ctx, g, h) {
				h.Store(true)
			}
		}()
	}
	wg.Wait()
	if halted.Load() || ctx.Err() != nil {
		// Nothing more was tried; the items not reached stay due for the
		// next session.
		return false, nil
	}
	return more, nil
}

// fullShare reports whether an account has perAccount items in the batch,
// so may have more waiting.
func fullShare(items []storage.OutboxItem, perAccount int) bool {
	n := map[string]int{}
	for _, it := range items {
		if n[it.JID]++; n[it.JID] == perAccount {
			return true
		}
	}
	return false
}

// groupByAccount splits items into the groups Drain runs at once: one per
// account, each in the order of items, and one for the items without an
// account; the groups come in the order of their first item. With a
// concurrency of one, the accounts' items are one group, in the batch's
// own order, and the replies another.
func groupByAccount(items []storage.OutboxItem, concurrency int) [][]storage.OutboxItem {
	if concurrency <= 1 {
		var accounts, replies []storage.OutboxItem
		for _, it := range items {
			if it.JID == "" {
				replies = append(replies, it)
			} else {
				accounts = append(accounts, it)
			}
		}
		var groups [][]storage.OutboxItem
		for _, g := range [][]storage.OutboxItem{accounts, replies} {
			if len(g) > 0 {
				groups = append(groups, g)
			}
		}
		return groups
	}
	index := map[string]int{}
	var groups [][]storage.OutboxItem
	for _, it := range items {
		i, ok := index[it.JID]
		if !ok {
			i = len(groups)
			index[it.JID] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], it)
	}
	return groups
}

// drainGroup publishes items, one account's (or the replies), in order,
// and records each. It stops, returning false, when an attempt could not
// be made (no session, no permissions yet, ctx ended) or when halted says
// another group met that: what is not reached stays due.
//
// What was published is marked done in one write, every markEvery items
// and before the group returns, not one write per attempt: after an
// outage an account's share of a pass is one merged profile item and a
// message per MMS, each message an attempt of its own, and marking them
// one by one (a commit, an fsync each) was most of the drain's time. A
// crash before the mark publishes them again, as a crash between any
// publish and its mark always did.
func (p *Publisher) drainGroup(ctx context.Context, items []storage.OutboxItem, halted *atomic.Bool) bool {
	taken := make(map[int64]bool, len(items))
	ctx = withVCardMemo(ctx)
	memo := memoFrom(ctx)
	marks := &doneMarks{p: p}
	defer marks.flush(ctx)
	for i, it := range items {
		if taken[it.ID] {
			continue
		}
		if halted.Load() {
			return false
		}
		start := p.now()
		tctx, task := trace.NewTask(ctx, "publish."+string(it.Kind))
		// One attempt may cover several items: the ejabberd API backend
		// writes all of an account's profile items as one vCard.
		covered, err := p.attempt(tctx, it, items[i+1:])
		if errors.Is(err, component.ErrNotConnected) || errors.Is(err, component.ErrPermissionsUnknown) || ctx.Err() != nil {
			task.End()
			// Nothing was tried; the items stay due for the next session.
			return false
		}
		if err != nil {
			memo.forget(it.JID)
		}
		for _, c := range covered {
			taken[c.ID] = true
		}
		if err == nil {
			marks.add(covered, p.now().Sub(start))
			if marks.len() >= markEvery {
				marks.flush(tctx)
			}
		} else {
			recording := trace.StartRegion(tctx, "publisher.record")
			for _, c := range covered {
				final, err := p.record(ctx, c, err)
				p.report(Result{Item: c, Err: err, Final: final, Elapsed: p.now().Sub(start)})
			}
			recording.End()
		}
		task.End()
	}
	return true
}

// markEvery bounds how many published items wait for their done mark: a
// pass's share of one account (Config.Batch/16 by default) is one write.
const markEvery = 64

// markTimeout bounds the done mark written after ctx has ended: what was
// published then is still marked, so a restart does not publish it again.
const markTimeout = 5 * time.Second

// doneMarks holds what a group published, each item with its attempt's
// time, until it is marked done and reported.
type doneMarks struct {
	p    *Publisher
	done []Result
}

func (m *doneMarks) add(items []storage.OutboxItem, elapsed time.Duration) {
	for _, it := range items {
		m.done = append(m.done, Result{Item: it, Elapsed: elapsed})
	}
}

func (m *doneMarks) len() int { return len(m.done) }

// flush marks the items done and reports them. It writes even when ctx
// has ended (shutdown, or the session lost), within markTimeout.
func (m *doneMarks) flush(ctx context.Context) {
	if len(m.done) == 0 {
		return
	}
	region := trace.StartRegion(ctx, "publisher.record")
	defer region.End()
	items := make([]storage.OutboxItem, len(m.done))
	for i, r := range m.done {
		items[i] = r.Item
	}
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), markTimeout)
	err := m.p.recordDone(mctx, items)
	cancel()
	for _, r := range m.done {
		r.Err, r.Final = err, err == nil
		m.p.report(r)
	}
	m.done = m.done[:0]
}

// report calls OnResult, one call at a time: Drain's groups record from
// several goroutines, and a callback need not be safe for that.
func (p *Publisher) report(r Result) {
	if p.OnResult == nil {
		return
	}
	p.resultMu.Lock()
	defer p.resultMu.Unlock()
	p.OnResult(r)
}

// avatarsFirst moves each account's avatar item ahead of that account's
// profile items and messages in the batch, leaving everything else in
// order. A server that turns vcard-temp into the XEP-0084 avatar
// (ejabberd's mod_avatar) publishes a vCard set without PHOTO as an empty
// metadata item, "avatar disabled", to every contact; with the avatar
// first, the profile's vCard set already carries the new PHOTO and
// contacts see one change. The message telling the user what changed then
// arrives after the change, and is no longer on the path to the contacts'
// avatar event (a millisecond of each MMS's latency in the trace).
func avatarsFirst(items []storage.OutboxItem) []storage.OutboxItem {
	firstProfile := map[string]int{} // account -> index in out
	out := make([]storage.OutboxItem, 0, len(items))
	for _, it := range items {
		switch it.Kind {
		case storage.KindProfile, storage.KindMessage:
			if _, ok := firstProfile[it.JID]; !ok && it.JID != "" {
				firstProfile[it.JID] = len(out)
			}
		case storage.KindAvatar:
			if i, ok := firstProfile[it.JID]; ok {
				out = append(out[:i+1], out[i:]...)
				out[i] = it
				for j, k := range firstProfile {
					if k >= i {
						firstProfile[j] = k + 1
					}
				}
				continue
			}
		}
		out = append(out, it)
	}
	return out
}

// recordDone marks the items one attempt published, all in one write.
func (p *Publisher) recordDone(ctx context.Context, items []storage.OutboxItem) error {
	ids := make([]int64, len(items))
	for i, it := range items {
		ids[i] = it.ID
	}
	// ErrNotFound: a newer update replaced an item while it was being
	// published; that one follows.
	if err := p.out.OutboxDone(ctx, ids...); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("publisher: mark %v done: %w", ids, err)
	}
	for _, it := range items {
		p.log.Info("published", "jid", it.JID, "kind", it.Kind, "item", it.ID, "attempt", it.Attempts+1)
	}
	return nil
}

// record marks an item whose attempt failed: to be retried, or given up.
func (p *Publisher) record(ctx context.Context, it storage.OutboxItem, pubErr error) (bool, error) {
	attempts := it.Attempts + 1
	if attempts >= p.cfg.MaxAttempts || isPermanent(pubErr) {
		p.log.Error("giving up publishing", "jid", it.JID, "kind", it.Kind, "item", it.ID, "attempts", attempts, "err", pubErr)
		if err := p.out.OutboxFail(ctx, it.ID, pubErr.Error()); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return false, fmt.Errorf("publisher: mark %d failed: %w", it.ID, err)
		}
		return true, pubErr
	}
	next := p.now().Add(backoff.Delay(p.cfg.RetryMin, p.cfg.RetryMax, attempts-1))
	p.log.Warn("publish failed; will retry", "jid", it.JID, "kind", it.Kind, "item", it.ID, "attempt", attempts, "next", next, "err", pubErr)
	if err := p.out.OutboxRetry(ctx, it.ID, next, pubErr.Error()); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return false, fmt.Errorf("publisher: schedule retry of %d: %w", it.ID, err)
	}
	return false, pubErr
}

func isPermanent(err error) bool {
	var p *Permanent
	if errors.As(err, &p) || errors.Is(err, component.ErrNotGranted) {
		return true
	}
	var iqErr *component.IQError
	return errors.As(err, &iqErr) && iqErr.Permanent()
}

func (p *Publisher) publish(ctx context.Context, it storage.OutboxItem) error {
	var owner jid.JID
	if it.JID != "" {
		var err error
		if owner, err = jid.Parse(it.JID); err != nil {
			return &Permanent{fmt.Errorf("publisher: jid %q: %w", it.JID, err)}
		}
	} else if it.Kind != storage.KindReply {
		return &Permanent{fmt.Errorf("publisher: %s item without an account", it.Kind)}
	}
	switch it.Kind {
	case storage.KindAvatar:
		return p.publishAvatar(ctx, owner, it.Avatar)
	case storage.KindProfile:
		var prof outbox.Change
		if err := outbox.Decode(it, &prof); err != nil {
			return &Permanent{fmt.Errorf("publisher: profile item %d: %w", it.ID, err)}
		}
		return p.publishProfile(ctx, owner, prof)
	case storage.KindMessage:
		var m outbox.Message
		if err := outbox.Decode(it, &m); err != nil {
			return &Permanent{err}
		}
		return p.sendMessage(ctx, owner, m)
	case storage.KindReply:
		var r outbox.Reply
		if err := outbox.Decode(it, &r); err != nil {
			return &Permanent{err}
		}
		rep := p.repliers[r.Transport]
		if rep == nil {
			return &Permanent{fmt.Errorf("publisher: no way to reply over %s is configured", r.Transport)}
		}
		return rep.Reply(ctx, r)
	default:
		return &Permanent{fmt.Errorf("publisher: unknown outbox kind %q", it.Kind)}
	}
}

// publishAvatar writes XEP-0084 data before metadata: a client that sees
// the metadata event fetches the data at once, so it must already be there.
// The metadata lists the inline PNG first, then each rendition by its URL
// (committed with the avatar, so already served).
func (p *Publisher) publishAvatar(ctx context.Context, owner jid.JID, a *storage.Avatar) error {
	if a == nil {
		return errors.New("publisher: avatar item without image")
	}
	data := trace.StartRegion(ctx, "publish.avatar-data")
	_, err := p.w.PrivilegedIQ(ctx, owner, "set", pep.AvatarData(a.ID, a.Data))
	data.End()
	if err != nil {
		return fmt.Errorf("publisher: avatar data for %s: %w", owner, err)
	}
	infos := []pep.AvatarInfo{{ID: a.ID, Type: a.Type, Bytes: len(a.Data), Width: a.Width, Height: a.Height}}
	if p.cfg.PublicURL != "" {
		for _, r := range a.Renditions {
			n := r.Bytes
			if n == 0 {
				n = len(r.Data)
			}
			infos = append(infos, pep.AvatarInfo{ID: r.ID, Type: r.Type, Bytes: n, Width: r.Width, Height: r.Height,
				URL: RenditionURL(p.cfg.PublicURL, r.ID)})
		}
	}
	meta := trace.StartRegion(ctx, "publish.avatar-metadata")
	_, err = p.w.PrivilegedIQ(ctx, owner, "set", pep.AvatarMetadata(infos...))
	meta.End()
	if err != nil {
		return fmt.Errorf("publisher: avatar metadata for %s: %w", owner, err)
	}
	return p.avatarToVCard(ctx, owner, a)
}
